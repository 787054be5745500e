// The fine-tuning stage's batches (src/unlearn/stages/finetune.ts): labelledBatch with hard and soft labels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { labelledBatch } from "../../../src/unlearn/stages/finetune.js";
import { FileFormatError } from "../../../src/errors.js";

test("labelledBatch puts labels as targets and masks unlabelled positions and padding", () => {
  const block = { tokens: Int32Array.of(5, 6, 7), labels: { target: Int32Array.of(-1, 9, -1), weight: Float32Array.of(0, 1, 0) } };
  const b = labelledBatch([block], 4);
  assert.deepEqual([...b.tokens], [5, 6, 7, 0]);
  assert.deepEqual([...b.targets], [0, 9, 0, 0]);
  assert.deepEqual([...b.weights], [0, 1, 0, 0]);
});

test("labelledBatch carries soft labels' K pairs per position, and refuses mixed K", () => {
  const soft = { tokens: Int32Array.of(5, 6), labels: { target: Int32Array.of(9, 4, -1, -1), weight: Float32Array.of(0.75, 0.25, 0, 0), k: 2 } };
  const b = labelledBatch([soft], 3);
  assert.equal(b.K, 2);
  assert.deepEqual([...b.tokens], [5, 6, 0]);
  assert.deepEqual([...b.targets], [9, 4, 0, 0, 0, 0]);
  assert.deepEqual([...b.weights], [0.75, 0.25, 0, 0, 0, 0]);
  const hard = { tokens: Int32Array.of(5, 6), labels: { target: Int32Array.of(9, -1), weight: Float32Array.of(1, 0) } };
  assert.throws(() => labelledBatch([soft, hard], 3), FileFormatError);
});
