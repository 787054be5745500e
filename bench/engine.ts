/**
 * Engine benchmark: training and inference throughput of three model sizes at context 256, peak
 * memory, training GFLOP/s against a GEMM peak measured in the same run, and the same model and
 * batch in PyTorch side by side.
 *
 *   npm run bench:engine -- [--json] [--sizes S,M,L] [--steps N] [--rounds N] [--threads N] [--out bench/results/engine.json]
 *
 * lethe runs twice per round when `npm install` compiled ggml's CPU backend for this machine: on that
 * build and on the prebuilt variants (LETHE_CPU_BACKEND=prebuilt, and ggml's GEMM), so that the file
 * shows what the source build buys; where OpenBLAS is installed, which runs lethe's F32 training
 * products, F32 training runs a third time on ggml's GEMM (LETHE_BLAS=off). The GEMM peak is the best
 * fp32 n×n×n rate of ggml's mul_mat (either build, and on OpenBLAS) and PyTorch's matmul. Where the CPU multiplies BF16 natively (AVX512-BF16), each size also trains with
 * precision bf16 (mixed precision), beside PyTorch under torch.autocast(bfloat16), and against a BF16
 * GEMM peak measured the same way. Each size runs in a child process of its own so that its peak RSS is its own. The
 * PyTorch peer needs Debian's python3-torch with OpenBLAS (`apt-get install python3-torch
 * libopenblas0-pthread`); without it the torch fields are null.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Model } from "../src/engine/model.js";
import { backendInfo, blasLibrary, gemmGflops, nativeBf16, resolveThreads } from "../src/engine/native.js";
import { Trainer, nextTokenBatch } from "../src/engine/trainer.js";
import type { LlamaConfig } from "../src/gguf/llama.js";
import { machineInfo } from "../src/util/machine.js";
import { engineChild, lastJsonLine } from "./engine-child.js";
import { TINY_LLAMA_CONFIG, makeTinyModel } from "../test/fixtures/tiny-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const T = 256;
const B = 4;

const SIZES: Record<string, Partial<LlamaConfig>> = {
  S: { nLayer: 4, nEmbd: 256, nHead: 4, nHeadKv: 4, nFf: 704, nVocab: 4096 },
  M: { nLayer: 8, nEmbd: 512, nHead: 8, nHeadKv: 8, nFf: 1408, nVocab: 8192 },
  L: { nLayer: 12, nEmbd: 768, nHead: 12, nHeadKv: 12, nFf: 2048, nVocab: 16384 },
};

interface LetheRun {
  params: number;
  train_tok_s: number;
  infer_tok_s: number;
  train_gflops: number;
  /** Training with precision bf16 (null where the CPU has no native BF16). */
  train_bf16_tok_s: number | null;
  train_bf16_gflops: number | null;
  peak_rss_mb: number;
}

interface SizeResult extends LetheRun {
  /** F32 training on ggml's own GEMM (LETHE_BLAS=off; null where no BLAS loaded, as then train_tok_s is that). */
  ggml_train_tok_s: number | null;
  /** The same run on the prebuilt ggml CPU variant, ggml's GEMM (null when no source build exists). */
  prebuilt_train_tok_s: number | null;
  prebuilt_infer_tok_s: number | null;
  torch_train_tok_s: number | null;
  torch_infer_tok_s: number | null;
  /** PyTorch under torch.autocast(bfloat16). */
  torch_train_bf16_tok_s: number | null;
}

/** FLOPs per trained token: 6 per matmul weight (forward + backward) plus attention (nanoGPT's estimate). */
function trainFlopsPerToken(c: LlamaConfig): number {
  const perLayer = 4 * c.nEmbd * c.nEmbd + 3 * c.nEmbd * c.nFf;
  const matmulParams = c.nLayer * perLayer + c.nEmbd * c.nVocab;
  return 6 * matmulParams + 12 * c.nLayer * c.nEmbd * T;
}

function randomSeq(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return 258 + (s % (vocab - 258));
  });
}

/** The bench model of one size (written to `workDir`), its config and its training batch. */
function sizeModel(name: string, workDir: string) {
  const overrides = { ...SIZES[name]!, nCtx: 512, seed: 1 };
  const path = makeTinyModel(workDir, overrides);
  const config: LlamaConfig = { ...TINY_LLAMA_CONFIG, ...overrides };
  const batch = nextTokenBatch(Array.from({ length: B }, (_, i) => randomSeq(T, config.nVocab, i + 1)));
  return { path, config, batch };
}

/** Training tokens per second over `steps` steps after a warm-up one, and the trainer's parameter count. */
async function trainRate(model: ReturnType<typeof sizeModel>, steps: number, threads: number, precision: "f32" | "bf16") {
  const trainer = await Trainer.load(model.path, { threads, precision });
  await trainer.step(model.batch, { lr: 1e-4 }); // warm-up: graph build and allocation
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(model.batch, { lr: 1e-4 });
  const tokS = (B * T * steps) / ((performance.now() - t0) / 1000);
  const params = trainer.info.nParams;
  await trainer.dispose();
  return { tokS, params };
}

async function runSize(name: string, steps: number, threads: number, workDir: string): Promise<LetheRun> {
  const sized = sizeModel(name, workDir);
  const { path, config } = sized;
  const { tokS: trainTokS, params } = await trainRate(sized, steps, threads, "f32");
  const bf16TokS = nativeBf16() ? (await trainRate(sized, steps, threads, "bf16")).tokS : null;

  const model = await Model.load(path, { threads, contextLength: B * T, maxSequences: B });
  const seqs = Array.from({ length: B }, (_, i) => randomSeq(T, config.nVocab, 100 + i));
  await model.logits(seqs);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.logits(seqs);
  const inferTokS = (B * T * steps) / ((performance.now() - t0) / 1000);
  await model.dispose();

  return {
    params,
    train_tok_s: round(trainTokS),
    infer_tok_s: round(inferTokS),
    train_gflops: round((trainTokS * trainFlopsPerToken(config)) / 1e9),
    train_bf16_tok_s: bf16TokS === null ? null : round(bf16TokS),
    train_bf16_gflops: bf16TokS === null ? null : round((bf16TokS * trainFlopsPerToken(config)) / 1e9),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
  };
}

// This machine pins OpenBLAS to Haswell kernels for old builds' sake; that slows PyTorch ~8x, so
// the peer runs without the pin (as the environment notes advise for benchmarks).
function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

function python<T>(script: string, cfg: object, what: string): T | null {
  const r = spawnSync("/usr/bin/python3", [join(here, "peer", script), JSON.stringify(cfg)], { encoding: "utf8", env: torchEnv() });
  if (r.status !== 0) {
    process.stderr.write(`PyTorch peer unavailable for ${what} (install Debian's python3-torch): ${(r.stderr || r.error?.message || "").split("\n").slice(-3).join(" ")}\n`);
    return null;
  }
  return lastJsonLine<T>(r.stdout);
}

interface PeerRun {
  train_tok_s: number;
  infer_tok_s: number;
  train_bf16_tok_s: number | null;
}

function torchPeer(name: string, steps: number, threads: number, bf16: boolean): PeerRun | null {
  const c = SIZES[name]!;
  const cfg = { n_vocab: c.nVocab, n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_ff: c.nFf, B, T, steps, threads, bf16 };
  const out = python<{ train_tok_s: number; infer_tok_s: number; train_bf16_tok_s?: number }>("torch_llama.py", cfg, name);
  return out && { train_tok_s: round(out.train_tok_s), infer_tok_s: round(out.infer_tok_s), train_bf16_tok_s: out.train_bf16_tok_s === undefined ? null : round(out.train_bf16_tok_s) };
}

/** A child process of this script: on the source-built CPU backend with BLAS, on ggml's GEMM, or on the prebuilt variants (and ggml's GEMM). */
function child<T>(args: string[], kind: "main" | "ggml" | "prebuilt"): T {
  const env = kind === "main" ? process.env : { ...process.env, LETHE_BLAS: "off", ...(kind === "prebuilt" ? { LETHE_CPU_BACKEND: "prebuilt" } : {}) };
  return engineChild<T>(args, env);
}

interface GemmRun {
  gflops: number;
  /** With the first operand in BF16; null where the CPU has no native BF16. */
  bf16_gflops: number | null;
  /** On the BLAS library the trainer's F32 products use; null where none loaded. */
  blas_gflops: number | null;
  variant: string;
}

function ggmlGemm(threads: number): GemmRun {
  const rate = (type: "f32" | "bf16" | "blas") => round(Math.max(gemmGflops(1024, 10, threads, type), gemmGflops(2048, 3, threads, type)));
  return { gflops: rate("f32"), bf16_gflops: nativeBf16() ? rate("bf16") : null, blas_gflops: blasLibrary() ? rate("blas") : null, variant: backendInfo().cpuVariant };
}

function best(a: LetheRun | undefined, b: LetheRun): LetheRun {
  if (!a) return b;
  return {
    ...b,
    train_tok_s: Math.max(a.train_tok_s, b.train_tok_s),
    infer_tok_s: Math.max(a.infer_tok_s, b.infer_tok_s),
    train_gflops: Math.max(a.train_gflops, b.train_gflops),
    train_bf16_tok_s: maxOrNull(a.train_bf16_tok_s, b.train_bf16_tok_s),
    train_bf16_gflops: maxOrNull(a.train_bf16_gflops, b.train_bf16_gflops),
    peak_rss_mb: Math.max(a.peak_rss_mb, b.peak_rss_mb),
  };
}

function maxOrNull(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      sizes: { type: "string", default: "S,M,L" },
      steps: { type: "string", default: "4" },
      rounds: { type: "string", default: "2" },
      threads: { type: "string" },
      out: { type: "string", default: join(here, "results", "engine.json") },
      child: { type: "string" },
      "train-only": { type: "boolean", default: false },
      gemm: { type: "boolean", default: false },
      dir: { type: "string" },
    },
  });
  const steps = Number(values.steps);
  const rounds = Number(values.rounds);
  const threads = resolveThreads(values.threads ? Number(values.threads) : undefined);
  if (values.gemm) {
    process.stdout.write(JSON.stringify(ggmlGemm(threads)) + "\n");
    return;
  }
  if (values.child) {
    // --train-only: F32 training alone (the run on ggml's GEMM beside BLAS).
    const r = values["train-only"]
      ? { train_tok_s: round((await trainRate(sizeModel(values.child, values.dir!), steps, threads, "f32")).tokS) }
      : await runSize(values.child, steps, threads, values.dir!);
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  const workDir = join(here, "..", ".lethe-cache", "bench");
  mkdirSync(workDir, { recursive: true });
  const log = (s: string) => process.stderr.write(s + "\n");
  const source = backendInfo().cpuBackend === "source";
  const bf16 = nativeBf16();
  const blas = blasLibrary() ?? null;
  const flags = ["--steps", String(steps), "--threads", String(threads)];
  const gemm = {
    ggml: child<GemmRun>(["--gemm", ...flags], "main"),
    ggml_prebuilt: source ? child<GemmRun>(["--gemm", ...flags], "prebuilt") : null,
    torch: python<{ gflops: number; bf16_gflops?: number }>("torch_gemm.py", { threads, bf16 }, "GEMM"),
  };
  const peak = round(Math.max(gemm.ggml.gflops, gemm.ggml_prebuilt?.gflops ?? 0, gemm.torch?.gflops ?? 0, gemm.ggml.blas_gflops ?? 0));
  log(`GEMM fp32, ${threads} threads: ggml ${gemm.ggml.gflops} GFLOP/s (${gemm.ggml.variant}), prebuilt ${gemm.ggml_prebuilt?.gflops ?? "-"}, ${blas ?? "no BLAS"} ${gemm.ggml.blas_gflops ?? "-"}, PyTorch ${gemm.torch ? round(gemm.torch.gflops) : "-"}; peak ${peak}`);
  const bf16Peak = bf16 ? round(Math.max(gemm.ggml.bf16_gflops ?? 0, gemm.ggml_prebuilt?.bf16_gflops ?? 0, gemm.torch?.bf16_gflops ?? 0)) : null;
  if (bf16) log(`GEMM bf16: ggml ${gemm.ggml.bf16_gflops}, prebuilt ${gemm.ggml_prebuilt?.bf16_gflops ?? "-"}, PyTorch ${gemm.torch?.bf16_gflops ? round(gemm.torch.bf16_gflops) : "-"}; peak ${bf16Peak}`);
  const sizes: Record<string, SizeResult> = {};
  for (const name of values.sizes!.split(",")) {
    if (!SIZES[name]) throw new Error(`unknown size ${name}; use S, M or L`);
    // Rounds alternate lethe and PyTorch so that both see the same load; each keeps its best round.
    let mine: LetheRun | undefined;
    let ggmlTrain: number | undefined;
    let prebuilt: LetheRun | undefined;
    let peer: PeerRun | null = null;
    const args = ["--child", name, "--dir", workDir, ...flags];
    for (let r = 1; r <= rounds; r++) {
      log(`size ${name}, round ${r}/${rounds}: lethe…`);
      mine = best(mine, child<LetheRun>(args, "main"));
      if (blas) {
        log(`size ${name}, round ${r}/${rounds}: lethe F32 training on ggml's GEMM…`);
        ggmlTrain = Math.max(ggmlTrain ?? 0, child<{ train_tok_s: number }>([...args, "--train-only"], "ggml").train_tok_s);
      }
      if (source) {
        log(`size ${name}, round ${r}/${rounds}: lethe on the prebuilt CPU variant…`);
        prebuilt = best(prebuilt, child<LetheRun>(args, "prebuilt"));
      }
      log(`size ${name}, round ${r}/${rounds}: PyTorch…`);
      const p = torchPeer(name, steps, threads, bf16);
      if (p) {
        peer = !peer
          ? p
          : { train_tok_s: Math.max(peer.train_tok_s, p.train_tok_s), infer_tok_s: Math.max(peer.infer_tok_s, p.infer_tok_s), train_bf16_tok_s: maxOrNull(peer.train_bf16_tok_s, p.train_bf16_tok_s) };
      }
    }
    sizes[name] = {
      ...mine!,
      ggml_train_tok_s: ggmlTrain ?? null,
      prebuilt_train_tok_s: prebuilt?.train_tok_s ?? null,
      prebuilt_infer_tok_s: prebuilt?.infer_tok_s ?? null,
      torch_train_tok_s: peer?.train_tok_s ?? null,
      torch_infer_tok_s: peer?.infer_tok_s ?? null,
      torch_train_bf16_tok_s: peer?.train_bf16_tok_s ?? null,
    };
    log(`size ${name}: ${JSON.stringify(sizes[name])}`);
  }
  const ratio = (a: number | null, b: number | null) => (a !== null && b ? round(a / b, 2) : null);
  const result = {
    machine: machineInfo(threads),
    // The library lethe's F32 training products ran on (null: ggml's GEMM).
    blas,
    context: T,
    batch: B,
    steps,
    rounds,
    gemm_gflops: { ggml: gemm.ggml.gflops, ggml_prebuilt: gemm.ggml_prebuilt?.gflops ?? null, blas: gemm.ggml.blas_gflops, torch: gemm.torch ? round(gemm.torch.gflops) : null },
    gemm_peak_gflops: peak,
    gemm_bf16_gflops: { ggml: gemm.ggml.bf16_gflops, ggml_prebuilt: gemm.ggml_prebuilt?.bf16_gflops ?? null, torch: gemm.torch?.bf16_gflops ? round(gemm.torch.bf16_gflops) : null },
    gemm_bf16_peak_gflops: bf16Peak,
    sizes,
    train_fraction_of_gemm_peak: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, round(v.train_gflops / peak, 2)])),
    lethe_over_torch: Object.fromEntries(
      Object.entries(sizes).map(([k, v]) => [k, { train: ratio(v.train_tok_s, v.torch_train_tok_s), infer: ratio(v.infer_tok_s, v.torch_infer_tok_s) }]),
    ),
    // Mixed precision, each against its like: the BF16 peak, PyTorch under autocast, and lethe in F32.
    bf16: Object.fromEntries(
      Object.entries(sizes).map(([k, v]) => [
        k,
        {
          fraction_of_bf16_peak: v.train_bf16_gflops !== null && bf16Peak ? round(v.train_bf16_gflops / bf16Peak, 2) : null,
          over_torch_autocast: ratio(v.train_bf16_tok_s, v.torch_train_bf16_tok_s),
          over_torch_f32: ratio(v.train_bf16_tok_s, v.torch_train_tok_s),
          over_lethe_f32: ratio(v.train_bf16_tok_s, v.train_tok_s),
        },
      ]),
    ),
    blas_over_ggml_train: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, ratio(v.train_tok_s, v.ggml_train_tok_s)])),
    source_over_prebuilt: Object.fromEntries(
      Object.entries(sizes).map(([k, v]) => [k, { train: ratio(v.train_tok_s, v.prebuilt_train_tok_s), infer: ratio(v.infer_tok_s, v.prebuilt_infer_tok_s) }]),
    ),
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out! + ".tmp", JSON.stringify(result, null, 2) + "\n");
  renameSync(values.out! + ".tmp", values.out!);
  if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
  else log(`wrote ${values.out}`);
}

await main();
