import { test } from "node:test";
import assert from "node:assert/strict";
import { anchorTokens, buildLabels, distributionLabels, sampleTail, topTokens, labelStats } from "../../../src/unlearn/whp/labels.js";
import { combineGeneric, observedRise } from "../../../src/unlearn/maths/generic-logits.js";
import { decodeLabels, encodeLabels } from "../../../src/unlearn/whp/labels-file.js";
import { SeededRandom } from "../../../src/util/random.js";
import { AnchorMatcher, translateBlock, type Alignment } from "../../../src/unlearn/whp/translate.js";
import { FileFormatError, InputError } from "../../../src/errors.js";
import { FakeTokenizer } from "./fake-tokenizer.js";

test("combineGeneric: v_base − α·ReLU(v_reinforced − v_base)", () => {
  const base = Float32Array.of(1, 0, 2, 0.5, -1, 3);
  const reinforced = Float32Array.of(1, 0, 3, 0, 1, 2);
  // Differences 0, 0, 1, −0.5, 2, −1 → ReLU 0, 0, 1, 0, 2, 0.
  assert.deepEqual([...combineGeneric(base, reinforced, 3, 2)], [1, 0, 0, 0.5, -5, 3]);
  assert.deepEqual([...combineGeneric(base, reinforced, 3, 0.5)], [1, 0, 1.5, 0.5, -2, 3]);
  assert.throws(() => combineGeneric(base, reinforced.subarray(0, 3), 3, 1), InputError);
  assert.throws(() => combineGeneric(base, reinforced, 4, 1), InputError);
  assert.throws(() => combineGeneric(base, reinforced, 3, -1), InputError);
});

/**
 * Vocabulary A=0 B=1 C=2 D=3. Original "A C B A C B": C is a one-token anchor (twice), translated to D.
 */
function handAlignment(): Alignment {
  return {
    original: [0, 2, 1, 0, 2, 1],
    translated: [0, 3, 1, 0, 3, 1],
    anchors: [
      { term: "C", generic: "D", origStart: 1, origEnd: 2, transStart: 1, transEnd: 2, firstOccurrence: true },
      { term: "C", generic: "D", origStart: 4, origEnd: 5, transStart: 4, transEnd: 5, firstOccurrence: false },
    ],
    map: Int32Array.of(0, 1, 2, 3, 4, 5),
    translatedText: "A D B A D B",
  };
}

test("buildLabels: a hand-computed example with ReLU, α, argmax, suppression and masks", () => {
  const alpha = 2;
  // prettier-ignore
  const baseLogits = Float32Array.of(
    1,   0,   2, 0.5, // t0
    0.5, 2,   0, 1,   // t1
    0,   1.5, 0, 3,   // t2
    9,   9,   9, 9,   // t3 (masked: before the repeated anchor)
    3,   1,   0, 0,   // t4
    9,   9,   9, 9,   // t5 (masked: last position)
  );
  // prettier-ignore
  const reinforcedLogits = Float32Array.of(
    1, 0, 3, 0, // o0
    0, 3, 0, 1, // o1
    0, 1, 0, 2, // o2
    0, 0, 0, 0, // o3
    5, 1, 0, 0, // o4
    0, 0, 0, 0, // o5
  );
  const labels = buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits, vocab: 4, alpha });
  // o0: ReLU(o0 − t0) = [0,0,1,0]; v = [1, 0, 2 − 2·1, 0.5] = [1, 0, 0, 0.5]; D not used yet → argmax A.
  //     (Without the reinforcement term the label would be the anchor C.)
  // o1: last token of the first anchor; ReLU = [0,1,0,0]; v = [0.5, 0, 0, 1]; D (generic's first token)
  //     is suppressed from here on: mean 1.5/4 = 0.375 → [0.5, 0, 0, 0.375] → A.
  // o2: ReLU = 0; v = [0, 1.5, 0, 3]; suppress D to mean 4.5/4 = 1.125 → [0, 1.5, 0, 1.125] → B.
  // o3: right before the repeated anchor → no label.
  // o4: ReLU = [2,0,0,0]; v = [3 − 4, 1, 0, 0] = [−1, 1, 0, 0]; D → mean 0 → B.
  // o5: last position → no label.
  assert.deepEqual([...labels.target], [0, 0, 1, -1, 1, -1]);
  assert.deepEqual([...labels.weight], [1, 1, 1, 0, 1, 0]);
});

test("buildLabels: no labels inside anchors, masks before repeats, v_base read at the mapped position", () => {
  const tok = new FakeTokenizer();
  const matcher = new AnchorMatcher([{ term: "Hogwarts", generics: ["Mystic Academy"], source: "user" }]);
  const alignment = translateBlock("to Hogwarts and to Hogwarts now", matcher, tok.encode);
  assert.deepEqual(alignment.original.map(tok.decode), ["to", " Hog", "war", "ts", " and", " to", " Hog", "war", "ts", " now"]);
  // Each translated position t votes for token 100 + t, so the target reveals which row was used.
  const vocab = 120;
  const base = new Float32Array(alignment.translated.length * vocab);
  for (let t = 0; t < alignment.translated.length; t++) base[t * vocab + 100 + t] = 1;
  const reinforced = new Float32Array(alignment.original.length * vocab);
  const labels = buildLabels({ alignment, baseLogits: base, reinforcedLogits: reinforced, vocab, alpha: 1 });
  // Translated: to | Mys tic Aca dem y | and | to | Mys tic Aca dem y | now  (positions 0..13)
  assert.deepEqual([...labels.target], [100, -1, -1, 105, 106, -1, -1, -1, 112, -1]);
  assert.deepEqual([...labels.weight], [1, 0, 0, 1, 1, 0, 0, 0, 1, 0]);
});

test("anchorTokens: the anchors' own first tokens, not shared ones nor the generics'", () => {
  // C starts both anchors and occurs nowhere else → suppressed; A and B are ordinary tokens.
  assert.deepEqual([...anchorTokens([handAlignment()])], [2]);
  // Add a block where C occurs three times outside any anchor: 2 of 5 occurrences start an anchor.
  const plain: Alignment = { original: [2, 2, 2], translated: [2, 2, 2], anchors: [], map: Int32Array.of(0, 1, 2), translatedText: "C C C" };
  assert.deepEqual([...anchorTokens([handAlignment(), plain])], []);
  assert.deepEqual([...anchorTokens([handAlignment(), plain], 0.4)], [2]);
  // A token that also starts a generic is never suppressed: the labels need it.
  const selfGeneric = handAlignment();
  selfGeneric.translated = [0, 2, 1, 0, 2, 1];
  assert.deepEqual([...anchorTokens([selfGeneric])], []);
});

test("buildLabels: suppressed tokens lose every argmax", () => {
  // prettier-ignore
  const baseLogits = Float32Array.of(
    1, 0, 2, 0.5,  0.5, 2, 0, 1,  0, 1.5, 3, 0,  0, 0, 0, 0,  3, 1, 0, 0,  0, 0, 0, 0,
  );
  const reinforcedLogits = baseLogits.slice();
  const plain = buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits, vocab: 4, alpha: 0 });
  // Without suppression the base's own favourite, the anchor C (2), wins at o0 and o2.
  assert.deepEqual([...plain.target], [2, 1, 2, -1, 0, -1]);
  const suppressed = buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits, vocab: 4, alpha: 0, suppress: new Set([2]) });
  // o0: C → mean 3.5/4 = 0.875 → A (1). o2: C → mean 4.5/4 = 1.125 → B (1.5).
  assert.deepEqual([...suppressed.target], [0, 1, 1, -1, 0, -1]);
});

test("topTokens: the k largest, largest first, lowest index on ties", () => {
  const row = Float32Array.of(1, 5, 3, 5, -2, 4);
  assert.deepEqual(topTokens(row, 1), [1]);
  assert.deepEqual(topTokens(row, 3), [1, 3, 5]);
  assert.deepEqual(topTokens(row, 6), [1, 3, 5, 2, 0, 4]);
});

test("buildLabels with topK: the K best generic tokens, weighted by softmax and renormalised", () => {
  // Same rows as the suppression test, α = 0, no suppression besides the generic D after o1.
  // prettier-ignore
  const baseLogits = Float32Array.of(
    1, 0, 2, 0.5,  0.5, 2, 0, 1,  0, 1.5, 3, 0,  0, 0, 0, 0,  3, 1, 0, 0,  0, 0, 0, 0,
  );
  const hard = buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits: baseLogits.slice(), vocab: 4, alpha: 0 });
  const soft = buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits: baseLogits.slice(), vocab: 4, alpha: 0, topK: 2 });
  assert.equal(soft.k, 2);
  assert.equal(soft.target.length, 12);
  // o0: row [1, 0, 2, 0.5] → C (2) then A (1): weights e^2 : e^1 renormalised.
  assert.deepEqual([...soft.target.subarray(0, 2)], [2, 0]);
  const pC = Math.exp(2) / (Math.exp(2) + Math.exp(1));
  assert.ok(Math.abs(soft.weight[0]! - pC) < 1e-6 && Math.abs(soft.weight[1]! - (1 - pC)) < 1e-6);
  // The first pair of every position is the argmax label; masked positions stay masked.
  for (let i = 0; i < 6; i++) assert.equal(soft.target[2 * i], hard.target[i]);
  assert.deepEqual([...soft.weight.subarray(6, 8)], [0, 0]);
  assert.throws(() => buildLabels({ alignment: handAlignment(), baseLogits, reinforcedLogits: baseLogits.slice(), vocab: 4, alpha: 0, topK: 0 }), InputError);
  // Soft labels survive the binary form, and hard labels keep their old bytes (K field 0).
  assert.deepEqual(decodeLabels(encodeLabels(soft)), { target: soft.target, weight: soft.weight, k: soft.k });
  assert.equal(new DataView(encodeLabels(hard).buffer).getUint32(12, true), 0);
  const s = labelStats(handAlignment().original, soft);
  assert.deepEqual([s.labelled, s.changed], [4, labelStats(handAlignment().original, hard).changed]);
});

test("buildLabels rejects logits of the wrong shape", () => {
  const alignment = handAlignment();
  const ok = new Float32Array(6 * 4);
  assert.throws(() => buildLabels({ alignment, baseLogits: new Float32Array(5 * 4), reinforcedLogits: ok, vocab: 4, alpha: 1 }), /base logits/);
  assert.throws(() => buildLabels({ alignment, baseLogits: ok, reinforcedLogits: new Float32Array(7 * 4), vocab: 4, alpha: 1 }), /reinforced logits/);
  assert.throws(() => buildLabels({ alignment, baseLogits: new Float32Array(6 * 3), reinforcedLogits: new Float32Array(6 * 3), vocab: 3, alpha: 1 }), /outside the vocabulary/);
});

test("labelStats counts changed labels and the most frequent changes", () => {
  const original = [5, 7, 5, 7, 5, 7, 8];
  // Next tokens at positions 0..5: 7 5 7 5 7 8.
  const labels = { target: Int32Array.of(2, 5, 2, 5, 2, 2, -1), weight: Float32Array.of(1, 1, 1, 1, 1, 1, 0) };
  const names: Record<number, string> = { 2: " Jon", 5: " the", 7: " Harry", 8: " Potter" };
  const stats = labelStats(original, labels, (t) => names[t]);
  assert.equal(stats.labelled, 6);
  assert.equal(stats.changed, 4);
  assert.equal(stats.changedShare, 4 / 6);
  assert.deepEqual(stats.topChanges, [
    { from: 7, to: 2, count: 3, fromText: " Harry", toText: " Jon" },
    { from: 8, to: 2, count: 1, fromText: " Potter", toText: " Jon" },
  ]);
  assert.deepEqual(labelStats(original, labels, undefined, 1).topChanges, [{ from: 7, to: 2, count: 3 }]);
  const none = labelStats([1, 2], { target: Int32Array.of(-1, -1), weight: Float32Array.of(0, 0) });
  assert.deepEqual(none, { labelled: 0, changed: 0, changedShare: 0, topChanges: [] });
});

test("labels survive a binary round trip; corrupt buffers are refused", () => {
  const labels = { target: Int32Array.of(3, -1, 70000, 0), weight: Float32Array.of(1, 0, 0.5, 1) };
  const bytes = encodeLabels(labels);
  assert.equal(bytes.length, 16 + 4 * 8);
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString("latin1"), "WHPL");
  assert.deepEqual([...bytes.subarray(4, 12)], [1, 0, 0, 0, 4, 0, 0, 0]);
  const back = decodeLabels(bytes);
  assert.deepEqual(back, labels);
  // Decoding a view into a larger buffer (as from a file read) works too.
  const padded = new Uint8Array(bytes.length + 8);
  padded.set(bytes, 8);
  assert.deepEqual(decodeLabels(padded.subarray(8)), labels);
  assert.deepEqual(decodeLabels(encodeLabels({ target: new Int32Array(0), weight: new Float32Array(0) })).target.length, 0);

  assert.throws(() => decodeLabels(bytes.subarray(0, bytes.length - 1), "block-3.labels"), (e: unknown) => e instanceof FileFormatError && /block-3\.labels.*truncated/.test(e.message));
  const wrongMagic = bytes.slice();
  wrongMagic[0] = 0;
  assert.throws(() => decodeLabels(wrongMagic), /magic/);
  const wrongVersion = bytes.slice();
  wrongVersion[4] = 9;
  assert.throws(() => decodeLabels(wrongVersion), /version 9/);
  assert.throws(() => decodeLabels(new Uint8Array(3)), FileFormatError);
  assert.throws(() => encodeLabels({ target: new Int32Array(2), weight: new Float32Array(1) }), InputError);
});

test("sampleTail: each token is drawn count · p / mass times in expectation, within one of it every time", () => {
  const p = Float64Array.of(0, 0.25, 0.15, 0, 0.1);
  const mass = 0.5;
  const totals = new Float64Array(p.length);
  for (let seed = 0; seed < 400; seed++) {
    const draws = sampleTail(p, mass, 8, new SeededRandom(seed));
    assert.equal(draws.length, 8);
    const counts = new Array<number>(p.length).fill(0);
    for (const t of draws) counts[t]!++;
    counts.forEach((c, t) => {
      assert.ok(Math.abs(c - (8 * p[t]!) / mass) < 1 + 1e-9, `token ${t} drawn ${c} times`);
      totals[t]! += c / 400;
    });
  }
  // Tokens without mass are never drawn; the others on average exactly in proportion.
  assert.deepEqual([totals[0], totals[3]], [0, 0]);
  for (const t of [1, 2, 4]) assert.ok(Math.abs(totals[t]! - (8 * p[t]!) / mass) < 0.05, `token ${t}: ${totals[t]}`);
  // No mass left (their weights are then 0 too): the draws fall on the largest entries.
  assert.deepEqual(sampleTail(Float64Array.of(0, 1e-20, 0), 1e-20, 2, new SeededRandom(1)), [1, 0]);
});

test("buildLabels with a tail: the top K keep their probabilities and the tail carries the rest, unbiased", () => {
  // One row of 6 tokens, every position mapped; α = 0 so the generic row is the base row.
  const vocab = 6;
  const alignment = { original: [0, 1, 2], translated: [0, 1, 2], map: Int32Array.of(0, 1, 2), anchors: [], translatedText: "" };
  const row = [2, 1, 0.5, 0, -1, -2];
  const baseLogits = Float32Array.from([...row, ...row, ...row]);
  const z = row.reduce((a, v) => a + Math.exp(v), 0);
  const p = row.map((v) => Math.exp(v) / z);
  const mean = new Array<number>(vocab).fill(0);
  const runs = 300;
  for (let seed = 0; seed < runs; seed++) {
    const labels = buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0, topK: 2, rules: { tail: 3 }, seed });
    assert.equal(labels.k, 5);
    // The top 2 with their own probabilities, not renormalised.
    assert.deepEqual([...labels.target.subarray(0, 2)], [0, 1]);
    assert.ok(Math.abs(labels.weight[0]! - p[0]!) < 1e-6 && Math.abs(labels.weight[1]! - p[1]!) < 1e-6);
    const total = [...labels.weight.subarray(0, 5)].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-6, `a position weighs ${total}`);
    for (let j = 0; j < 5; j++) mean[labels.target[j]!]! += labels.weight[j]! / runs;
    // The last position has no label.
    assert.deepEqual([...labels.weight.subarray(10, 15)], [0, 0, 0, 0, 0]);
  }
  // Averaged over draws the pairs are the whole distribution, so the expected gradient is the
  // cross-entropy's to softmax(v_generic).
  mean.forEach((m, t) => assert.ok(Math.abs(m - p[t]!) < 0.01, `token ${t}: ${m} vs ${p[t]}`));
  // A temperature flattens it: at T = 2 the top weight is smaller.
  const hot = buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0, topK: 2, rules: { tail: 3, temperature: 2 }, seed: 1 });
  assert.ok(hot.weight[0]! < p[0]! - 0.05);
  assert.throws(() => buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0, topK: 2, rules: { tail: 5 } }), InputError);
  assert.throws(() => buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0, rules: { temperature: 0 } }), InputError);
});

test("buildLabels keepOriginalAbove: the text's own token stays the label where the generic model finds it likely enough", () => {
  const vocab = 4;
  // Text 0 1 3 2: position 0 predicts 1, position 1 predicts 3, position 2 predicts 2.
  const alignment = { original: [0, 1, 3, 2], translated: [0, 1, 3, 2], map: Int32Array.of(0, 1, 2, 3), anchors: [], translatedText: "" };
  // prettier-ignore
  const baseLogits = Float32Array.of(
    0, 2, 2.2, 0,   // argmax 2, but the text's 1 has p ≈ 0.41
    3, 0, 0, -5,    // argmax 0; the text's 3 is unlikely
    0, 0, 0, 0,     // uniform: the text's 2 has p = 0.25
    0, 0, 0, 0,
  );
  const labels = buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0, rules: { keepOriginalAbove: 0.2 } });
  assert.deepEqual([...labels.target], [1, 0, 2, -1]);
  assert.deepEqual([...labels.weight], [1, 1, 1, 0]);
  assert.ok(Math.abs(labels.stats.originalProbability[0]! - Math.exp(2) / (2 + Math.exp(2) + Math.exp(2.2))) < 1e-6);
  assert.ok(Math.abs(labels.stats.entropy[2]! - Math.log(4)) < 1e-6);
  const plain = buildLabels({ alignment, baseLogits, reinforcedLogits: baseLogits.slice(), vocab, alpha: 0 });
  assert.deepEqual([...plain.target], [2, 0, 0, -1]);
});

test("distributionLabels: the model's own distribution as targets, the last position unlabelled", () => {
  const logits = Float32Array.of(1, 0, 0, 0, 3, 0, 9, 9, 9);
  const labels = distributionLabels(logits, [5, 6, 7], 3, 1, { tail: 2 }, 1);
  assert.equal(labels.k, 3);
  const p0 = Math.exp(1) / (Math.exp(1) + 2);
  assert.equal(labels.target[0], 0);
  assert.ok(Math.abs(labels.weight[0]! - p0) < 1e-6);
  assert.ok(Math.abs(labels.weight[1]! + labels.weight[2]! - (1 - p0)) < 1e-6);
  assert.equal(labels.target[3], 1);
  assert.deepEqual([...labels.weight.subarray(6)], [0, 0, 0]);
  assert.throws(() => distributionLabels(logits, [5, 6], 3, 1, {}, 1), InputError);
});

test("observedRise: the summed rise of the next token's logit, reinforced over base, over the positions that have one", () => {
  // Two tokens of a 3-token vocabulary read as [2, 0, 1]: row 0 predicts 0, row 1 predicts 1; row 2 has no next token.
  const base = Float32Array.of(0, 0, 0, 1, 1, 1, 9, 9, 9);
  const reinforced = Float32Array.of(2, 5, 5, 1, 0.5, 1, -9, -9, -9);
  assert.deepEqual(observedRise(base, reinforced, [2, 0, 1], 3), { sum: 2 + -0.5, count: 2 });
  assert.throws(() => observedRise(base, reinforced.subarray(0, 6), [2, 0, 1], 3), InputError);
  assert.throws(() => observedRise(base, reinforced, [2, 7, 1], 3), /outside the vocabulary/);
});

test("buildLabels riseBaseline: only the rise above the baseline is penalised", () => {
  // One labelled position over A B C, base logits [1, 2, 0]; reinforcement raised A and C by 2 and B by 3.
  const alignment: Alignment = { original: [0, 1], translated: [0, 1], anchors: [], map: Int32Array.of(0, 1), translatedText: "A B" };
  const baseLogits = Float32Array.of(1, 2, 0, 0, 0, 0);
  const reinforcedLogits = Float32Array.of(3, 5, 2, 0, 0, 0);
  const weights = (riseBaseline?: number) => {
    const l = buildLabels({ alignment, baseLogits, reinforcedLogits, vocab: 3, alpha: 5, topK: 3, riseBaseline });
    const w = [0, 0, 0];
    for (let j = 0; j < 3; j++) w[l.target[j]!] = l.weight[j]!;
    return w;
  };
  const softmax = (v: number[]) => v.map((x) => Math.exp(x) / v.reduce((s, y) => s + Math.exp(y), 0));
  const close = (a: number[], b: number[]) => a.forEach((x, j) => assert.ok(Math.abs(x - b[j]!) < 1e-6, `${a} vs ${b}`));
  close(weights(), softmax([1 - 5 * 2, 2 - 5 * 3, 0 - 5 * 2])); // the paper's rule
  close(weights(2), softmax([1, 2 - 5 * 1, 0])); // only B, which rose more than the rest, is pushed down
  close(weights(3), softmax([1, 2, 0])); // nothing rose more than the baseline: the base model's own row
  assert.throws(() => buildLabels({ alignment, baseLogits, reinforcedLogits, vocab: 3, alpha: 1, riseBaseline: NaN }), InputError);
});
