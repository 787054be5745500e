// The CPU backend compiled from source: which one loads, when lethe falls back to the prebuilt
// variants, and that both compute the same logits and gradients.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { chooseCpuBackend } from "../../src/engine/cpu-backend.js";
import { backendInfo } from "../../src/engine/native.js";
import { packageRoot } from "../../src/util/package-root.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";
// @ts-expect-error plain JS build script without type declarations
import { chooseFeatures, cpuFlags, describeBuild } from "../../scripts/cpu-backend.mjs";

const dir = tempDir("cpu-backend");
const ZEN4 = "processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2 avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi avx512_vnni avx512_bf16\n";
const HASWELL = "processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2\n";

/** What a build on a CPU with `cpuinfo`'s flags leaves in `cpuDir` (an empty library). */
function descriptor(cpuDir: string, cpuinfo: string): void {
  mkdirSync(cpuDir, { recursive: true });
  const record = describeBuild(cpuFlags(cpuinfo)) as { library: string };
  writeFileSync(join(cpuDir, record.library), "");
  writeFileSync(join(cpuDir, "cpu-backend.json"), JSON.stringify(record));
}

test("the build picks ggml's options from the CPU flags", () => {
  assert.deepEqual(chooseFeatures(cpuFlags(HASWELL)), {
    options: ["GGML_SSE42", "GGML_AVX", "GGML_F16C", "GGML_FMA", "GGML_AVX2", "GGML_BMI2"],
    level: "avx2",
  });
  const zen4 = chooseFeatures(cpuFlags(ZEN4)) as { options: string[]; level: string };
  assert.equal(zen4.level, "avx512");
  assert.ok(zen4.options.includes("GGML_AVX512_BF16") && !zen4.options.includes("GGML_AVX_VNNI"));
  // AVX512 needs all five of its subsets; one missing leaves the AVX2 build.
  assert.equal(chooseFeatures(cpuFlags(ZEN4.replace(" avx512bw", ""))).level, "avx2");
});

test("the source build is chosen only for the CPU it was compiled on", () => {
  const cpuDir = join(dir, "zen4");
  descriptor(cpuDir, ZEN4);
  const ok = chooseCpuBackend(cpuDir, ZEN4, {});
  assert.equal(ok.kind, "source");
  assert.equal(ok.kind === "source" && ok.library, join(cpuDir, "libggml-cpu-source-avx512.so"));

  const moved = chooseCpuBackend(cpuDir, HASWELL, {});
  assert.equal(moved.kind, "prebuilt");
  assert.match(moved.kind === "prebuilt" ? moved.reason : "", /other features.*npm run build:native/);

  assert.deepEqual(chooseCpuBackend(cpuDir, ZEN4, { LETHE_CPU_BACKEND: "prebuilt" }), { kind: "prebuilt", reason: "LETHE_CPU_BACKEND=prebuilt" });
  assert.match(JSON.stringify(chooseCpuBackend(join(dir, "none"), ZEN4, {})), /no CPU backend was compiled/);
  for (const bad of ["{", "{}", JSON.stringify({ library: "x.so", flags: [] })]) {
    writeFileSync(join(cpuDir, "cpu-backend.json"), bad);
    assert.match(JSON.stringify(chooseCpuBackend(cpuDir, ZEN4, {})), /unreadable/);
  }
});

// The build runs in `npm install`; where it produced a library, that library is what loads.
const built = existsSync(join(packageRoot(), "build", "cpu", "cpu-backend.json"));

test("the compiled backend loads when it was built, and agrees with the prebuilt variant", { skip: !built && "no source-built CPU backend (cmake missing at npm install)" }, () => {
  assert.equal(backendInfo().cpuBackend, "source", "the build folder's CPU backend was compiled on another CPU: run `npm run build:native`");
  assert.match(backendInfo().cpuVariant, /^libggml-cpu-source-(avx512|avx2|avx|sse)\.so$/);

  // Logits and one training step's loss and gradient norm, on each backend in a process of its own.
  const model = makeTinyModel(dir, { nLayer: 2, seed: 7 });
  const script = `
    import { Model } from "./src/engine/model.ts";
    import { Trainer, nextTokenBatch } from "./src/engine/trainer.ts";
    import { backendInfo } from "./src/engine/native.ts";
    const seq = Array.from({ length: 48 }, (_, i) => 3 + ((i * 37) % 250));
    const m = await Model.load(${JSON.stringify(model)}, { threads: 2, contextLength: 64 });
    const logits = Array.from((await m.logits([seq]))[0].slice(0, 4096));
    await m.dispose();
    const t = await Trainer.load(${JSON.stringify(model)}, { threads: 2 });
    const r = await t.step(nextTokenBatch([seq]), { lr: 1e-3 });
    await t.dispose();
    console.log(JSON.stringify({ variant: backendInfo().cpuVariant, logits, loss: r.loss, gradNorm: r.gradNorm }));`;
  const run = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: packageRoot(), encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { variant: string; logits: number[]; loss: number; gradNorm: number };
  };
  const source = run({ ...process.env, LETHE_CPU_BACKEND: "" });
  const prebuilt = run({ ...process.env, LETHE_CPU_BACKEND: "prebuilt" });
  assert.match(source.variant, /^libggml-cpu-source-/);
  assert.match(prebuilt.variant, /^libggml-cpu-(?!source-)[a-z0-9]+\.so$/);
  const maxDiff = Math.max(...source.logits.map((x, i) => Math.abs(x - prebuilt.logits[i]!)));
  assert.ok(maxDiff < 1e-3, `logits differ by ${maxDiff}`);
  assert.ok(Math.abs(source.loss - prebuilt.loss) < 1e-4 * Math.abs(prebuilt.loss), `${source.loss} vs ${prebuilt.loss}`);
  assert.ok(Math.abs(source.gradNorm - prebuilt.gradNorm) < 1e-3 * prebuilt.gradNorm, `${source.gradNorm} vs ${prebuilt.gradNorm}`);
});
