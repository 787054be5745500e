// Logits of blocks through lethe's own forward graph: libllama's, whatever the padding, in the file's types.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { GraphLogits, graphLogitsFaster } from "../../src/engine/graph-logits.js";
import { Model } from "../../src/engine/model.js";
import { blasLibrary, native } from "../../src/engine/native.js";
import { quantizeModel } from "../../src/engine/quantize.js";
import { nextTokenBatch } from "../../src/engine/trainer.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";
import { maxAbsDiff, randomTokens, rowArgmax } from "./helpers.js";

const dir = tempDir("graph-logits");
// The tiny models' byte vocabulary: 256 bytes and BOS and EOS.
const VOCAB = 258;

/** libllama's logits and the graph's of the same blocks, and the largest logit. */
async function bothLogits(path: string, seqs: number[][], blockTokens: number) {
  const llama = await Model.load(path, { threads: 2, contextLength: 256, maxSequences: seqs.length });
  const graph = await GraphLogits.load(path, { threads: 2, blockTokens });
  try {
    const [a, b] = [await llama.logits(seqs), await graph.logits(seqs)];
    const scale = Math.max(...a.map((x) => Math.max(...x.map(Math.abs))));
    return { a, b, scale };
  } finally {
    await llama.dispose();
    await graph.dispose();
  }
}

test("the graph's logits are libllama's, for blocks of any length padded into one batch", async () => {
  // Odd widths and GQA: transposed operands, ragged edges, broadcast heads.
  const path = makeTinyModel(dir, { nLayer: 2, nEmbd: 72, nHead: 4, nHeadKv: 2, nFf: 100, seed: 3 });
  const seqs = [randomTokens(50, 256, 1), randomTokens(7, 256, 2), randomTokens(64, 256, 3), [5]];
  const { a, b, scale } = await bothLogits(path, seqs, 64);
  seqs.forEach((s, k) => {
    assert.equal(b[k]!.length, s.length * VOCAB, `block ${k} has a row per token`);
    assert.ok(maxAbsDiff(a[k]!, b[k]!) < 1e-4 * scale, `block ${k}: logits differ by ${maxAbsDiff(a[k]!, b[k]!)} of ${scale}`);
    assert.deepEqual(rowArgmax(b[k]!, VOCAB), rowArgmax(a[k]!, VOCAB));
  });
});

test("a block's logits do not depend on the padding or the blocks beside it", async () => {
  const path = makeTinyModel(dir, { nLayer: 2, nEmbd: 64, nHead: 4, nFf: 96, seed: 4 });
  const graph = await GraphLogits.load(path, { threads: 2, blockTokens: 48 });
  try {
    const block = randomTokens(30, 256, 9);
    const [alone] = await graph.logits([block]);
    // Padded to 48 either way, beside another block: the same batch shape gives the same bits.
    const [beside] = await graph.logits([block, randomTokens(48, 256, 10)]);
    const [first] = await graph.logits([block, randomTokens(12, 256, 11)]);
    const scale = Math.max(...alone!.map(Math.abs));
    assert.ok(maxAbsDiff(alone!, beside!) < 1e-5 * scale, `alone vs beside another block: ${maxAbsDiff(alone!, beside!)}`);
    assert.deepEqual(Array.from(beside!), Array.from(first!), "what follows a block in its batch changed its logits");
  } finally {
    await graph.dispose();
  }
});

test("a quantized model keeps its file's types, and so libllama's rounding", async () => {
  const f32 = makeTinyModel(dir, { nLayer: 2, nEmbd: 64, nHead: 4, nFf: 128, seed: 5 });
  const q8 = join(dir, "q8.gguf");
  await quantizeModel(f32, q8, "Q8_0", { threads: 2 });
  assert.equal(graphLogitsFaster(q8), false, "BLAS cannot take a quantized product: libllama is as fast");
  const seqs = [randomTokens(40, 256, 6), randomTokens(33, 256, 7)];
  const quantized = await bothLogits(q8, seqs, 40);
  const exact = await bothLogits(f32, seqs, 40);
  const cost = maxAbsDiff(exact.a[0]!, quantized.a[0]!);
  assert.ok(cost > 0, "quantizing changed nothing: the test model is not quantized");
  seqs.forEach((_, k) => {
    const diff = maxAbsDiff(quantized.a[k]!, quantized.b[k]!);
    assert.ok(diff < 0.05 * cost, `block ${k}: the graph differs from libllama by ${diff}, quantizing costs ${cost}`);
  });
});

test("graphLogitsFaster: F32 weights with OpenBLAS only", () => {
  const f32 = makeTinyModel(dir, { nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, seed: 8 });
  const f16 = makeTinyModel(dir, { nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, seed: 8, dtype: "f16" });
  assert.equal(graphLogitsFaster(f32), blasLibrary() !== undefined);
  assert.equal(graphLogitsFaster(f16), false);
});

test("bad blocks get clear errors, and a model loaded for its logits refuses to train", async () => {
  const path = makeTinyModel(dir, { nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, seed: 8 });
  const graph = await GraphLogits.load(path, { threads: 2, blockTokens: 16 });
  try {
    await assert.rejects(graph.logits([[1, VOCAB]]), /token 258 at position 1 of block 0 is outside the vocabulary of 258/);
    await assert.rejects(graph.logits([[1], []]), /block 1 is empty/);
    assert.deepEqual(await graph.logits([]), []);
  } finally {
    await graph.dispose();
  }
  await assert.rejects(GraphLogits.load(join(dir, "missing.gguf"), { blockTokens: 16 }), /model file not found/);
  const handle = new (native().Trainer)(path, { threads: 1, trainEmbeddings: false, forwardOnly: true });
  try {
    assert.equal(handle.info().nTrainable, 0);
    await assert.rejects(handle.loss([nextTokenBatch([[1, 2, 3]])], null, undefined, 1), /loaded for its logits only and has no loss/);
    await assert.rejects(handle.step([nextTokenBatch([[1, 2, 3]])], { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clip: 1 }), /loaded for its logits only and cannot train/);
  } finally {
    handle.dispose();
  }
});

test("blocks longer than the model's context are refused, as Model and Trainer refuse them", async () => {
  // The tiny models are trained for 128 tokens.
  const path = makeTinyModel(dir, { nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, seed: 8 });
  await assert.rejects(GraphLogits.load(path, { blockTokens: 129 }), /blockTokens 129 is longer than the model's 128-token context/);
  const graph = await GraphLogits.load(path, { threads: 2, blockTokens: 16 });
  try {
    await assert.rejects(graph.logits([randomTokens(129, 256, 1)]), /blocks of 129 tokens are longer than the model's 128-token context/);
    assert.equal((await graph.logits([randomTokens(128, 256, 1)]))[0]!.length, 128 * VOCAB);
  } finally {
    await graph.dispose();
  }
});
