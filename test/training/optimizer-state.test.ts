// The AdamW moments' file (src/training/optimizer-state.ts): exact round trips, and a truncated file refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readOptimizerState, writeOptimizerState } from "../../src/training/optimizer-state.js";
import { FileFormatError } from "../../src/errors.js";
import { testTempDir } from "../helpers/temp.js";

test("optimizer state round trip", (t) => {
  const path = join(testTempDir(t, "optimizer"), "optimizer.gguf");
  const state = { step: 3, moments: { b: [Float32Array.of(1, 2), Float32Array.of(3, 4)] as [Float32Array, Float32Array], a: [Float32Array.of(5), Float32Array.of(6)] as [Float32Array, Float32Array] } };
  writeOptimizerState(path, state);
  const back = readOptimizerState(path);
  assert.equal(back.step, 3);
  assert.deepEqual([...back.moments.b![1]], [3, 4]);
  assert.deepEqual([...back.moments.a![0]], [5]);
  writeFileSync(path, readFileSync(path).subarray(0, 30));
  assert.throws(() => readOptimizerState(path), FileFormatError);
});

test("the optimizer state round-trips exactly through its GGUF file", (t) => {
  const path = join(testTempDir(t, "optimizer"), "optimizer.gguf");
  const state = {
    step: 17,
    moments: {
      "blk.0.attn_q.weight": [Float32Array.from([0.1, -2.5e-7, 3]), Float32Array.from([1e-12, 4, 0])] as [Float32Array, Float32Array],
      "output_norm.weight": [Float32Array.from([Math.fround(1 / 3)]), Float32Array.from([7])] as [Float32Array, Float32Array],
    },
  };
  writeOptimizerState(path, state);
  assert.deepEqual(readOptimizerState(path), state);
});
