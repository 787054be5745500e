// Bad input gets a typed error with a readable message, and the process lives on to the next test.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { FileFormatError, InputError, LetheError, UnsupportedModelError } from "../../src/errors.js";
import { Model } from "../../src/engine/model.js";
import { Trainer, checkTrainable, maxGatherPositions, type WeightedBatch } from "../../src/engine/trainer.js";
import { writeGguf } from "../../src/gguf/write.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("errors");
const good = makeTinyModel(dir, { nLayer: 1, seed: 71 });
const model = await Model.load(good, { threads: 2, contextLength: 64 });
const trainer = await Trainer.load(good, { threads: 2 });
after(async () => {
  await model.dispose();
  await trainer.dispose();
});

function rejectsWith(kind: typeof LetheError, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match((e as LetheError).message, pattern);
    assert.ok((e as LetheError).fix.length > 0);
    return true;
  };
}

test("a missing file", async () => {
  const p = join(dir, "nope.gguf");
  await assert.rejects(() => Model.load(p), rejectsWith(InputError, /not found/));
  await assert.rejects(() => Trainer.load(p), rejectsWith(InputError, /not found/));
});

test("a non-GGUF file", async () => {
  const p = join(dir, "text.gguf");
  writeFileSync(p, "this is not a model\n".repeat(10));
  await assert.rejects(() => Model.load(p), rejectsWith(FileFormatError, /GGUF/));
  await assert.rejects(() => Trainer.load(p), rejectsWith(FileFormatError, /GGUF/));
});

test("a truncated GGUF, in the tensor data and in the header", async () => {
  const bytes = readFileSync(good);
  for (const [name, cut] of [["half", Math.floor(bytes.length / 2)], ["header", 100]] as const) {
    const p = join(dir, `truncated-${name}.gguf`);
    writeFileSync(p, bytes.subarray(0, cut));
    await assert.rejects(() => Model.load(p), rejectsWith(FileFormatError, /truncated|past the end|end of file/i));
    await assert.rejects(() => Trainer.load(p), rejectsWith(FileFormatError, /truncated|past the end|end of file/i));
  }
});

test("an unsupported architecture", async () => {
  const p = join(dir, "gpt2.gguf");
  writeGguf(p, { metadata: new Map([["general.architecture", { type: "string", value: "gpt2" }]]), tensors: [] });
  await assert.rejects(() => Model.load(p), rejectsWith(UnsupportedModelError, /gpt2/));
  await assert.rejects(() => Trainer.load(p), rejectsWith(UnsupportedModelError, /gpt2/));
});

test("a token id outside the vocabulary", async () => {
  await assert.rejects(model.tokenLogprobs([[1, 2, 999]]), rejectsWith(InputError, /999.*outside the vocabulary/));
  await assert.rejects(model.logits([[1, -1]]), rejectsWith(InputError, /outside the vocabulary/));
  const b: WeightedBatch = { B: 1, T: 2, K: 1, tokens: Int32Array.from([1, 5000]), targets: Int32Array.from([1, 2]), weights: Float32Array.from([1, 1]) };
  await assert.rejects(async () => trainer.step(b, { lr: 1e-3 }), rejectsWith(InputError, /5000/));
  assert.throws(() => model.detokenize([1e6]), rejectsWith(InputError, /outside/));
});

test("mismatched targets and weights", async () => {
  const b: WeightedBatch = { B: 1, T: 3, K: 1, tokens: Int32Array.from([1, 2, 3]), targets: Int32Array.from([1, 2, 3]), weights: Float32Array.from([1, 1]) };
  await assert.rejects(async () => trainer.step(b, { lr: 1e-3 }), rejectsWith(InputError, /targets \(3\) and weights \(2\)/));
  const nan: WeightedBatch = { ...b, weights: Float32Array.from([1, NaN, 1]) };
  await assert.rejects(async () => trainer.step(nan, { lr: 1e-3 }), rejectsWith(InputError, /NaN/));
});

test("an empty sequence", async () => {
  await assert.rejects(model.tokenLogprobs([[]]), rejectsWith(InputError, /empty/));
  await assert.rejects(async () => trainer.forward([[]]), rejectsWith(InputError, /./));
  await assert.rejects(model.tokenLogprobs([]), rejectsWith(InputError, /no sequences/));
});

test("a sequence longer than the context", async () => {
  const long = Array.from({ length: model.info.contextLength + 1 }, () => 1);
  await assert.rejects(model.logits([long]), rejectsWith(InputError, /longer|more than/));
  const T = trainer.info.nCtxTrain + 1;
  const b: WeightedBatch = { B: 1, T, K: 1, tokens: new Int32Array(T), targets: new Int32Array(T), weights: new Float32Array(T) };
  await assert.rejects(async () => trainer.step(b, { lr: 1e-3 }), rejectsWith(InputError, /longer than the model's/));
});

test("bad optimizer options", async () => {
  const b: WeightedBatch = { B: 1, T: 2, K: 1, tokens: Int32Array.from([1, 2]), targets: Int32Array.from([2, 3]), weights: Float32Array.from([1, 1]) };
  await assert.rejects(async () => trainer.step(b, { lr: -1 }), rejectsWith(InputError, /lr/));
  await assert.rejects(async () => trainer.step(b, { lr: 1e-3, beta1: 1 }), rejectsWith(InputError, /betas/));
});

test("after all of that, the same objects still work", async () => {
  const [lp] = await model.tokenLogprobs([[256, 72, 105]]);
  assert.equal(lp!.length, 2);
  const r = await trainer.step({ B: 1, T: 2, K: 1, tokens: Int32Array.from([1, 2]), targets: Int32Array.from([2, 3]), weights: Float32Array.from([1, 1]) }, { lr: 1e-3 });
  assert.ok(Number.isFinite(r.loss));
});

test("the loss gathers at most 2^31 / vocabulary positions at a time: the native trainer refuses more", async () => {
  // A micro-batch past 2^31 / V positions is gathered in chunks (test/engine/training.test.ts checks
  // chunks against one gather). Running one at the real boundary needs 8 GiB of logits, so the
  // boundary is checked where it is enforced: the bound the native side computes for the chunk size.
  const bound = maxGatherPositions(trainer.info.nVocab);
  assert.ok(bound * trainer.info.nVocab <= 2 ** 31 && (bound + 1) * trainer.info.nVocab > 2 ** 31);
  await (await Trainer.load(good, { threads: 1, gatherPositions: bound })).dispose();
  await assert.rejects(() => Trainer.load(good, { threads: 1, gatherPositions: bound + 1 }), rejectsWith(InputError, /past 2\^31/));
  await assert.rejects(() => Trainer.load(good, { threads: 1, gatherPositions: 0 }), rejectsWith(InputError, /gatherPositions/));
  // qwen2's 151,936-token vocabulary: 14,134 positions per gather, so the largest index of a chunk,
  // 14,134 · 151,936 − 1, is below 2^31 where 16k positions in one gather would have wrapped.
  assert.equal(maxGatherPositions(151_936), 14_134);
  assert.ok(14_134 * 151_936 - 1 < 2 ** 31 && 16_384 * 151_936 > 2 ** 31);
});

test("a short call while a step is running is refused; after it, allowed", async () => {
  const b: WeightedBatch = { B: 1, T: 4, K: 1, tokens: Int32Array.from([1, 2, 3, 4]), targets: Int32Array.from([2, 3, 4, 0]), weights: Float32Array.from([1, 1, 1, 0]) };
  const running = trainer.step(b, { lr: 1e-6 });
  assert.throws(() => trainer.tensor("token_embd.weight"), rejectsWith(InputError, /still running/));
  assert.throws(() => trainer.setThreads(1), rejectsWith(InputError, /still running/));
  assert.throws(() => trainer.optimizerState(), rejectsWith(InputError, /still running/));
  await running;
  assert.ok(trainer.tensor("token_embd.weight").length > 0);
  assert.ok(trainer.optimizerState());
});

test("checkTrainable refuses an architecture llama.cpp loads but the trainer does not build", () => {
  const p = join(dir, "gemma.gguf");
  writeGguf(p, { metadata: new Map([["general.architecture", { type: "string", value: "gemma" }]]), tensors: [] });
  assert.throws(() => checkTrainable(p), rejectsWith(UnsupportedModelError, /"gemma" model; lethe trains "llama" and "qwen2"/));
  checkTrainable(good);
});
