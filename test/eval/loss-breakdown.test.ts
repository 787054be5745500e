import { test } from "node:test";
import assert from "node:assert/strict";

import {
  classifyToken,
  corpusVocabulary,
  flattenSettings,
  isMidSentenceCapital,
  lossBreakdown,
  oneSettingPairs,
  summariseSettings,
  topTokenLosses,
  type ScoredToken,
  type SweepVariant,
} from "../../src/eval/loss-breakdown.js";

const close = (actual: number | null, expected: number, eps = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

// Word tokens: 80 occurrences. The two most frequent are `frequent`; " the" + " of" + " cat" + " sat"
// cover 75 ≥ 0.9 · 80 = 72 occurrences, so " mat" and " zyx" (and unseen words) are rare.
const COUNTS = new Map([
  [" the", 40],
  [",", 30],
  [" of", 20],
  ["\n", 10],
  [" cat", 10],
  [" sat", 5],
  [" mat", 3],
  [" zyx", 2],
]);
const vocabulary = corpusVocabulary(COUNTS, { frequentTop: 2, rareTailShare: 0.1 });

/** One position of each kind (two of some); log-probs are binary fractions, so sums are exact. */
const TOKENS: ScoredToken[] = [
  { text: "\n", preceding: " cat.", before: -1, after: -3 }, // newline, +2 nats
  { text: " ", preceding: "a", before: -0.5, after: -0.5 }, // space, 0
  { text: ",", preceding: " cat", before: -1, after: -2 }, // punctuation, +1
  { text: " the", preceding: " sat,", before: -0.5, after: -1 }, // frequent, +0.5
  { text: " of", preceding: " cat", before: -1, after: -1 }, // frequent, 0
  { text: " Bob", preceding: " met", before: -4, after: -8 }, // name (after a letter), +4
  { text: " Bob", preceding: " end.", before: -4, after: -5 }, // sentence start, unseen: rare, +1
  { text: " mat", preceding: " the", before: -3, after: -3.5 }, // rare, +0.5
  { text: " cat", preceding: " the", before: -2, after: -1 }, // word, −1
  { text: "42", preceding: " in", before: -2, after: -2 }, // word (a number), 0
];

test("corpus vocabulary: word tokens ranked by count, ties by text; the rare tail by occurrence share", () => {
  assert.deepEqual([...vocabulary.frequent], [" the", " of"]);
  assert.deepEqual([...vocabulary.common].sort(), [" cat", " of", " sat", " the"]);
  const tied = corpusVocabulary(new Map([[" b", 5], [" a", 5], ["!", 9]]), { frequentTop: 1, rareTailShare: 0 });
  assert.deepEqual([...tied.frequent], [" a"]);
  assert.deepEqual([...tied.common].sort(), [" a", " b"]);
  assert.throws(() => corpusVocabulary(COUNTS, { rareTailShare: 1 }), RangeError);
});

test("a capital starts a name only mid-sentence, on the same line, at the start of a word", () => {
  assert.equal(isMidSentenceCapital(" Bob", " met"), true);
  assert.equal(isMidSentenceCapital(" Bob", " said,"), true);
  assert.equal(isMidSentenceCapital("Bob", "and "), true);
  assert.equal(isMidSentenceCapital(" Bob", "the end."), false);
  assert.equal(isMidSentenceCapital(" Bob", 'said "'), false);
  assert.equal(isMidSentenceCapital("\nBob", "met"), false);
  assert.equal(isMidSentenceCapital(" Bob", "met\n"), false);
  assert.equal(isMidSentenceCapital(" Bob", ""), false);
  assert.equal(isMidSentenceCapital("Bob", "Mc"), false); // a piece glued to a word
  assert.equal(isMidSentenceCapital(" bob", " met"), false);
});

test("token kinds: the first matching kind wins", () => {
  const kinds = TOKENS.map((t) => classifyToken(t.text, t.preceding, vocabulary));
  assert.deepEqual(kinds, ["newline", "space", "punctuation", "frequent", "frequent", "name", "rare", "rare", "word", "word"]);
  assert.equal(classifyToken("", "x", vocabulary), "space");
  assert.equal(classifyToken(" \t", "x", vocabulary), "space");
  assert.equal(classifyToken(".\n", "x", vocabulary), "punctuation");
  // A frequent capitalised token stays frequent even mid-sentence.
  const capital = corpusVocabulary(new Map([[" I", 9]]), { frequentTop: 1 });
  assert.equal(classifyToken(" I", "and", capital), "frequent");
});

test("loss breakdown: per kind count, means, nats lost and their share; contributions add up to ln(ppl ratio)", () => {
  const b = lossBreakdown(TOKENS, vocabulary);
  assert.equal(b.positions, 10);
  assert.equal(b.ppl_before, Math.exp(1.9));
  assert.equal(b.ppl_after, Math.exp(2.7));
  assert.equal(b.ppl_gold, null);
  assert.equal(b.loss_increase_nats, 8);
  const row = (kind: string, count: number, before: number, after: number, nats: number) => ({
    kind,
    count,
    share: count / 10,
    mean_logprob_before: before,
    mean_logprob_after: after,
    mean_logprob_gold: null,
    loss_increase_nats: nats,
    mean_loss_increase: nats / count,
    share_of_increase: nats / 8,
    log_ppl_contribution: nats / 10,
  });
  assert.deepEqual(b.kinds, [
    row("newline", 1, -1, -3, 2),
    row("space", 1, -0.5, -0.5, 0),
    row("punctuation", 1, -1, -2, 1),
    row("frequent", 2, -0.75, -1, 0.5),
    row("name", 1, -4, -8, 4),
    row("rare", 2, -3.5, -4.25, 1.5),
    row("word", 2, -2, -1.5, -1),
  ]);
  assert.deepEqual(
    b.kinds.map((k) => k.share_of_increase),
    [0.25, 0, 0.125, 0.0625, 0.5, 0.1875, -0.125],
  );
  close(
    b.kinds.reduce((s, k) => s + k.log_ppl_contribution, 0),
    Math.log(b.ppl_after! / b.ppl_before!),
  );
});

test("loss breakdown: gold log-probs give per-kind gold means and the gold perplexity; empty kinds and input", () => {
  const tokens: ScoredToken[] = [
    { text: " the", preceding: "x", before: -1, after: -2, gold: -1.5 },
    { text: " the", preceding: "x", before: -1, after: -1, gold: -0.5 },
    { text: ".", preceding: "x", before: -2, after: -1, gold: -2 },
  ];
  const b = lossBreakdown(tokens, vocabulary);
  assert.equal(b.ppl_gold, Math.exp(4 / 3));
  assert.equal(b.loss_increase_nats, 0);
  const frequent = b.kinds.find((k) => k.kind === "frequent")!;
  assert.equal(frequent.mean_logprob_gold, -1);
  assert.equal(frequent.share_of_increase, null); // the whole increase is 0
  const name = b.kinds.find((k) => k.kind === "name")!;
  assert.deepEqual([name.count, name.share, name.mean_logprob_before, name.mean_loss_increase], [0, 0, null, null]);

  const empty = lossBreakdown([], vocabulary);
  assert.deepEqual([empty.positions, empty.ppl_before, empty.ppl_after, empty.ppl_gold], [0, null, null, null]);
  assert.equal(empty.kinds.length, 7);
});

test("top token losses: grouped by text, most nats lost first", () => {
  assert.deepEqual(topTokenLosses(TOKENS, vocabulary, 3), [
    { text: " Bob", kind: "name", count: 2, mean_logprob_before: -4, mean_logprob_after: -6.5, loss_increase_nats: 5 },
    { text: "\n", kind: "newline", count: 1, mean_logprob_before: -1, mean_logprob_after: -3, loss_increase_nats: 2 },
    { text: ",", kind: "punctuation", count: 1, mean_logprob_before: -1, mean_logprob_after: -2, loss_increase_nats: 1 },
  ]);
});

test("flattened settings: dotted paths to leaves", () => {
  assert.deepEqual(flattenSettings({ a: { b: 1, c: { d: true } }, e: [1, 2], f: null }), { "a.b": 1, "a.c.d": true, e: [1, 2], f: null });
  assert.deepEqual(flattenSettings(undefined), {});
});

test("one-setting pairs: found from the overrides, oriented low to high (unset lowest), with metric deltas and ratios", () => {
  const v = (labels: object, lr: number, ppl: number, familiarity: number | null): SweepVariant => ({
    overrides: { labels, finetune: { lr } },
    metrics: { ppl_retain: ppl, familiarity },
  });
  const variants: Record<string, SweepVariant> = {
    a: v({ alpha: 5, topK: 1 }, 1e-3, 100, 0.5),
    b: v({ alpha: 5, topK: 1 }, 3e-3, 150, 0.25),
    c: v({ alpha: 5, topK: 16 }, 1e-3, 120, null),
    d: v({ alpha: 5 }, 1e-3, 80, 0.75),
    e: v({ alpha: 20, topK: 16 }, 3e-3, 90, 0), // two settings away from every other variant
  };
  const metrics = ["ppl_retain", "familiarity"];
  const pairs = oneSettingPairs(variants, metrics);
  assert.deepEqual(pairs, [
    {
      setting: "finetune.lr",
      from: { variant: "a", value: 1e-3 },
      to: { variant: "b", value: 3e-3 },
      delta: { ppl_retain: 50, familiarity: -0.25 },
      ratio: { ppl_retain: 1.5, familiarity: 0.5 },
    },
    {
      setting: "labels.topK",
      from: { variant: "a", value: 1 },
      to: { variant: "c", value: 16 },
      delta: { ppl_retain: 20, familiarity: null },
      ratio: { ppl_retain: 1.2, familiarity: null },
    },
    {
      setting: "labels.topK",
      from: { variant: "d", value: null },
      to: { variant: "a", value: 1 },
      delta: { ppl_retain: 20, familiarity: -0.25 },
      ratio: { ppl_retain: 1.25, familiarity: 2 / 3 },
    },
    {
      setting: "labels.topK",
      from: { variant: "d", value: null },
      to: { variant: "c", value: 16 },
      delta: { ppl_retain: 40, familiarity: null },
      ratio: { ppl_retain: 1.5, familiarity: null },
    },
  ]);

  const summary = summariseSettings(pairs, metrics);
  assert.deepEqual(Object.keys(summary), ["finetune.lr", "labels.topK"]);
  assert.deepEqual(summary["finetune.lr"], { pairs: 1, mean_delta: { ppl_retain: 50, familiarity: -0.25 }, mean_ratio: { ppl_retain: 1.5, familiarity: 0.5 } });
  const topK = summary["labels.topK"]!;
  assert.equal(topK.pairs, 3);
  assert.equal(topK.mean_delta.ppl_retain, 80 / 3);
  assert.equal(topK.mean_delta.familiarity, -0.25);
  close(topK.mean_ratio.ppl_retain, (1.2 + 1.25 + 1.5) / 3);
  assert.equal(topK.mean_ratio.familiarity, 2 / 3);
});

test("one-setting pairs: booleans false before true, no pairs among identical variants", () => {
  const variants: Record<string, SweepVariant> = {
    on: { overrides: { labels: { suppressAnchors: true } }, metrics: { ppl_retain: 2 } },
    off: { overrides: { labels: { suppressAnchors: false } }, metrics: { ppl_retain: 3 } },
    same: { overrides: { labels: { suppressAnchors: true } }, metrics: { ppl_retain: 4 } },
  };
  const pairs = oneSettingPairs(variants, ["ppl_retain"]);
  assert.deepEqual(
    pairs.map((p) => [p.from.variant, p.to.variant, p.delta.ppl_retain]),
    [
      ["off", "on", -1],
      ["off", "same", 1],
    ],
  );
});
