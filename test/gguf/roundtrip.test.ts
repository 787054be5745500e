import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InputError } from "../../src/errors.js";
import {
  GgmlType,
  type GgufMetadata,
  type GgufTensorInput,
  readGguf,
  readTensorBytes,
  readTensorF32,
  writeGguf,
} from "../../src/gguf/index.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("gguf-roundtrip");

test("a minimal file has exactly the GGUF v3 bytes, padded to the 32-byte alignment", () => {
  const path = join(dir, "minimal.gguf");
  writeGguf(path, { metadata: new Map([["a", { type: "u8", value: 7 }]]), tensors: [] });
  const expected = Buffer.alloc(64);
  Buffer.from([
    ...[0x47, 0x47, 0x55, 0x46], // "GGUF"
    ...[3, 0, 0, 0], // version 3
    ...[0, 0, 0, 0, 0, 0, 0, 0], // 0 tensors
    ...[1, 0, 0, 0, 0, 0, 0, 0], // 1 metadata entry
    ...[1, 0, 0, 0, 0, 0, 0, 0, 0x61], // key "a"
    ...[0, 0, 0, 0], // value type u8
    7,
  ]).copy(expected);
  assert.deepEqual(readFileSync(path), expected);
});

test("a tensor info and its data sit where the format says", () => {
  const path = join(dir, "one-tensor.gguf");
  writeGguf(path, { metadata: new Map(), tensors: [{ name: "t", dims: [2], type: GgmlType.F32, data: new Float32Array([1, -2]) }] });
  const bytes = readFileSync(path);
  // header 24 bytes, then name (8 + 1), n_dims (4), dim (8), type (4), offset (8) = 57 -> data at 64.
  assert.equal(bytes.length, 96);
  assert.equal(bytes.readUInt32LE(33), 1); // n_dims
  assert.equal(bytes.readBigUInt64LE(37), 2n); // dims[0]
  assert.equal(bytes.readUInt32LE(45), GgmlType.F32);
  assert.equal(bytes.readBigUInt64LE(49), 0n); // offset relative to the data section
  assert.equal(bytes.readFloatLE(64), 1);
  assert.equal(bytes.readFloatLE(68), -2);
});

test("every metadata type survives a write and a read", () => {
  const metadata: GgufMetadata = new Map([
    ["u8", { type: "u8", value: 255 }],
    ["i8", { type: "i8", value: -128 }],
    ["u16", { type: "u16", value: 65535 }],
    ["i16", { type: "i16", value: -32768 }],
    ["u32", { type: "u32", value: 4294967295 }],
    ["i32", { type: "i32", value: -2147483648 }],
    ["u64", { type: "u64", value: 18446744073709551615n }],
    ["i64", { type: "i64", value: -9223372036854775808n }],
    ["f32", { type: "f32", value: 0.5 }],
    ["f64", { type: "f64", value: 0.1 }],
    ["bool.true", { type: "bool", value: true }],
    ["bool.false", { type: "bool", value: false }],
    ["string", { type: "string", value: "Dorothy → Öz 🌪" }],
    ["string.empty", { type: "string", value: "" }],
    ["array.u8", { type: "array", itemType: "u8", value: [0, 1, 255] }],
    ["array.i8", { type: "array", itemType: "i8", value: [-1, 127] }],
    ["array.u16", { type: "array", itemType: "u16", value: [65535] }],
    ["array.i16", { type: "array", itemType: "i16", value: [-2, 3] }],
    ["array.u32", { type: "array", itemType: "u32", value: [1, 4000000000] }],
    ["array.i32", { type: "array", itemType: "i32", value: [-5, 1, 3] }],
    ["array.u64", { type: "array", itemType: "u64", value: [1n, 2n ** 63n] }],
    ["array.i64", { type: "array", itemType: "i64", value: [-(2n ** 40n)] }],
    ["array.f32", { type: "array", itemType: "f32", value: [1.5, -0.25] }],
    ["array.f64", { type: "array", itemType: "f64", value: [Math.PI] }],
    ["array.bool", { type: "array", itemType: "bool", value: [true, false, true] }],
    ["array.string", { type: "array", itemType: "string", value: ["Ġt", "", "h e"] }],
    ["array.empty", { type: "array", itemType: "string", value: [] }],
  ]);
  const path = join(dir, "all-types.gguf");
  writeGguf(path, { metadata, tensors: [] });
  const file = readGguf(path);
  assert.equal(file.version, 3);
  assert.equal(file.alignment, 32);
  assert.deepEqual([...file.metadata.keys()], [...metadata.keys()]);
  assert.deepEqual(file.metadata, metadata);
});

test("f32 metadata is stored as single precision", () => {
  const path = join(dir, "f32.gguf");
  writeGguf(path, { metadata: new Map([["x", { type: "f32", value: 0.1 }]]), tensors: [] });
  assert.deepEqual(readGguf(path).metadata.get("x"), { type: "f32", value: Math.fround(0.1) });
});

test("F32, F16 and BF16 tensors round-trip with offsets aligned and shapes kept", () => {
  const values = new Float32Array([0.1, -1, 2.5, 1000, 1e-3, -0.0625]);
  const tensors: GgufTensorInput[] = [
    { name: "f32", dims: [3, 2], type: GgmlType.F32, data: values },
    { name: "f16", dims: [6], type: GgmlType.F16, data: values },
    { name: "bf16", dims: [1, 2, 3], type: GgmlType.BF16, data: values },
    { name: "big", dims: [100, 3], type: GgmlType.F32, data: new Float32Array(300).map((_, i) => i) },
  ];
  const path = join(dir, "tensors.gguf");
  writeGguf(path, { metadata: new Map([["general.name", { type: "string", value: "t" }]]), tensors });
  const file = readGguf(path);
  assert.deepEqual(
    file.tensors.map((t) => [t.name, t.dims, t.type, t.nbytes]),
    [
      ["f32", [3, 2], GgmlType.F32, 24],
      ["f16", [6], GgmlType.F16, 12],
      ["bf16", [1, 2, 3], GgmlType.BF16, 12],
      ["big", [100, 3], GgmlType.F32, 1200],
    ],
  );
  for (const t of file.tensors) assert.equal(t.offset % 32, 0, `${t.name} offset ${t.offset}`);
  assert.equal(file.dataOffset % 32, 0);
  assert.equal(file.tensors[0].offset, file.dataOffset);
  assert.deepEqual(readTensorF32(file, "f32"), values);
  // The nearest halves: 1e-3 = 1.024 * 2^-10 and 0.024 * 1024 = 24.6 rounds up to a mantissa of 25.
  assert.deepEqual([...readTensorF32(file, "f16")], [0.0999755859375, -1, 2.5, 1000, (1 + 25 / 1024) * 2 ** -10, -0.0625]);
  // BF16 keeps 7 mantissa bits: 0.024 * 128 = 3.07 rounds down to 3.
  assert.deepEqual([...readTensorF32(file, "bf16")], [0.10009765625, -1, 2.5, 1000, (1 + 3 / 128) * 2 ** -10, -0.0625]);
  assert.equal(readTensorF32(file, "big")[299], 299);
  assert.deepEqual([...readTensorBytes(file, "f16").subarray(0, 4)], [0x66, 0x2e, 0x00, 0xbc]);
  assert.equal(file.fileSize, readFileSync(path).length);
});

test("general.alignment sets the data alignment", () => {
  const path = join(dir, "aligned.gguf");
  writeGguf(path, {
    metadata: new Map([["general.alignment", { type: "u32", value: 256 }]]),
    tensors: [
      { name: "a", dims: [3], type: GgmlType.F32, data: new Float32Array([1, 2, 3]) },
      { name: "b", dims: [1], type: GgmlType.F32, data: new Float32Array([4]) },
    ],
  });
  const file = readGguf(path);
  assert.equal(file.alignment, 256);
  assert.equal(file.dataOffset, 256);
  assert.deepEqual(file.tensors.map((t) => t.offset), [256, 512]);
  assert.deepEqual(readTensorF32(file, "b"), new Float32Array([4]));
});

test("a header of several MB (a big vocabulary) round-trips", () => {
  const tokens = Array.from({ length: 150_000 }, (_, i) => `token-${i}-${"x".repeat(i % 20)}`);
  const path = join(dir, "big-header.gguf");
  writeGguf(path, {
    metadata: new Map([["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens }]]),
    tensors: [{ name: "t", dims: [2], type: GgmlType.F32, data: new Float32Array([7, 8]) }],
  });
  const file = readGguf(path);
  assert.ok(file.dataOffset > 2 ** 21);
  assert.deepEqual(file.metadata.get("tokenizer.ggml.tokens")?.value, tokens);
  assert.deepEqual(readTensorF32(file, "t"), new Float32Array([7, 8]));
});

test("the writer leaves no temporary file and replaces an existing file", () => {
  const sub = mkdtempSync(join(dir, "atomic-"));
  const path = join(sub, "m.gguf");
  writeGguf(path, { metadata: new Map([["v", { type: "u32", value: 1 }]]), tensors: [] });
  writeGguf(path, { metadata: new Map([["v", { type: "u32", value: 2 }]]), tensors: [] });
  assert.deepEqual(readdirSync(sub), ["m.gguf"]);
  assert.equal(readGguf(path).metadata.get("v")?.value, 2);
});

test("the writer rejects what it cannot encode with an InputError naming the culprit", () => {
  const path = join(dir, "bad.gguf");
  const f32 = (name: string, dims: number[], n: number): GgufTensorInput => ({ name, dims, type: GgmlType.F32, data: new Float32Array(n) });
  const cases: [GgufMetadata, GgufTensorInput[], RegExp][] = [
    [new Map([["k", { type: "u8", value: 256 }]]), [], /"k" is declared u8 but holds number 256/],
    [new Map([["k", { type: "i32", value: 1.5 }]]), [], /"k" is declared i32/],
    [new Map([["k", { type: "u64", value: 5 as unknown as bigint }]]), [], /"k" is declared u64 but holds number 5; expected a bigint/],
    [new Map([["k", { type: "u64", value: -1n }]]), [], /"k" is declared u64/],
    [new Map([["k", { type: "array", itemType: "u32", value: [1, -1] }]]), [], /"k\[1\]" is declared u32/],
    [new Map([["k", { type: "array", itemType: "string", value: ["a", 2 as unknown as string] }]]), [], /"k\[1\]" is declared string/],
    [new Map([["general.alignment", { type: "u32", value: 24 }]]), [], /general.alignment" must be a u32 power of two/],
    [new Map([["general.alignment", { type: "u64", value: 32n }]]), [], /general.alignment" must be a u32 power of two/],
    [new Map([["", { type: "u8", value: 1 }]]), [], /empty key/],
    [new Map(), [f32("w", [2, 3], 5)], /tensor "w" has dims \[2, 3\] \(6 elements\) but 5 values/],
    [new Map(), [f32("w", [2], 2), f32("w", [2], 2)], /tensor name "w" appears twice/],
    [new Map(), [f32("w", [0], 0)], /tensor "w" has dims \[0\]/],
    [new Map(), [f32("w", [1, 1, 1, 1, 1], 1)], /tensor "w" has dims/],
    [new Map(), [f32("n".repeat(64), [1], 1)], /must be 1 to 63 UTF-8 bytes/],
    [new Map(), [{ ...f32("q", [32], 32), type: GgmlType.Q8_0 as GgmlType.F32 }], /tensor "q" asks for type Q8_0/],
  ];
  for (const [metadata, tensors, message] of cases) {
    assert.throws(() => writeGguf(path, { metadata, tensors }), (e: unknown) => e instanceof InputError && message.test(e.message), String(message));
  }
  assert.equal(existsSync(path), false);
  assert.equal(existsSync(`${path}.tmp`), false);
});

test("writing into a missing directory is an InputError naming the path", () => {
  const path = join(dir, "no-such-dir", "m.gguf");
  assert.throws(() => writeGguf(path, { metadata: new Map(), tensors: [] }), (e: unknown) => e instanceof InputError && e.message.includes("no-such-dir"));
});
