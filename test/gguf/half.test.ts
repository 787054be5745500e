import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bf16ArrayToF32,
  bf16BitsToF32,
  f16ArrayToF32,
  f16BitsToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../src/gguf/half.js";

test("f32 -> f16 bits: exact values, rounding to nearest even, subnormals, overflow and NaN", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // just below the halfway point to 65536
    [65520, 0x7c00], // halfway rounds to even, which is infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01 -> even 0x3c00
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02 -> even 0x3c02
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal -> 0
    [1.5 * 2 ** -25, 0x0001],
    [2 ** -30, 0x0000],
    [-(2 ** -24), 0x8001],
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
  ];
  for (const [value, bits] of cases) assert.equal(f32ToF16Bits(value), bits, `f16 of ${value}`);
  const nan = f32ToF16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
});

test("f16 bits -> f32", () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) assert.equal(f16BitsToF32(bits), value, `value of 0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
});

test("f32 <-> bf16 bits: truncation with round to nearest even", () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0.1, 0x3dcd], // f32 0x3dcccccd: dropped half 0xcccd > 0x8000 rounds up
    [1 + 2 ** -8, 0x3f80], // f32 0x3f808000: a tie, stays at even 0x3f80
    [1 + 3 * 2 ** -8, 0x3f82], // f32 0x3f818000: a tie, goes up to even 0x3f82
    [Infinity, 0x7f80],
    [3.4028234663852886e38, 0x7f80], // f32 max rounds up to infinity
  ];
  for (const [value, bits] of cases) assert.equal(f32ToBf16Bits(value), bits, `bf16 of ${value}`);
  assert.equal(f32ToBf16Bits(NaN) & 0x7fc0, 0x7fc0);
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0x3dcd), 0.10009765625);
  assert.equal(bf16BitsToF32(0xff80), -Infinity);
});

test("array conversions agree with the scalar ones and round-trip representable values", () => {
  const values = new Float32Array([0, 1, -2, 0.1, 65504, 2 ** -24, 1e6, -0.5]);
  const halves = f32ArrayToF16(values);
  assert.deepEqual([...halves], [...values].map(f32ToF16Bits));
  assert.deepEqual([...f16ArrayToF32(halves)], [0, 1, -2, 0.0999755859375, 65504, 2 ** -24, Infinity, -0.5]);
  const brains = f32ArrayToBf16(values);
  assert.deepEqual([...brains], [...values].map(f32ToBf16Bits));
  assert.deepEqual([...bf16ArrayToF32(brains)], [...brains].map(bf16BitsToF32));
  // A subarray view must convert only its own elements.
  assert.deepEqual([...f32ArrayToF16(values.subarray(1, 3))], [0x3c00, 0xc000]);
});
