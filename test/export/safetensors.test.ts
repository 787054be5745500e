// The safetensors writer against its format: header layout, alignment, round trip, refusals.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError, InputError } from "../../src/errors.js";
import { readSafetensors, writeSafetensors } from "../../src/export/safetensors.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("safetensors");

test("writes the header length, a JSON header padded to 8 bytes, and the data in order", () => {
  const path = join(dir, "a.safetensors");
  writeSafetensors(
    path,
    [
      { name: "ids", dtype: "I32", shape: [3], data: Int32Array.from([1, -2, 3]) },
      { name: "offsets", dtype: "I64", shape: [2], data: BigInt64Array.from([0n, 2n ** 40n]) },
      { name: "w", dtype: "F32", shape: [1, 2], data: Float32Array.from([0.5, -1]) },
    ],
    { format: "test" },
  );
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, "data starts 8-byte aligned");
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  assert.deepEqual(header.__metadata__, { format: "test" });
  assert.deepEqual(header.ids, { dtype: "I32", shape: [3], data_offsets: [0, 12] });
  assert.deepEqual(header.offsets!.data_offsets, [12, 28]);
  assert.deepEqual(header.w!.data_offsets, [28, 36]);
  assert.equal(bytes.length, 8 + n + 36);
  assert.equal(bytes.readInt32LE(8 + n + 4), -2);
  assert.equal(bytes.readBigInt64LE(8 + n + 20), 2n ** 40n);
  assert.equal(bytes.readFloatLE(8 + n + 32), -1);

  const back = readSafetensors(path);
  assert.deepEqual(back.metadata, { format: "test" });
  assert.deepEqual([...(back.tensors.get("ids")!.data as Int32Array)], [1, -2, 3]);
  assert.deepEqual([...(back.tensors.get("offsets")!.data as BigInt64Array)], [0n, 2n ** 40n]);
  assert.deepEqual(back.tensors.get("w")!.shape, [1, 2]);
});

test("refuses data that does not match its shape or dtype, and names the tensor", () => {
  const path = join(dir, "bad.safetensors");
  assert.throws(() => writeSafetensors(path, [{ name: "x", dtype: "F32", shape: [2, 2], data: new Float32Array(3) }]), (e: unknown) => e instanceof InputError && /x has shape \[2, 2\]/.test(e.message));
  assert.throws(() => writeSafetensors(path, [{ name: "y", dtype: "I64", shape: [1], data: new Int32Array(1) }]), (e: unknown) => e instanceof InputError && /y is declared I64/.test(e.message));
  assert.throws(
    () => writeSafetensors(path, [{ name: "z", dtype: "I32", shape: [1], data: new Int32Array(1) }, { name: "z", dtype: "I32", shape: [1], data: new Int32Array(1) }]),
    (e: unknown) => e instanceof InputError && /z is used twice/.test(e.message),
  );
});

test("reading a truncated or foreign file is a FileFormatError naming the file", () => {
  const path = join(dir, "t.safetensors");
  writeSafetensors(path, [{ name: "ids", dtype: "I32", shape: [4], data: new Int32Array(4) }]);
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 3));
  assert.throws(() => readSafetensors(path), (e: unknown) => e instanceof FileFormatError && e.message.includes(path) && /truncated|outside/.test(e.message));
  writeFileSync(path, "not a safetensors file at all");
  assert.throws(() => readSafetensors(path), (e: unknown) => e instanceof FileFormatError && e.message.includes(path));
});
