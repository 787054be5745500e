import assert from "node:assert/strict";
import { test } from "node:test";
import { UnsupportedModelError } from "../../src/errors.js";
import { GgmlType, ggmlTensorBytes, ggmlTypeName } from "../../src/gguf/index.js";

test("tensor sizes follow each type's block size and block bytes", () => {
  assert.equal(ggmlTensorBytes(GgmlType.F32, [3, 5]), 60);
  assert.equal(ggmlTensorBytes(GgmlType.F16, [3, 5]), 30);
  assert.equal(ggmlTensorBytes(GgmlType.BF16, [7]), 14);
  assert.equal(ggmlTensorBytes(GgmlType.Q8_0, [64]), 68); // 2 blocks of 34
  assert.equal(ggmlTensorBytes(GgmlType.Q4_0, [32, 10]), 180); // 10 blocks of 18
  assert.equal(ggmlTensorBytes(GgmlType.Q4_K, [4096, 2]), 4608); // 32 blocks of 144
  assert.equal(ggmlTensorBytes(GgmlType.Q6_K, [256, 3, 2]), 1260); // 6 blocks of 210
  assert.equal(ggmlTensorBytes(GgmlType.Q2_K, [256]), 84);
  assert.equal(ggmlTensorBytes(GgmlType.Q3_K, [256]), 110);
  assert.equal(ggmlTensorBytes(GgmlType.Q5_K, [256]), 176);
  assert.equal(ggmlTensorBytes(GgmlType.Q8_K, [256]), 292);
  assert.equal(ggmlTensorBytes(GgmlType.Q4_1, [32]), 20);
  assert.equal(ggmlTensorBytes(GgmlType.Q5_0, [32]), 22);
  assert.equal(ggmlTensorBytes(GgmlType.Q5_1, [32]), 24);
  assert.equal(ggmlTensorBytes(GgmlType.Q8_1, [32]), 36);
});

test("a row that is not whole blocks, or an unknown type, is an UnsupportedModelError", () => {
  assert.throws(() => ggmlTensorBytes(GgmlType.Q4_K, [128, 2], 'tensor "w"'), (e: unknown) => e instanceof UnsupportedModelError && /tensor "w": row length 128 is not a multiple of the Q4_K block size 256/.test(e.message));
  assert.throws(() => ggmlTensorBytes(4 as GgmlType, [32]), (e: unknown) => e instanceof UnsupportedModelError && /ggml type 4/.test(e.message));
});

test("type names use llama.cpp's spelling", () => {
  assert.equal(ggmlTypeName(GgmlType.Q4_K), "Q4_K");
  assert.equal(ggmlTypeName(30), "BF16");
  assert.equal(ggmlTypeName(5), "type 5");
});
