import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../src/errors.js";
import { SeededRandom } from "../../src/util/random.js";

test("SeededRandom matches an independent xoshiro128** (splitmix64-seeded) reference", () => {
  // Expected values from a separate Python implementation (whose splitmix64(0) gives the published
  // first output 0xe220a8397b1dcdaf).
  const expected: Record<number, number[]> = {
    0: [3737715805, 2584255861, 2876756834, 3286328325],
    42: [1776835114, 4165204688, 17111135, 2317295270],
    [-1]: [477689756, 2493998634, 555695776, 607808419],
  };
  for (const [seed, values] of Object.entries(expected)) {
    const random = new SeededRandom(Number(seed));
    assert.deepEqual([random.nextUint32(), random.nextUint32(), random.nextUint32(), random.nextUint32()], values, `seed ${seed}`);
  }
});

test("nextFloat is in [0, 1) and nextFloat of the first draw is nextUint32 / 2^32", () => {
  assert.equal(new SeededRandom(0).nextFloat(), 3737715805 / 2 ** 32);
  const random = new SeededRandom(7);
  for (let i = 0; i < 10000; i++) {
    const x = random.nextFloat();
    assert.ok(x >= 0 && x < 1);
  }
});

test("fillNormal gives the requested mean and standard deviation and is reproducible", () => {
  const values = new SeededRandom(123).fillNormal(new Float32Array(200_000), 0.02, 1);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  // Standard error of the mean is 0.02/sqrt(2e5) = 4.5e-5; of the std about 3.2e-5.
  assert.ok(Math.abs(mean - 1) < 3e-4, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 3e-4, `std ${std}`);
  const within1Sigma = values.filter((v) => Math.abs(v - 1) < 0.02).length / values.length;
  assert.ok(Math.abs(within1Sigma - 0.6827) < 0.01, `fraction within one sigma ${within1Sigma}`);
  assert.deepEqual(new SeededRandom(123).fillNormal(new Float32Array(1000), 0.02, 1), values.subarray(0, 1000));
  assert.notDeepEqual(new SeededRandom(124).fillNormal(new Float32Array(1000), 0.02, 1), values.subarray(0, 1000));
});

test("a seed that is not a safe integer is an InputError", () => {
  assert.throws(() => new SeededRandom(1.5), InputError);
  assert.throws(() => new SeededRandom(2 ** 60), InputError);
});
