// Packing, blocks, the held-out split and the data order: pure functions of length and seed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../../src/errors.js";
import { BlockSchedule, blockCount, blockTokens, packDocuments, splitBlocks } from "../../../src/testbed/pretrain/data.js";

test("packDocuments wraps each document in BOS ... EOS", () => {
  assert.deepEqual([...packDocuments([[5, 6], [7], []], 1, 2)], [1, 5, 6, 2, 1, 7, 2, 1, 2]);
});

test("blocks overlap by one token so every neighbouring pair is a target once", () => {
  const stream = Uint32Array.from([1, 5, 6, 2, 1, 7, 2]);
  assert.equal(blockCount(7, 3), 3);
  assert.deepEqual([...blockTokens(stream, 0, 3)], [1, 5, 6]);
  assert.deepEqual([...blockTokens(stream, 1, 3)], [6, 2, 1]);
  assert.deepEqual([...blockTokens(stream, 2, 3)], [1, 7, 2]);
  // A tail too short for a block is dropped; a stream shorter than a block has none.
  assert.equal(blockCount(8, 3), 3);
  assert.equal(blockCount(9, 3), 4);
  assert.equal(blockCount(3, 3), 1);
  assert.equal(blockCount(2, 3), 0);
  assert.equal(blockCount(1000, 256), 3);
});

test("splitBlocks holds out a seeded share, at least 1 and at most maxEval, disjoint from training", () => {
  const a = splitBlocks(100, 0.05, 64, 7);
  assert.equal(a.eval.length, 5);
  assert.equal(a.train.length, 95);
  assert.deepEqual([...a.eval, ...a.train].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...a.eval], [...a.eval].sort((x, y) => x - y), "ascending");
  assert.deepEqual(splitBlocks(100, 0.05, 64, 7), a, "same seed, same split");
  assert.notDeepEqual([...splitBlocks(100, 0.05, 64, 8).eval], [...a.eval], "another seed, another split");

  assert.equal(splitBlocks(10_000, 0.02, 64, 1).eval.length, 64);
  assert.equal(splitBlocks(10, 0.02, 64, 1).eval.length, 1);
  const two = splitBlocks(2, 0.5, 64, 1);
  assert.deepEqual([two.eval.length, two.train.length], [1, 1]);
  assert.throws(() => splitBlocks(1, 0.02, 64, 1), (e: unknown) => e instanceof InputError && /makes 1 training block;/.test(e.message));
});

test("BlockSchedule visits every training block once per epoch, and any step can be asked for first", () => {
  const train = Uint32Array.from([10, 11, 12, 13, 14]);
  const sequential = new BlockSchedule(train, 3);
  const steps = Array.from({ length: 5 }, (_, s) => sequential.blocksForStep(s, 2)); // 10 positions = 2 epochs
  const flat = steps.flat();
  assert.deepEqual(flat.slice(0, 5).sort(), [10, 11, 12, 13, 14]);
  assert.deepEqual(flat.slice(5, 10).sort(), [10, 11, 12, 13, 14]);
  assert.notDeepEqual(flat.slice(0, 5), flat.slice(5, 10), "each epoch is shuffled anew");
  // A resumed run starts with a fresh schedule at a later step and must see the same blocks.
  assert.deepEqual(new BlockSchedule(train, 3).blocksForStep(3, 2), steps[3]);
  assert.notDeepEqual(
    Array.from({ length: 5 }, (_, s) => new BlockSchedule(train, 4).blocksForStep(s, 2)).flat(),
    flat,
    "another seed, another order",
  );
});
