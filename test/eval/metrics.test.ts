import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { rocAuc } from "../../src/eval/metrics/auc.js";
import { argmax, scoreChoices } from "../../src/eval/metrics/choice.js";
import { aggregateFamiliarity } from "../../src/eval/metrics/familiarity.js";
import { minKPercentProb } from "../../src/eval/metrics/min-k.js";
import { bitsPerByte, perplexity, sumLogprobs } from "../../src/eval/metrics/perplexity.js";
import { lcsLength, rougeL, rougeTokens } from "../../src/eval/metrics/rouge.js";
import { mean, standardError } from "../../src/eval/metrics/stats.js";

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

test("rouge tokens: lower-cased, split on anything outside [a-z0-9], as rouge-score does", () => {
  assert.deepEqual(rougeTokens("Dorothy's dog, Toto!"), ["dorothy", "s", "dog", "toto"]);
  assert.deepEqual(rougeTokens("Ünïcode café 42"), ["n", "code", "caf", "42"]);
  assert.deepEqual(rougeTokens("  ...  "), []);
});

test("LCS length of token lists", () => {
  assert.equal(lcsLength(["a", "b", "c", "d"], ["b", "d", "e"]), 2);
  assert.equal(lcsLength([], ["a"]), 0);
  assert.equal(lcsLength(["x", "y"], ["y", "x"]), 1);
});

test("ROUGE-L: equal lengths, LCS 5 of 6 gives 5/6 everywhere", () => {
  const s = rougeL("The cat sat on the mat", "the cat is on the mat");
  close(s.precision, 5 / 6);
  close(s.recall, 5 / 6);
  close(s.f1, 5 / 6);
});

test("ROUGE-L: precision over prediction, recall over reference, F1 harmonic mean", () => {
  // LCS("a b c d", "b d e") = "b d": P = 2/4, R = 2/3, F1 = 2·(1/2)(2/3)/(1/2 + 2/3) = 4/7.
  const s = rougeL("a b c d", "b d e");
  close(s.precision, 0.5);
  close(s.recall, 2 / 3);
  close(s.f1, 4 / 7);
});

test("ROUGE-L: an empty side or no overlap scores 0", () => {
  assert.deepEqual(rougeL("", "abc"), { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(rougeL("abc", "!!"), { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(rougeL("x y", "z"), { precision: 0, recall: 0, f1: 0 });
});

test("Min-K% Prob: mean of the floor(n·K) lowest log-probs, at least one", () => {
  close(minKPercentProb([-1, -2, -3, -4, -5]), -4.5); // 40% of 5 = 2 lowest: -5, -4
  close(minKPercentProb([-3, -1, -5, -2, -4], 0.6), -4); // 3 lowest: -5, -4, -3
  close(minKPercentProb([-1, -2, -3, -4, -5], 0.1), -5); // floor(0.5) = 0 → 1 token
  close(minKPercentProb(Float32Array.from([-0.5])), -0.5);
  close(minKPercentProb([-1, -2], 1), -1.5);
});

test("Min-K% Prob rejects bad ratios and empty input", () => {
  assert.throws(() => minKPercentProb([-1], 0), InputError);
  assert.throws(() => minKPercentProb([-1], 1.5), InputError);
  assert.throws(() => minKPercentProb([]), InputError);
});

test("ROC AUC: pairwise wins, ties count half", () => {
  // (3,1) (3,2) (2,1) win, (2,2) ties: 3.5 / 4.
  close(rocAuc([3, 2], [1, 2]), 0.875);
  // 0.9 beats 3; 0.4 beats 0.1, ties 0.4, loses to 0.7: (3 + 1.5) / 6.
  close(rocAuc([0.9, 0.4], [0.7, 0.4, 0.1]), 0.75);
  close(rocAuc([1], [2]), 0);
  close(rocAuc([5, 5], [5, 5, 5]), 0.5);
  close(rocAuc([2, 3], [0, 1]), 1);
});

test("ROC AUC needs both classes and no NaN", () => {
  assert.throws(() => rocAuc([], [1]), InputError);
  assert.throws(() => rocAuc([1], []), InputError);
  assert.throws(() => rocAuc([NaN], [1]), InputError);
});

test("multiple choice: acc takes the raw argmax, acc_norm the per-character one", () => {
  // Raw: -9 wins (choice 2). Per character: -2, -1.2, -4.5 → choice 1 wins.
  assert.deepEqual(scoreChoices({ logLikelihoods: [-10, -12, -9], choiceLengths: [5, 10, 2], gold: 1 }), { acc: 0, accNorm: 1 });
  assert.deepEqual(scoreChoices({ logLikelihoods: [-10, -12, -9], choiceLengths: [5, 10, 2], gold: 2 }), { acc: 1, accNorm: 0 });
});

test("multiple choice: ties go to the first choice, like numpy argmax", () => {
  assert.equal(argmax([-1, -1]), 0);
  assert.deepEqual(scoreChoices({ logLikelihoods: [-1, -1], choiceLengths: [1, 1], gold: 0 }), { acc: 1, accNorm: 1 });
  assert.deepEqual(scoreChoices({ logLikelihoods: [-1, -1], choiceLengths: [1, 1], gold: 1 }), { acc: 0, accNorm: 0 });
});

test("multiple choice rejects inconsistent documents", () => {
  assert.throws(() => scoreChoices({ logLikelihoods: [-1, -2], choiceLengths: [1], gold: 0 }), InputError);
  assert.throws(() => scoreChoices({ logLikelihoods: [-1, -2], choiceLengths: [1, 1], gold: 2 }), InputError);
  assert.throws(() => scoreChoices({ logLikelihoods: [], choiceLengths: [], gold: 0 }), InputError);
});

test("perplexity and bits per byte from log-probs", () => {
  // Probabilities 1/2, 1/4, 1/2: product 1/16 over 3 tokens → perplexity 16^(1/3); 4 bits over 3 bytes.
  const totals = sumLogprobs([[Math.log(0.5), Math.log(0.25)], Float32Array.from([Math.log(0.5)])]);
  assert.equal(totals.tokens, 3);
  close(totals.logprobSum, Math.log(1 / 16), 1e-6);
  close(perplexity(totals), Math.cbrt(16), 1e-6);
  close(bitsPerByte(totals, 3), 4 / 3, 1e-6);
  assert.throws(() => perplexity({ logprobSum: 0, tokens: 0 }), InputError);
  assert.throws(() => bitsPerByte(totals, 0), InputError);
});

test("mean and standard error (sample variance)", () => {
  close(mean([1, 0, 1, 1]), 0.75);
  // Sample variance of [1,0,1,1] is 0.75/3 = 0.25; SE = sqrt(0.25/4) = 0.25.
  close(standardError([1, 0, 1, 1]), 0.25);
  assert.ok(Number.isNaN(mean([])));
  assert.ok(Number.isNaN(standardError([1])));
});

test("familiarity aggregation: failures excluded, paper weighting and share ≥ 2", () => {
  const s = aggregateFamiliarity([3, 2, 0, null, 1, 0]);
  assert.equal(s.judged, 5);
  assert.equal(s.failures, 1);
  assert.deepEqual(s.histogram, [2, 1, 1, 1]);
  close(s.meanScore!, 6 / 5);
  close(s.familiarity!, 0.4);
  close(s.paperFamiliarity!, (5 * 1 + 1) / 25);
  close(s.shareAtLeast2!, 2 / 5);
});

test("familiarity aggregation: nothing judged gives nulls, not zeros", () => {
  const s = aggregateFamiliarity([null, null]);
  assert.equal(s.judged, 0);
  assert.equal(s.failures, 2);
  assert.equal(s.familiarity, null);
  assert.equal(s.meanScore, null);
  assert.equal(s.paperFamiliarity, null);
  assert.equal(s.shareAtLeast2, null);
});
