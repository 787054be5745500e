// Mixed precision: the trainer's BF16 matrix products against F32 on the same model and batches.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { InputError } from "../../src/errors.js";
import { nativeBf16 } from "../../src/engine/native.js";
import { Trainer, nextTokenBatch, resolvePrecision, type TrainerOptions } from "../../src/engine/trainer.js";
import { readGguf } from "../../src/gguf/read.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { maxAbsDiff, randomTokens } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("precision");
const trainers: Trainer[] = [];
after(async () => {
  for (const t of trainers) await t.dispose();
});

const skip = nativeBf16() ? false : "this CPU does not multiply BF16 natively (no AVX512-BF16), so precision bf16 is refused here";

// Widths that are multiples of 32, so ggml's BF16 GEMM (not only its dot-product fallback) runs.
const SHAPE = { nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, nFf: 256, seed: 41 };

async function load(path: string, options: TrainerOptions): Promise<Trainer> {
  const t = await Trainer.load(path, { threads: 1, ...options });
  trainers.push(t);
  return t;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

test("resolvePrecision: auto follows the CPU, bf16 is refused where it would be emulated", () => {
  assert.equal(resolvePrecision("f32", true), "f32");
  assert.equal(resolvePrecision(undefined, true), "f32");
  assert.equal(resolvePrecision("auto", true), "bf16");
  assert.equal(resolvePrecision("auto", false), "f32");
  assert.equal(resolvePrecision("bf16", true), "bf16");
  assert.throws(() => resolvePrecision("bf16", false), (e: unknown) => e instanceof InputError && /AVX512-BF16/.test(e.message));
  assert.throws(() => resolvePrecision("fp8" as never, true), (e: unknown) => e instanceof InputError && /unknown precision "fp8"/.test(e.message));
});

test("bf16: loss, logits and gradients agree with f32 to bfloat16's precision, and differ from it", { skip }, async () => {
  const path = makeTinyModel(dir, SHAPE);
  const f32 = await load(path, {});
  const bf16 = await load(path, { precision: "bf16" });
  assert.equal(f32.info.precision, "f32");
  assert.equal(bf16.info.precision, "bf16");
  assert.equal((await load(path, { precision: "auto" })).info.precision, "bf16");
  const seqs = [randomTokens(64, 256, 1), randomTokens(64, 256, 2)];
  const batch = nextTokenBatch(seqs);

  const [lf, lb] = [await f32.loss(batch), await bf16.loss(batch)];
  assert.notEqual(lb, lf, "the bf16 trainer computed exactly the f32 loss: its products are not in BF16");
  assert.ok(Math.abs(lb - lf) / lf < 5e-3, `loss f32 ${lf}, bf16 ${lb}`);

  // The forward-only graph holds the BF16 copies too (it is rebuilt with them).
  const [xf, xb] = [await f32.forward(seqs), await bf16.forward(seqs)];
  let spread = 0;
  for (const v of xf) spread = Math.max(spread, Math.abs(v));
  const diff = maxAbsDiff(xf, xb);
  assert.ok(diff > 0 && diff < 0.05 * spread, `logits differ by ${diff} (largest |logit| ${spread})`);

  await f32.computeGradients(batch);
  await bf16.computeGradients(batch);
  for (const name of ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_down.weight", "blk.1.attn_norm.weight", "output.weight"]) {
    const [gf, gb] = [f32.gradient(name), bf16.gradient(name)];
    const c = cosine(gf, gb);
    assert.ok(c > 0.995 && maxAbsDiff(gf, gb) > 0, `${name}: cosine ${c} between the f32 and bf16 gradients`);
  }
});

test("bf16 at widths and lengths off the 8 x 8 blocks of the transposed copies: gradients still agree with f32", { skip }, async () => {
  // 108 and 150 wide (heads of 54), 258 tokens of vocabulary and 37 positions: every transposed copy has ragged
  // edges, which are written element by element beside the blocks transposed in registers.
  const path = makeTinyModel(dir, { nLayer: 1, nEmbd: 108, nHead: 2, nHeadKv: 2, nFf: 150, seed: 43 });
  const f32 = await load(path, {});
  const bf16 = await load(path, { precision: "bf16" });
  const batch = nextTokenBatch([randomTokens(37, 256, 3)]);
  await f32.computeGradients(batch);
  await bf16.computeGradients(batch);
  for (const name of ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_output.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "output.weight"]) {
    const [gf, gb] = [f32.gradient(name), bf16.gradient(name)];
    let largest = 0;
    for (const v of gf) largest = Math.max(largest, Math.abs(v));
    const c = cosine(gf, gb);
    const diff = maxAbsDiff(gf, gb);
    assert.ok(c > 0.995 && diff < 0.05 * largest, `${name}: cosine ${c}, largest difference ${diff} (largest |gradient| ${largest})`);
  }
});

test("bf16: training fits custom targets as f32 does, and the weights it saves are F32", { skip }, async () => {
  const path = makeTinyModel(dir, SHAPE);
  const tokens = randomTokens(32, 256, 5);
  const batch = { B: 1, T: 32, K: 1, tokens: Int32Array.from(tokens), targets: Int32Array.from(tokens.map((_, i) => 65 + (i % 5))), weights: new Float32Array(32).fill(1) };
  const losses: Record<string, number[]> = {};
  for (const precision of ["f32", "bf16"] as const) {
    const t = await load(path, { precision });
    const first = await t.step(batch, { lr: 3e-3 });
    let last = first;
    for (let i = 0; i < 40; i++) last = await t.step(batch, { lr: 3e-3 });
    losses[precision] = [first.loss, last.loss];
    if (precision === "bf16") {
      const out = `${dir}/bf16-trained.gguf`;
      await t.save(out);
      for (const info of readGguf(out).tensors) assert.equal(info.type, 0, `${info.name} was saved as ggml type ${info.type}, not F32`);
    }
  }
  const [f, b] = [losses.f32!, losses.bf16!];
  assert.ok(b[1]! < b[0]! / 10, `bf16 loss ${b[0]} -> ${b[1]}`);
  assert.ok(b[1]! < 2 * f[1]! + 0.05, `bf16 ends at ${b[1]}, f32 at ${f[1]}`);
});

test("bf16 under LoRA: the F32 base's products run in BF16 and the adapter trains", { skip }, async () => {
  const path = makeTinyModel(dir, SHAPE);
  const batch = nextTokenBatch([randomTokens(64, 256, 7)]);
  const f32 = await load(path, { lora: { rank: 4 } });
  const bf16 = await load(path, { lora: { rank: 4 }, precision: "bf16" });
  const [lf, lb] = [await f32.loss(batch), await bf16.loss(batch)];
  assert.ok(lb !== lf && Math.abs(lb - lf) / lf < 5e-3, `loss f32 ${lf}, bf16 ${lb}`);
  const first = await bf16.step(batch, { lr: 1e-2 });
  let last = first;
  for (let i = 0; i < 20; i++) last = await bf16.step(batch, { lr: 1e-2 });
  assert.ok(last.loss < first.loss * 0.9, `LoRA bf16 loss ${first.loss} -> ${last.loss}`);
});
