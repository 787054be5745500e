// LoRA: the base stays frozen in its file's type, only the A/B pairs train, and the adapter lethe
// writes computes in llama.cpp exactly what the trainer computed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";

import { FileFormatError, InputError } from "../../src/errors.js";
import { Model } from "../../src/engine/model.js";
import { quantizeModel, modelFileType } from "../../src/engine/quantize.js";
import { LORA_TARGETS, Trainer, nextTokenBatch, type WeightedBatch } from "../../src/engine/trainer.js";
import { loraParams, modelSize } from "../../src/unlearn/estimate.js";
import { readGguf } from "../../src/gguf/read.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { checkFiniteDifferences, maxAbsDiff, randomTokens } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("lora");
const open: { dispose(): Promise<void> }[] = [];
after(async () => {
  for (const d of open) await d.dispose();
});

function track<T extends { dispose(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}

const seqs = [randomTokens(32, 256, 71), randomTokens(32, 256, 72)];
const batch = nextTokenBatch(seqs);

/** A LoRA trainer moved off its start by a few steps, so B is no longer zero. */
async function trainedLora(base: string, rank = 4): Promise<Trainer> {
  const t = track(await Trainer.load(base, { threads: 2, lora: { rank, seed: 5 } }));
  for (let i = 0; i < 4; i++) await t.step(batch, { lr: 2e-2 });
  return t;
}

function logitsOf(all: Float32Array, b: number, T: number, V: number): Float32Array {
  return all.subarray(b * T * V, (b + 1) * T * V);
}

test("a fresh LoRA trainer is exactly the base model, and only the pairs are trainable", async () => {
  const base = makeTinyModel(dir, { nLayer: 2, seed: 81 });
  const full = track(await Trainer.load(base, { threads: 2 }));
  const lora = track(await Trainer.load(base, { threads: 2, lora: { rank: 4 } }));
  assert.deepEqual(await lora.forward(seqs), await full.forward(seqs));
  const { nEmbd: C, nFf: F, nLayer: L } = lora.info;
  const kv = 32; // 2 kv heads of 16
  // Per layer, r·(n_in + n_out) for each of q, o (C→C), k, v (C→kv), gate, up (C→F), down (F→C).
  const perLayer = 4 * (2 * (C + C) + 2 * (C + kv) + 3 * (C + F));
  assert.equal(lora.info.nTrainable, L * perLayer);
  // The dry run's estimate counts the same parameters.
  assert.equal(loraParams(modelSize(base), { rank: 4, targets: LORA_TARGETS }), lora.info.nTrainable);
  assert.equal(lora.info.lora?.rank, 4);
  assert.equal(lora.info.lora?.alpha, 8, "alpha defaults to 2 × rank");
  assert.equal(lora.info.lora?.tensors.length, 7 * L);

  const before = lora.tensor("blk.0.attn_q.weight");
  const first = await lora.step(batch, { lr: 2e-2 });
  let last = first;
  for (let i = 0; i < 8; i++) last = await lora.step(batch, { lr: 2e-2 });
  assert.ok(last.loss < first.loss - 0.05, `loss ${first.loss} → ${last.loss}`);
  assert.deepEqual(lora.tensor("blk.0.attn_q.weight"), before, "the base weight moved");
  assert.ok(lora.tensor("blk.0.attn_q.weight.lora_b").some((x) => x !== 0), "B did not move");
});

for (const dtype of ["f32", "f16"] as const) {
  test(`an adapter saved by the trainer gives the trainer's logits in llama.cpp (${dtype} base), and merging equals base + adapter`, async () => {
    const base = makeTinyModel(dir, { nLayer: 2, seed: 82, dtype });
    const t = await trainedLora(base);
    const adapter = join(dir, `adapter-${dtype}.gguf`);
    await t.saveAdapter(adapter);

    const header = readGguf(adapter);
    assert.equal(header.metadata.get("general.type")?.value, "adapter");
    assert.equal(header.metadata.get("adapter.type")?.value, "lora");
    assert.equal(header.metadata.get("adapter.lora.alpha")?.value, 8);
    const a = header.tensors.find((x) => x.name === "blk.1.ffn_down.weight.lora_a")!;
    const b = header.tensors.find((x) => x.name === "blk.1.ffn_down.weight.lora_b")!;
    assert.deepEqual([a.dims, b.dims], [[t.info.nFf, 4], [4, t.info.nEmbd]]);

    const model = track(await Model.load(base, { threads: 2, contextLength: 64, lora: adapter }));
    assert.equal(model.info.lora?.rank, 4);
    const plain = track(await Model.load(base, { threads: 2, contextLength: 64 }));
    const ours = await t.forward(seqs);
    const theirs = await model.logits(seqs);
    const untouched = await plain.logits(seqs);
    const V = t.info.nVocab;
    seqs.forEach((s, i) => {
      const mine = logitsOf(ours, i, s.length, V);
      assert.ok(maxAbsDiff(mine, untouched[i]!) > 1e-3, "the adapter changes nothing: the test would prove nothing");
      const diff = maxAbsDiff(mine, theirs[i]!);
      assert.ok(diff <= 1e-4, `sequence ${i}: max |Δlogit| ${diff}`);
    });

    const merged = join(dir, `merged-${dtype}.gguf`);
    await t.save(merged);
    const m = track(await Model.load(merged, { threads: 2, contextLength: 64 }));
    const mergedLogits = await m.logits(seqs);
    // F32: the sum is exact up to rounding. F16 base: the merged file is F32 (W + ΔW), while the
    // adapter path multiplies W in F16, so the two differ by the F16 product's own rounding.
    const tolerance = dtype === "f32" ? 1e-4 : 2e-3;
    seqs.forEach((_, i) => {
      const diff = maxAbsDiff(mergedLogits[i]!, theirs[i]!);
      assert.ok(diff <= tolerance, `merged vs base + adapter, sequence ${i}: ${diff}`);
    });
  });
}

for (const dtype of ["f32", "f16"] as const) test(`gradients of A and B match central finite differences (${dtype} base)`, async () => {
  const base = makeTinyModel(dir, { nLayer: 2, seed: 83, nEmbd: 32, nFf: 64, dtype });
  const t = track(await Trainer.load(base, { threads: 1, lora: { rank: 3, seed: 9 } }));
  // B starts at zero, where A's gradient vanishes; give B values first.
  for (const name of t.info.lora!.tensors) {
    const b = t.tensor(`${name}.lora_b`);
    t.setTensor(`${name}.lora_b`, b.map((_, i) => 0.05 * Math.sin(i + 1)));
  }
  const T = 12;
  const small: WeightedBatch = {
    B: 1,
    T,
    K: 1,
    tokens: Int32Array.from(randomTokens(T, 256, 14)),
    targets: Int32Array.from(randomTokens(T, 256, 15)),
    weights: Float32Array.from({ length: T }, (_, j) => [1, 0.5, -0.3, 0][j % 4]!),
  };
  await t.computeGradients(small);
  const names = ["blk.0.attn_q.weight.lora_a", "blk.0.attn_v.weight.lora_b", "blk.1.ffn_down.weight.lora_a", "blk.1.ffn_gate.weight.lora_b"];
  const worst = await checkFiniteDifferences(t, small, Object.fromEntries(names.map((name) => [name, (w: Float32Array) => [0, 5, Math.floor(w.length / 2), w.length - 1]])));
  assert.ok(worst < 2e-3, `worst gradient error ${worst}`);
});

test("a saved adapter resumes training where it stopped", async () => {
  const base = makeTinyModel(dir, { nLayer: 2, seed: 84 });
  const t = await trainedLora(base);
  const adapter = join(dir, "resume.gguf");
  await t.saveAdapter(adapter);
  const again = track(await Trainer.load(base, { threads: 2, lora: { rank: 4, adapter } }));
  assert.deepEqual(await again.forward(seqs), await t.forward(seqs));
});

for (const [type, shape] of [
  ["Q8_0", { nEmbd: 64, nFf: 128 }],
  ["Q4_K_M", { nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 4 }],
] as const) {
  test(`LoRA on a ${type} base: the base stays ${type}, the forward matches llama.cpp, the adapter reproduces the trainer`, async () => {
    const f32 = makeTinyModel(dir, { nLayer: 2, seed: 85, ...shape });
    const base = join(dir, `base-${type}.gguf`);
    await quantizeModel(f32, base, type, { threads: 2 });
    assert.equal(modelFileType(base), type);
    const quantized = readGguf(base).tensors.find((x) => x.name === "blk.0.attn_q.weight")!;
    assert.notEqual(quantized.type, 0, "the test model did not quantize");

    const t = track(await Trainer.load(base, { threads: 2, lora: { rank: 4, seed: 5 } }));
    const plain = track(await Model.load(base, { threads: 2, contextLength: 64 }));
    const unquantized = track(await Model.load(f32, { threads: 2, contextLength: 64 }));
    const V = t.info.nVocab;
    const start = await t.forward(seqs);
    const reference = await plain.logits(seqs);
    const exact = await unquantized.logits(seqs);
    // llama.cpp runs quantized products through its own (repacked) kernels, so the two agree within
    // a small share of what quantizing costs, not to the last bit: measured 0 on Q8_0, and on
    // Q4_K_M 4e-7 for one sequence and 0.013 for the other, where quantizing itself moved 0.16.
    seqs.forEach((s, i) => {
      const diff = maxAbsDiff(logitsOf(start, i, s.length, V), reference[i]!);
      const quantization = maxAbsDiff(exact[i]!, reference[i]!);
      assert.ok(diff <= 0.2 * quantization, `fresh adapter vs llama.cpp on the ${type} base, sequence ${i}: ${diff} (quantization itself: ${quantization})`);
    });

    for (let i = 0; i < 4; i++) await t.step(batch, { lr: 2e-2 });
    const adapter = join(dir, `adapter-${type}.gguf`);
    await t.saveAdapter(adapter);
    const withAdapter = track(await Model.load(base, { threads: 2, contextLength: 64, lora: adapter }));
    const ours = await t.forward(seqs);
    const theirs = await withAdapter.logits(seqs);
    seqs.forEach((s, i) => {
      const mine = logitsOf(ours, i, s.length, V);
      assert.ok(maxAbsDiff(mine, reference[i]!) > 1e-3, "training did not move the logits");
      const diff = maxAbsDiff(mine, theirs[i]!);
      assert.ok(diff <= 0.2 * maxAbsDiff(exact[i]!, reference[i]!), `${type} base + adapter, sequence ${i}: ${diff}`);
    });
  });
}

test("bad LoRA input gets clear errors", async () => {
  const base = makeTinyModel(dir, { nLayer: 2, seed: 86 });
  await assert.rejects(() => Trainer.load(base, { lora: { rank: 0 } }), (e: unknown) => e instanceof InputError && /rank must be a positive integer/.test(e.message));
  await assert.rejects(() => Trainer.load(base, { lora: { rank: 65 } }), (e: unknown) => e instanceof InputError && /rank 65 is larger than/.test(e.message));
  await assert.rejects(
    () => Trainer.load(base, { lora: { rank: 2, targets: ["attn_x" as "attn_q"] } }),
    (e: unknown) => e instanceof InputError && /unknown LoRA target "attn_x"/.test(e.message),
  );
  const full = track(await Trainer.load(base, { threads: 1 }));
  await assert.rejects(full.saveAdapter(join(dir, "none.gguf")), InputError);

  const t = await trainedLora(base);
  const adapter = join(dir, "for-llama.gguf");
  await t.saveAdapter(adapter);
  const qwen = makeTinyModel(dir, { nLayer: 2, seed: 86, architecture: "qwen2" });
  const wider = makeTinyModel(dir, { nLayer: 2, seed: 86, nFf: 192 });
  await assert.rejects(() => Model.load(qwen, { lora: adapter }), (e: unknown) => e instanceof InputError && /architecture "llama"/.test(e.message));
  await assert.rejects(() => Model.load(wider, { lora: adapter }), (e: unknown) => e instanceof InputError && /does not fit/.test(e.message));
  await assert.rejects(() => Model.load(base, { lora: base }), FileFormatError);
  await assert.rejects(() => Trainer.load(qwen, { lora: { rank: 4, adapter } }), (e: unknown) => e instanceof InputError && /architecture/.test(e.message));
  await assert.rejects(() => Trainer.load(wider, { lora: { rank: 4, adapter } }), (e: unknown) => e instanceof InputError && /another shape/.test(e.message));
  await assert.rejects(() => Trainer.load(base, { lora: { rank: 2, adapter } }), (e: unknown) => e instanceof InputError && /another shape/.test(e.message));
});
