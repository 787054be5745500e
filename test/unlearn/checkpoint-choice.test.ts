import assert from "node:assert/strict";
import test from "node:test";

import { chooseCheckpoint, isBetterCheckpoint, withinTolerance } from "../../src/unlearn/checkpoint-choice.js";

const point = (step: number, retainPpl: number, forgetProbability: number) => ({ step, retainPpl, forgetProbability });

test("chooseCheckpoint keeps the most forgetting within the perplexity tolerance", () => {
  const points = [point(0, 100, 0.5), point(25, 102, 0.2), point(50, 104.9, 0.05), point(75, 110, 0.01), point(100, 103, 0.1)];
  assert.equal(chooseCheckpoint(points, 0.05)?.step, 50);
  // A looser tolerance admits step 75; a tighter one only steps 25 and 100, and 100 forgot more.
  assert.equal(chooseCheckpoint(points, 0.2)?.step, 75);
  assert.equal(chooseCheckpoint(points, 0.03)?.step, 100);
  assert.equal(chooseCheckpoint(points, 0.021)?.step, 25);
  // Nothing within tolerance: the start stays.
  assert.equal(chooseCheckpoint([point(0, 100, 0.5), point(25, 200, 0.01)], 0.05)?.step, 0);
  assert.equal(chooseCheckpoint([], 0.05), undefined);
});

test("isBetterCheckpoint needs both: within tolerance and less of the forget text", () => {
  const start = point(0, 100, 0.5);
  assert.equal(withinTolerance(point(10, 105, 0.1), start, 0.05), true);
  assert.equal(withinTolerance(point(10, 105.01, 0.1), start, 0.05), false);
  assert.equal(isBetterCheckpoint(point(10, 101, 0.6), start, start, 0.05), false);
  assert.equal(isBetterCheckpoint(point(10, 101, 0.4), start, start, 0.05), true);
});
