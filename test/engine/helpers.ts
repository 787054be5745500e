// Shared helpers of the engine tests.
import assert from "node:assert/strict";

import type { Trainer, WeightedBatch } from "../../src/engine/trainer.js";

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Index of the largest value in each row of a row-major [rows, width] matrix. */
export function rowArgmax(m: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < m.length / width; r++) {
    let best = 0;
    for (let v = 1; v < width; v++) if (m[r * width + v]! > m[r * width + best]!) best = v;
    out.push(best);
  }
  return out;
}

/** log softmax(row)[target] computed in float64. */
export function logSoftmaxAt(m: Float32Array, width: number, row: number, target: number): number {
  let mx = -Infinity;
  for (let v = 0; v < width; v++) mx = Math.max(mx, m[row * width + v]!);
  let sum = 0;
  for (let v = 0; v < width; v++) sum += Math.exp(m[row * width + v]! - mx);
  return m[row * width + target]! - mx - Math.log(sum);
}

/** Deterministic pseudo-random token sequences. */
export function randomTokens(n: number, vocab: number, seed: number, low = 0): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push(low + (s % (vocab - low)));
  }
  return out;
}

/**
 * Checks the trainer's gradient of each tensor at the given indices against central finite
 * differences of its loss on `batch` (step h), and returns the worst absolute error.
 */
export async function checkFiniteDifferences(
  t: Trainer,
  batch: WeightedBatch,
  picks: Record<string, (values: Float32Array) => number[]>,
  h = 1e-2,
): Promise<number> {
  let worst = 0;
  for (const [name, indices] of Object.entries(picks)) {
    const grad = t.gradient(name);
    const w = t.tensor(name);
    assert.ok(grad.some((g) => g !== 0), `${name} has no gradient`);
    for (const i of indices(w)) {
      const orig = w[i]!;
      w[i] = orig + h;
      t.setTensor(name, w);
      const up = await t.loss(batch);
      w[i] = orig - h;
      t.setTensor(name, w);
      const down = await t.loss(batch);
      w[i] = orig;
      t.setTensor(name, w);
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - grad[i]!);
      worst = Math.max(worst, err);
      assert.ok(err < 2e-3 + 0.02 * Math.abs(numeric), `${name}[${i}]: analytic ${grad[i]} vs numeric ${numeric}`);
    }
  }
  return worst;
}

/** Indices spread over a tensor: its first, a few inside, its middle and its last. */
export const spread = (w: Float32Array): number[] => [0, 7, Math.floor(w.length / 2), w.length - 1];
