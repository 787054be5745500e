import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError, InputError, type LetheError, UnsupportedModelError } from "../../src/errors.js";
import { GgmlType, readGguf, readTensorBytes, readTensorF32, writeGguf } from "../../src/gguf/index.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("gguf-errors");

// One F32 tensor "t" of 32 elements and no metadata. Byte layout: 24-byte header, name length at 24,
// name at 32, n_dims at 33, dims[0] at 37, type at 45, offset at 49, data at 64..192.
const ONE_TENSOR = (() => {
  const path = join(dir, "one-tensor.gguf");
  writeGguf(path, { metadata: new Map(), tensors: [{ name: "t", dims: [32], type: GgmlType.F32, data: new Float32Array(32).fill(0.5) }] });
  return readFileSync(path);
})();

/** Writes `bytes` after `edit` to a fresh file and returns its path. */
function variant(name: string, edit: (bytes: Buffer) => void, bytes = ONE_TENSOR): string {
  const copy = Buffer.from(bytes);
  edit(copy);
  const path = join(dir, name);
  writeFileSync(path, copy);
  return path;
}

function throwsLethe(fn: () => unknown, kind: new (...args: never[]) => LetheError, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(e.fix.length > 0);
    return true;
  });
}

test("the crafted base file is valid", () => {
  const file = readGguf(variant("base.gguf", () => {}));
  assert.equal(file.fileSize, 192);
  assert.deepEqual(file.tensors, [{ name: "t", dims: [32], type: GgmlType.F32, offset: 64, nbytes: 128 }]);
  assert.equal(readTensorF32(file, "t")[31], 0.5);
});

test("a missing file or a directory is an InputError naming the path", () => {
  const missing = join(dir, "nope.gguf");
  throwsLethe(() => readGguf(missing), InputError, new RegExp(`${missing} does not exist`));
  throwsLethe(() => readGguf(dir), InputError, /is a directory/);
});

test("a file that is not GGUF is a FileFormatError saying so", () => {
  const text = join(dir, "hello.txt");
  writeFileSync(text, "hello world");
  throwsLethe(() => readGguf(text), FileFormatError, /not a GGUF file \(it starts with bytes 68 65 6c 6c, not "GGUF"\)/);
  const empty = join(dir, "empty.gguf");
  writeFileSync(empty, "");
  throwsLethe(() => readGguf(empty), FileFormatError, /not a GGUF file \(it is only 0 bytes long\)/);
});

test("an unsupported version is an UnsupportedModelError", () => {
  throwsLethe(() => readGguf(variant("v1.gguf", (b) => b.writeUInt32LE(1, 4))), UnsupportedModelError, /GGUF version 1;/);
  throwsLethe(() => readGguf(variant("v4.gguf", (b) => b.writeUInt32LE(4, 4))), UnsupportedModelError, /GGUF version 4;/);
  throwsLethe(() => readGguf(variant("be.gguf", (b) => b.writeUInt32BE(3, 4))), UnsupportedModelError, /big-endian/);
  assert.equal(readGguf(variant("v2.gguf", (b) => b.writeUInt32LE(2, 4))).version, 2);
});

test("a real model cut in its header or in its data is a FileFormatError naming the byte offset", () => {
  const model = readFileSync(makeTinyModel(dir));
  const inHeader = variant("cut-header.gguf", () => {}, model.subarray(0, 100));
  throwsLethe(() => readGguf(inHeader), FileFormatError, /truncated or corrupt at byte 8: tensor count is 21, but only 84 bytes follow/);
  const inTokens = variant("cut-tokens.gguf", () => {}, model.subarray(0, 3000));
  throwsLethe(() => readGguf(inTokens), FileFormatError, /truncated (or corrupt )?at byte \d+: .*"tokenizer\.ggml\.tokens\[\d+\]"/);
  const half = Math.floor(model.length / 2);
  const inData = variant("cut-half.gguf", () => {}, model.subarray(0, half));
  throwsLethe(() => readGguf(inData), FileFormatError, new RegExp(`truncated: tensor "[^"]+" needs bytes \\d+ to \\d+ but the file ends at byte ${half}`));
});

test("a tensor file that shrinks after its header was read is a FileFormatError when the data is read", () => {
  const path = variant("shrinks.gguf", () => {});
  const file = readGguf(path);
  truncateSync(path, 100);
  throwsLethe(() => readTensorF32(file, "t"), FileFormatError, /truncated: tensor "t" needs bytes 64 to 192 but the file ends at byte 100/);
});

test("absurd counts and lengths are rejected before anything is allocated", () => {
  throwsLethe(() => readGguf(variant("count-huge.gguf", (b) => b.writeBigUInt64LE(2n ** 60n, 8))), FileFormatError, /corrupt at byte 8: tensor count is \d+, which is absurd/);
  throwsLethe(
    () => readGguf(variant("count-big.gguf", (b) => b.writeBigUInt64LE(1_000_000n, 8))),
    FileFormatError,
    /truncated or corrupt at byte 8: tensor count is 1000000, but only 176 bytes follow/,
  );
  throwsLethe(() => readGguf(variant("kv-count.gguf", (b) => b.writeBigUInt64LE(2n ** 40n, 16))), FileFormatError, /corrupt at byte 16: metadata entry count/);
  throwsLethe(() => readGguf(variant("name-len.gguf", (b) => b.writeBigUInt64LE(2n ** 40n, 24))), FileFormatError, /corrupt at byte 24: length of name of tensor 0/);
});

test("corrupt tensor infos are FileFormatErrors, unknown tensor types UnsupportedModelErrors", () => {
  throwsLethe(() => readGguf(variant("dims5.gguf", (b) => b.writeUInt32LE(5, 33))), FileFormatError, /corrupt at byte 24: tensor "t" has 5 dimensions/);
  throwsLethe(() => readGguf(variant("type99.gguf", (b) => b.writeUInt32LE(99, 45))), UnsupportedModelError, /tensor "t" has ggml type 99/);
  throwsLethe(() => readGguf(variant("offset4.gguf", (b) => b.writeBigUInt64LE(4n, 49))), FileFormatError, /data offset 4, not a multiple of the alignment 32/);
  throwsLethe(() => readGguf(variant("offset-past.gguf", (b) => b.writeBigUInt64LE(4096n, 49))), FileFormatError, /tensor "t" needs bytes 4160 to 4288/);
  throwsLethe(() => readGguf(variant("q4k.gguf", (b) => b.writeUInt32LE(GgmlType.Q4_K, 45))), UnsupportedModelError, /row length 32 is not a multiple of the Q4_K block size 256/);
});

test("a quantized tensor is listed with its size but readTensorF32 refuses it by type name", () => {
  // 32 elements of Q8_0 are one 34-byte block.
  const file = readGguf(variant("q8.gguf", (b) => b.writeUInt32LE(GgmlType.Q8_0, 45)));
  assert.equal(file.tensors[0].nbytes, 34);
  assert.equal(readTensorBytes(file, "t").length, 34);
  throwsLethe(() => readTensorF32(file, "t"), UnsupportedModelError, /tensor "t" is Q8_0; lethe reads only F32, F16 and BF16/);
  throwsLethe(() => readTensorF32(file, "nope"), InputError, /has no tensor "nope"/);
});

test("corrupt metadata is a FileFormatError naming the key", () => {
  const path = join(dir, "meta.gguf");
  writeGguf(path, {
    metadata: new Map([
      ["general.name", { type: "string", value: "x" }],
      ["general.alignment", { type: "u32", value: 32 }],
    ]),
    tensors: [],
  });
  const bytes = readFileSync(path);
  // Entry 0: key length at 24, key (12 bytes) at 32, value type at 44.
  throwsLethe(() => readGguf(variant("vtype.gguf", (b) => b.writeUInt32LE(99, 44), bytes)), FileFormatError, /corrupt at byte 44: metadata key "general.name" has unknown value type 99/);
  // Entry 1 starts at 44 + 4 + 8 + 1 = 57: key length, key (17 bytes) at 65, type at 82, value at 86.
  throwsLethe(() => readGguf(variant("align.gguf", (b) => b.writeUInt32LE(48, 86), bytes)), FileFormatError, /"general.alignment" must be a u32 power of two, got u32 48/);
  const twoKeys = join(dir, "two-keys.gguf");
  writeGguf(twoKeys, { metadata: new Map([["k1", { type: "u8", value: 1 }], ["k2", { type: "u8", value: 2 }]]), tensors: [] });
  // Entry 0 is 8 + 2 + 4 + 1 = 15 bytes from 24, so entry 1 starts at 39 and its key text at 47.
  throwsLethe(() => readGguf(variant("dupkey.gguf", (b) => b.write("k1", 47, "latin1"), readFileSync(twoKeys))), FileFormatError, /corrupt at byte 39: metadata key "k1" appears twice/);
});
