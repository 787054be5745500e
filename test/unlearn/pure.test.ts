import { test } from "node:test";
import assert from "node:assert/strict";
import { batchIndices, checkCorpusLength, permutation, tokenBlocks } from "../../src/corpus/blocks.js";
import { npoLoss, npoNormalizer, npoWeight } from "../../src/unlearn/maths/npo.js";
import { negateTaskVector } from "../../src/unlearn/maths/task-vector.js";
import { decodeBlocks, encodeBlock } from "../../src/unlearn/whp/labels-file.js";
import { decodeOptimizerState, encodeOptimizerState } from "../../src/unlearn/checkpoint.js";
import { corpusChunks, parseLlmAnchors } from "../../src/unlearn/whp/llm-anchors.js";
import { labelledBatch } from "../../src/unlearn/stages/finetune.js";
import { FileFormatError, InputError } from "../../src/errors.js";

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

test("negateTaskVector: θ_base − β(θ_reinforced − θ_base)", () => {
  const out = negateTaskVector(Float32Array.of(1, 2, -1), Float32Array.of(2, 2, 1), 0.5);
  assert.deepEqual([...out], [0.5, 2, -2]);
  assert.throws(() => negateTaskVector(Float32Array.of(1), Float32Array.of(1, 2), 1), InputError);
});

test("tokenBlocks: documents joined by EOS, BOS first, cut to the block size, short tail dropped", () => {
  const encode = (t: string) => [...t].map((c) => c.charCodeAt(0) - 96);
  // "abcdef" + EOS(0), "gh" + EOS → 1 2 3 4 5 6 0 7 8 0; body 3 → [1 2 3] [4 5 6] [0 7 8] [0]
  const blocks = tokenBlocks([{ text: "abcdef" }, { text: "gh" }], encode, { bosId: 99, eosId: 0 }, 4);
  assert.deepEqual(blocks, [
    [99, 1, 2, 3],
    [99, 4, 5, 6],
    [99, 0, 7, 8],
  ]);
  const noBos = tokenBlocks([{ text: "abcde" }], encode, { bosId: -1, eosId: -1 }, 2);
  assert.deepEqual(noBos, [[1, 2], [3, 4]]);
});

test("checkCorpusLength refuses a corpus shorter than one block", () => {
  assert.throws(() => checkCorpusLength(100, 512, "forget"), (e: unknown) => e instanceof InputError && /100 tokens.*512/.test(e.message));
  checkCorpusLength(512, 512, "forget");
});

test("batchIndices visits every block once per epoch, deterministically", () => {
  const n = 10;
  const epoch0 = [0, 1, 2, 3, 4].flatMap((s) => batchIndices(n, 2, s, 7));
  assert.deepEqual([...epoch0].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(batchIndices(n, 2, 3, 7), batchIndices(n, 2, 3, 7));
  assert.notDeepEqual([...permutation(n, 7, 0)], [...permutation(n, 7, 1)]);
});

test("labels file round trip, and truncation is a FileFormatError", () => {
  const block = { tokens: Int32Array.of(5, 6, 7), labels: { target: Int32Array.of(-1, 9, -1), weight: Float32Array.of(0, 1, 0) } };
  const bytes = Buffer.concat([encodeBlock(block), encodeBlock(block)]);
  const back = decodeBlocks(bytes, "labels.bin");
  assert.equal(back.length, 2);
  assert.deepEqual([...back[1]!.tokens], [5, 6, 7]);
  assert.deepEqual([...back[1]!.labels.target], [-1, 9, -1]);
  assert.throws(() => decodeBlocks(bytes.subarray(0, bytes.length - 3), "labels.bin"), FileFormatError);
});

test("labelledBatch puts labels as targets and masks unlabelled positions and padding", () => {
  const block = { tokens: Int32Array.of(5, 6, 7), labels: { target: Int32Array.of(-1, 9, -1), weight: Float32Array.of(0, 1, 0) } };
  const b = labelledBatch([block], 4);
  assert.deepEqual([...b.tokens], [5, 6, 7, 0]);
  assert.deepEqual([...b.targets], [0, 9, 0, 0]);
  assert.deepEqual([...b.weights], [0, 1, 0, 0]);
});

test("labelledBatch carries soft labels' K pairs per position, and refuses mixed K", () => {
  const soft = { tokens: Int32Array.of(5, 6), labels: { target: Int32Array.of(9, 4, -1, -1), weight: Float32Array.of(0.75, 0.25, 0, 0), k: 2 } };
  const b = labelledBatch([soft], 3);
  assert.equal(b.K, 2);
  assert.deepEqual([...b.tokens], [5, 6, 0]);
  assert.deepEqual([...b.targets], [9, 4, 0, 0, 0, 0]);
  assert.deepEqual([...b.weights], [0.75, 0.25, 0, 0, 0, 0]);
  const hard = { tokens: Int32Array.of(5, 6), labels: { target: Int32Array.of(9, -1), weight: Float32Array.of(1, 0) } };
  assert.throws(() => labelledBatch([soft, hard], 3), FileFormatError);
});

test("optimizer state round trip", () => {
  const state = { step: 3, moments: { b: [Float32Array.of(1, 2), Float32Array.of(3, 4)] as [Float32Array, Float32Array], a: [Float32Array.of(5), Float32Array.of(6)] as [Float32Array, Float32Array] } };
  const back = decodeOptimizerState(encodeOptimizerState(state), "opt.bin");
  assert.equal(back.step, 3);
  assert.deepEqual([...back.moments.b![1]], [3, 4]);
  assert.deepEqual([...back.moments.a![0]], [5]);
  assert.throws(() => decodeOptimizerState(encodeOptimizerState(state).subarray(0, 30), "opt.bin"), FileFormatError);
});

test("parseLlmAnchors takes the first JSON object of an answer and skips unusable pairs", () => {
  const answer = 'Sure!\n```json\n{"Hogwarts": "Mystic Academy", "Ron": ["Tom", 3], "Harry": "Harry", "": "x", "Quidditch": 5}\n```';
  const d = parseLlmAnchors(answer);
  assert.deepEqual(
    d.map((e) => [e.term, e.generics, e.source]),
    [
      ["Hogwarts", ["Mystic Academy"], "llm"],
      ["Ron", ["Tom"], "llm"],
    ],
  );
  assert.deepEqual(parseLlmAnchors("no json here"), []);
});

test("corpusChunks cuts at paragraph breaks and spreads a capped number of chunks", () => {
  const text = "a".repeat(300) + "\n\n" + "b".repeat(300);
  assert.deepEqual(corpusChunks([{ text }], 400, 10).map((c) => c.length), [300, 302]);
  const many = corpusChunks([{ text: "x".repeat(1000) }], 200, 2);
  assert.equal(many.length, 2);
});
