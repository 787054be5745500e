/**
 * The CPU backend built from source against the prebuilt variant, per instruction-set level this
 * machine can run: fp32 GEMM, and training and inference of bench/engine.ts's sizes. On an AVX-512
 * machine this also measures the AVX2 path (ggml's haswell variant against an AVX2-only source build),
 * the code an AVX2-only machine runs, on this machine's cores. Where OpenBLAS is installed, the source
 * build also trains with its F32 products on OpenBLAS's kernels of that level (OPENBLAS_CORETYPE), as
 * lethe runs there; the other two runs keep ggml's GEMM (LETHE_BLAS=off).
 *
 *   node --import tsx bench/cpu-isa.ts [--sizes M] [--rounds 2] [--steps 4] [--out bench/results/cpu-isa.json]
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { blasLibrary } from "../src/engine/native.js";
import { machineInfo } from "../src/util/machine.js";
import { engineChild } from "./engine-child.js";
// @ts-expect-error plain JS build script without type declarations
import { buildCpuBackend, cpuFlags, describeBuild } from "../scripts/cpu-backend.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "M" },
    rounds: { type: "string", default: "2" },
    steps: { type: "string", default: "4" },
    out: { type: "string", default: join(here, "results", "cpu-isa.json") },
  },
});

// Each level: the prebuilt variant ggml would pick on a CPU with exactly these features, and the
// cpuinfo flags that define the level for the source build.
// `openblas`: the OpenBLAS kernels of that level (OPENBLAS_CORETYPE), for the F32 training products.
const LEVELS = [
  { level: "avx2", prebuilt: "libggml-cpu-haswell.so", openblas: "Haswell", flags: ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"] },
  {
    level: "avx512",
    prebuilt: "libggml-cpu-zen4.so",
    openblas: "Cooperlake",
    flags: ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi", "avx512_vnni", "avx512_bf16"],
  },
];

const have = cpuFlags() as Set<string>;
const work = mkdtempSync(join(tmpdir(), "lethe-cpu-isa-"));
// The prebuilt libraries the addon was linked against (scripts/build-native.mjs writes the path).
const bins = readFileSync(join(root, "build", "bins-dir.txt"), "utf8").trim();

/** A folder with the prebuilt base libraries and one CPU variant, so that ggml can only pick that one. */
function onlyVariant(variant: string): string {
  const dir = join(work, variant);
  mkdirSync(dir);
  for (const f of ["libggml-base.so", "libggml.v0.4.0.so", "libllama.v0.4.0.so", "libllama-common.so", variant]) symlinkSync(join(bins, f), join(dir, f));
  return dir;
}

/** bench/engine.ts on the library `env` names (the preload loads it before lethe's own choice could). */
function child<T>(args: string[], env: Record<string, string>): T {
  return engineChild<T>(args, { ...process.env, LETHE_CPU_BACKEND: "prebuilt", ...env }, join(here, "cpu-isa-preload.ts"));
}

type Run = { train_tok_s: number; infer_tok_s: number };
const results: Record<string, unknown> = {};
try {
  for (const { level, prebuilt, openblas, flags } of LEVELS) {
    if (!flags.every((f) => have.has(f))) {
      process.stderr.write(`${level}: this CPU lacks it, skipped\n`);
      continue;
    }
    const outDir = join(root, ".lethe-cache", "bench", `cpu-${level}`);
    buildCpuBackend({ srcDir: join(root, "build", "llama-src"), outDir, force: false, flags: new Set(flags) });
    const { library } = describeBuild(new Set(flags)) as { library: string };
    // ggml's own GEMM in both builds; then the source build with the F32 training products on
    // OpenBLAS, as lethe runs where it is installed (no BLAS: that config is left out).
    const configs: Record<string, Record<string, string>> = {
      prebuilt: { LETHE_BENCH_BINS: onlyVariant(prebuilt), LETHE_BENCH_CPU_LIB: "", LETHE_BLAS: "off" },
      source: { LETHE_BENCH_BINS: bins, LETHE_BENCH_CPU_LIB: join(outDir, library), LETHE_BLAS: "off" },
    };
    if (blasLibrary()) configs.source_blas = { LETHE_BENCH_BINS: bins, LETHE_BENCH_CPU_LIB: join(outDir, library), OPENBLAS_CORETYPE: openblas };
    const row: Record<string, Record<string, unknown>> = Object.fromEntries(Object.keys(configs).map((k) => [k, {}]));
    for (const [name, env] of Object.entries(configs)) {
      const g = child<{ gflops: number; variant: string }>(["--gemm"], env);
      row[name] = { variant: g.variant, gemm_gflops: g.gflops };
      process.stderr.write(`${level} ${name}: ${g.variant}, GEMM ${g.gflops} GFLOP/s\n`);
    }
    for (const size of values.sizes!.split(",")) {
      for (const [name, env] of Object.entries(configs)) {
        let best: Run | undefined;
        for (let r = 0; r < Number(values.rounds); r++) {
          const run = child<Run>(["--child", size, "--dir", join(root, ".lethe-cache", "bench"), "--steps", values.steps!], env);
          best = !best ? run : { train_tok_s: Math.max(best.train_tok_s, run.train_tok_s), infer_tok_s: Math.max(best.infer_tok_s, run.infer_tok_s) };
        }
        row[name]![size] = { train_tok_s: best!.train_tok_s, infer_tok_s: best!.infer_tok_s };
        process.stderr.write(`${level} ${name} ${size}: ${JSON.stringify(best)}\n`);
      }
    }
    const s = row.source as Record<string, Run | number>;
    const p = row.prebuilt as Record<string, Run | number>;
    const b = row.source_blas as Record<string, Run | number> | undefined;
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    const sizes = values.sizes!.split(",");
    results[level] = {
      ...row,
      source_over_prebuilt: {
        gemm: ratio(s.gemm_gflops as number, p.gemm_gflops as number),
        ...Object.fromEntries(sizes.map((z) => [z, { train: ratio((s[z] as Run).train_tok_s, (p[z] as Run).train_tok_s), infer: ratio((s[z] as Run).infer_tok_s, (p[z] as Run).infer_tok_s) }])),
      },
      blas_over_source_train: b ? Object.fromEntries(sizes.map((z) => [z, ratio((b[z] as Run).train_tok_s, (s[z] as Run).train_tok_s)])) : null,
    };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const report = { benchmark: "cpu-isa", machine: machineInfo(), steps: Number(values.steps), rounds: Number(values.rounds), levels: results };
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out! + ".tmp", JSON.stringify(report, null, 2) + "\n");
renameSync(values.out! + ".tmp", values.out!);
process.stderr.write(`wrote ${values.out}\n`);
