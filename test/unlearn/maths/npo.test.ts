// The NPO maths (src/unlearn/maths/npo.ts): the per-sequence weight, the loss and its normalizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { npoLoss, npoNormalizer, npoWeight } from "../../../src/unlearn/maths/npo.js";

test("npoWeight is 2σ(β(logp_cur − logp_ref)): 1 at the start, → 0 as the text is forgotten", () => {
  assert.equal(npoWeight(-10, -10, 0.1), 1);
  // β·Δ = 0.1 · (−20) = −2 → 2σ(−2) = 2/(1+e²) = 0.2384058...
  assert.ok(Math.abs(npoWeight(-30, -10, 0.1) - 0.23840584404423515) < 1e-12);
  // β·Δ = +2 → 2σ(2) = 1.7615941...
  assert.ok(Math.abs(npoWeight(-10, -30, 0.1) - 1.7615941559557649) < 1e-12);
  assert.equal(npoWeight(-1e6, 0, 1), 0);
  assert.equal(npoWeight(1e6, 0, 1), 2);
});

test("npoLoss is (2/β)·log(1 + e^{β·Δ}), whose derivative in Δ is the NPO weight", () => {
  assert.equal(npoLoss(-10, -10, 0.1), 20 * Math.log(2));
  // Stable at both ends: (2/β)·βΔ for large Δ, 0 for very negative Δ.
  assert.ok(Math.abs(npoLoss(1e6, 0, 1) - 2e6) < 1e-6);
  assert.equal(npoLoss(-1e6, 0, 1), 0);
  for (const [cur, ref, beta] of [[-30, -10, 0.1], [-12, -10, 2], [-5, -40, 0.5]] as const) {
    const h = 1e-5;
    const slope = (npoLoss(cur + h, ref, beta) - npoLoss(cur - h, ref, beta)) / (2 * h);
    assert.ok(Math.abs(slope - npoWeight(cur, ref, beta)) < 1e-6, `${slope} vs ${npoWeight(cur, ref, beta)}`);
  }
});

test("npoNormalizer counts the targets of full blocks", () => {
  assert.equal(npoNormalizer(8, 256), 8 * 255);
});
