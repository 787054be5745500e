import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, EngineError, InputError } from "../../src/errors.js";
import { mapWithConcurrency } from "../../src/eval/concurrency.js";
import { fitPrompt } from "../../src/eval/generation.js";
import { WarningLog } from "../../src/eval/result.js";
import { batchedTokenLogprobs, joinAtSeam, scoreContinuations, splitIntoWindows } from "../../src/eval/scoring.js";
import { BigramModel, TOY_CORPUS } from "./fake-model.js";

const close = (actual: number, expected: number, eps = 1e-6) =>
  assert.ok(Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

test("joinAtSeam puts one delimiter between context and continuation", () => {
  assert.deepEqual(joinAtSeam("a b", "c"), { context: "a b", continuation: " c" });
  assert.deepEqual(joinAtSeam("q", " c"), { context: "q", continuation: " c" });
  assert.deepEqual(joinAtSeam("", "c"), { context: "", continuation: "c" });
});

test("joinAtSeam moves the context's trailing whitespace to the continuation", () => {
  assert.deepEqual(joinAtSeam("Question: x?\n", "Rub it."), { context: "Question: x?", continuation: "\nRub it." });
  assert.deepEqual(joinAtSeam("a ", "b"), { context: "a", continuation: " b" });
});

test("scoreContinuations: log p(continuation | context) summed over its tokens", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const warnings = new WarningLog();
  const [s] = await scoreContinuations(model, [{ context: "the cat", continuation: " sat on" }], { warnings });
  // p(sat | cat) = 1/2, p(on | sat) = 1/2.
  close(s!.logprob, Math.log(0.25));
  assert.equal(s!.tokens, 2);
  assert.equal(s!.truncated, false);
  assert.deepEqual(warnings.list(), []);
});

test("scoreContinuations: an over-long sequence is cut from the left, with a warning", async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 4 });
  const warnings = new WarningLog();
  const [s] = await scoreContinuations(model, [{ context: "the cat sat on the", continuation: " mat" }], {
    warnings,
    describe: () => "doc 7",
  });
  // <s> the cat sat on the mat → last 4 tokens: sat on the mat; p(mat | the) = 1/4.
  close(s!.logprob, Math.log(0.25));
  assert.equal(s!.truncated, true);
  assert.deepEqual(model.scoredBatches[0][0], model.tokenize("sat on the mat"));
  assert.equal(warnings.list().length, 1);
  assert.match(warnings.list()[0], /truncated from the left: doc 7/);
});

test("scoreContinuations: unscorable requests come back null with a warning", async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 4 });
  const warnings = new WarningLog();
  const scores = await scoreContinuations(
    model,
    [
      { context: "the", continuation: "   " },
      { context: "the", continuation: " cat sat on the" },
      { context: "the", continuation: " cat" },
    ],
    { warnings },
  );
  assert.equal(scores[0], null);
  assert.equal(scores[1], null);
  close(scores[2]!.logprob, Math.log(0.5));
  const text = warnings.list().join("\n");
  assert.match(text, /adds no tokens.*request 1/);
  assert.match(text, /fills the 4-token context.*request 2/);
});

test("scoreContinuations batches and keeps the request order", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const requests = [
    { context: "the", continuation: " cat" },
    { context: "the cat sat on", continuation: " the mat" },
    { context: "the", continuation: " dog" },
    { context: "the dog", continuation: " sat" },
    { context: "the cat", continuation: " ran ." },
  ];
  const progress: number[] = [];
  const scores = await scoreContinuations(model, requests, {
    warnings: new WarningLog(),
    batchSize: 2,
    onProgress: (done) => progress.push(done),
  });
  assert.equal(model.scoredBatches.length, 3);
  assert.deepEqual(progress, [2, 4, 5]);
  const expected = [0.5, 1 * 0.25, 0.25, 1, 0.5 * 1];
  scores.forEach((s, i) => close(s!.logprob, Math.log(expected[i])));
  // Longest sequences go first.
  assert.equal(model.scoredBatches[0][0].length, 7);
});

test("batchedTokenLogprobs rejects an engine reply of the wrong shape", async () => {
  const model = new BigramModel(TOY_CORPUS);
  model.tokenLogprobs = async (seqs) => seqs.map(() => new Float32Array(1));
  await assert.rejects(batchedTokenLogprobs(model, [[0, 1, 2]], {}), EngineError);
  model.tokenLogprobs = async () => [];
  await assert.rejects(batchedTokenLogprobs(model, [[0, 1]], {}), EngineError);
});

test("batchedTokenLogprobs stops when cancelled", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(batchedTokenLogprobs(model, [[0, 1]], { signal: controller.signal }), CancelledError);
});

test("splitIntoWindows overlaps windows by one token so each token is scored once", () => {
  assert.deepEqual(splitIntoWindows([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [3, 4, 5], [5, 6, 7]]);
  assert.deepEqual(splitIntoWindows([1, 2, 3, 4, 5, 6], 3), [[1, 2, 3], [3, 4, 5], [5, 6]]);
  assert.deepEqual(splitIntoWindows([1], 3), []);
  assert.throws(() => splitIntoWindows([1, 2], 1), EngineError);
});

test("fitPrompt keeps prompts that fit and cuts long ones from the left", () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 8 });
  const warnings = new WarningLog();
  assert.equal(fitPrompt(model, "the cat sat", 3, warnings, "p1"), "the cat sat");
  // 9 words + BOS = 10 > 8 - 3 = 5; BOS takes one, so the last 4 words stay.
  assert.equal(fitPrompt(model, "the cat sat on the mat . the cat", 3, warnings, "p2"), "mat . the cat");
  assert.equal(warnings.list().length, 1);
  assert.match(warnings.list()[0], /truncated from the left: p2/);
  assert.throws(() => fitPrompt(model, "the cat", 7, warnings, "p3"), InputError);
});

test("WarningLog folds repeats of a kind into one line", () => {
  const log = new WarningLog();
  log.add("too long", "line 3");
  log.add("too long", "line 9");
  log.add("bad gold", "line 4");
  assert.deepEqual(log.list(), ["too long (2 times; first: line 3)", "bad gold: line 4"]);
});

test("mapWithConcurrency keeps order and limits calls in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (x, i) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, x));
    inFlight--;
    return x * 10 + i;
  });
  assert.deepEqual(out, [50, 11, 42, 23, 34]);
  assert.equal(most, 2);
  assert.deepEqual(await mapWithConcurrency([], 3, async (x) => x), []);
});
