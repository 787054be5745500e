// F32 training products on OpenBLAS: found where installed, and the same training as ggml's GEMM.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { blasLibrary, gemmGflops } from "../../src/engine/native.js";
import { Trainer, nextTokenBatch } from "../../src/engine/trainer.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";
import { maxAbsDiff, randomTokens } from "./helpers.js";

const dir = tempDir("blas");
// Debian's libopenblas0-pthread (CI installs it): where it is, lethe must find it.
const installed = ["/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/libopenblas.so.0"].some(existsSync);
const skip = installed ? false : "libopenblas.so.0 is not installed here (apt-get install libopenblas0-pthread); CI installs it";

test("an installed OpenBLAS is found and multiplies", { skip }, () => {
  assert.match(blasLibrary() ?? "", /^OpenBLAS/);
  assert.ok(gemmGflops(256, 2, 2, "blas") > 0);
});

/** Loss and two gradients of one batch, trained two steps, as JSON numbers. */
async function lossAndGradients(path: string) {
  const t = await Trainer.load(path, { threads: 2 });
  const batch = nextTokenBatch([randomTokens(37, 256, 1), randomTokens(37, 256, 2)]);
  await t.step(batch, { lr: 1e-3 });
  const { loss } = await t.computeGradients(batch);
  const out = { loss, q: Array.from(t.gradient("blk.0.attn_q.weight")), out: Array.from(t.gradient("output.weight")) };
  await t.dispose();
  return out;
}

test("LETHE_BLAS=off keeps ggml's GEMM, and both train alike", { skip }, async () => {
  // Odd widths and lengths, GQA and two sequences: transposed operands, ragged edges, broadcast heads.
  const path = makeTinyModel(dir, { nLayer: 2, nEmbd: 72, nHead: 4, nHeadKv: 2, nFf: 100, seed: 7 });
  const mine = await lossAndGradients(path);
  // The setting is read once per process: ggml's side runs in a child.
  const code = `
    const { blasLibrary } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, "../../src/engine/native.ts")).href)});
    const { Trainer, nextTokenBatch } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, "../../src/engine/trainer.ts")).href)});
    const { randomTokens } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, "helpers.ts")).href)});
    ${lossAndGradients.toString()}
    console.log(JSON.stringify({ blas: blasLibrary() ?? null, ...(await lossAndGradients(${JSON.stringify(path)})) }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", env: { ...process.env, LETHE_BLAS: "off" } });
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { blas: string | null; loss: number; q: number[]; out: number[] };
  assert.equal(theirs.blas, null);
  assert.ok(Math.abs(mine.loss - theirs.loss) < 1e-5 * mine.loss, `loss ${mine.loss} vs ${theirs.loss}`);
  let differs = false;
  for (const name of ["q", "out"] as const) {
    const [a, b] = [Float32Array.from(mine[name]), Float32Array.from(theirs[name])];
    const scale = Math.max(...a.map(Math.abs));
    assert.ok(maxAbsDiff(a, b) < 1e-4 * scale, `${name}: gradients differ by ${maxAbsDiff(a, b)} of ${scale}`);
    differs ||= maxAbsDiff(a, b) > 0;
  }
  assert.ok(differs, "both sides computed the same bits: BLAS was not used");
});
