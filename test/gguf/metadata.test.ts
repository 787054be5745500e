import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError } from "../../src/errors.js";
import { type GgufMetadata, metaArray, metaNumber, metaOptional, metaString, readGguf, writeGguf } from "../../src/gguf/index.js";
import { tempDir } from "../helpers/temp.js";

const metadata: GgufMetadata = new Map([
  ["general.architecture", { type: "string", value: "llama" }],
  ["llama.block_count", { type: "u32", value: 22 }],
  ["llama.rope.freq_base", { type: "f32", value: 10000 }],
  ["big", { type: "u64", value: 2n ** 40n }],
  ["huge", { type: "i64", value: 2n ** 60n }],
  ["flag", { type: "bool", value: true }],
  ["tokens", { type: "array", itemType: "string", value: ["a", "b"] }],
  ["ids", { type: "array", itemType: "i32", value: [1, 2] }],
]);

const dir = tempDir("gguf-meta");

test("metaString and metaNumber return values of the right type", () => {
  assert.equal(metaString(metadata, "general.architecture"), "llama");
  assert.equal(metaNumber(metadata, "llama.block_count"), 22);
  assert.equal(metaNumber(metadata, "llama.rope.freq_base"), 10000);
  assert.equal(metaNumber(metadata, "big"), 2 ** 40);
});

test("missing or mistyped keys are FileFormatErrors naming the key (and the file when given one)", () => {
  const path = join(dir, "m.gguf");
  writeGguf(path, { metadata, tensors: [] });
  const file = readGguf(path);
  assert.throws(() => metaString(file, "general.name"), (e: unknown) => e instanceof FileFormatError && e.message === `${path} has no metadata key "general.name"`);
  assert.throws(
    () => metaString(metadata, "llama.block_count"),
    (e: unknown) => e instanceof FileFormatError && e.message === 'GGUF metadata: metadata key "llama.block_count" is u32 22, expected a string',
  );
  assert.throws(() => metaNumber(metadata, "general.architecture"), /"general.architecture" is string llama, expected a number/);
  assert.throws(() => metaNumber(metadata, "flag"), /"flag" is bool true, expected a number/);
  assert.throws(() => metaNumber(metadata, "huge"), /"huge" is i64 1152921504606846976, expected a number below 2\^53/);
  assert.throws(() => metaNumber(metadata, "tokens"), /"tokens" is an array of string, expected a number/);
});

test("metaOptional returns undefined only when the key is absent", () => {
  assert.equal(metaOptional(metadata, "general.name", "string"), undefined);
  assert.equal(metaOptional(metadata, "flag", "bool"), true);
  assert.equal(metaOptional(metadata, "big", "u64"), 2n ** 40n);
  assert.deepEqual(metaOptional(metadata, "tokens", "array"), ["a", "b"]);
  assert.throws(() => metaOptional(metadata, "llama.block_count", "u16"), (e: unknown) => e instanceof FileFormatError && /expected a u16/.test(e.message));
});

test("metaArray checks the item type", () => {
  assert.deepEqual(metaArray(metadata, "tokens", "string"), ["a", "b"]);
  assert.deepEqual(metaArray(metadata, "ids", "i32"), [1, 2]);
  assert.throws(() => metaArray(metadata, "ids", "u32"), /"ids" is an array of i32, expected an array of u32/);
  assert.throws(() => metaArray(metadata, "flag", "bool"), /"flag" is bool true, expected an array of bool/);
  assert.throws(() => metaArray(metadata, "nope", "bool"), /no metadata key "nope"/);
});
