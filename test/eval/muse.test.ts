import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { firstAnswerLine, knowmemPrompt, privLeak, runMuse } from "../../src/eval/muse.js";
import { BigramModel, TOY_CORPUS } from "./fake-model.js";

const close = (actual: number | null | undefined, expected: number, eps = 1e-6) =>
  assert.ok(typeof actual === "number" && Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

test("KnowMem prompt: worked Question/Answer pairs, then the open question", () => {
  assert.equal(
    knowmemPrompt("Who?", [
      { question: "Q1", answer: "A1" },
      { question: "Q2", answer: "A2" },
    ]),
    "Question: Q1\nAnswer: A1\n\nQuestion: Q2\nAnswer: A2\n\nQuestion: Who?\nAnswer:",
  );
  assert.equal(knowmemPrompt("Who?", []), "Question: Who?\nAnswer:");
  assert.equal(firstAnswerLine("  the cat\n\nQuestion: next"), "the cat");
});

test("PrivLeak is the AUC's change relative to the gold model", () => {
  close(privLeak(0.125, 0.5), -0.75);
  close(privLeak(0.5, 0.5), 0);
  close(privLeak(0.6, 0.4), 0.5);
  assert.throws(() => privLeak(0.5, 0), InputError);
  assert.throws(() => privLeak(0.5, 1.2), InputError);
});

test("VerbMem: ROUGE-L F1 of greedy continuations against the true text cut to the same length", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const r = await runMuse(
    model,
    {
      verbatim: [
        // Greedy after "dog": sat on the — the truth cut to 3 tokens is "sat on the": F1 1.
        { prompt: "the dog", continuation: "sat on the cat" },
        // Greedy after "ran": ". the cat" → tokens the, cat; truth "away and home": F1 0.
        { prompt: "the cat ran", continuation: "away and home" },
      ],
    },
    { verbmemTokens: 3 },
  );
  close(r.metrics.verbmem_f, 0.5);
  assert.deepEqual(r.details!.verbmem.map((v) => v.rougeL), [1, 0]);
  assert.equal(r.details!.verbmem[0].output, " sat on the");
  assert.equal(r.metrics.knowmem_f, null);
  assert.equal(r.metrics.privleak, null);
  assert.ok(r.warnings.some((w) => w.startsWith("KnowMem on the forget set skipped")));
});

test("KnowMem: first answer line scored by ROUGE-L F1 on forget and retain QA", async () => {
  const model = new BigramModel("Question: who ? Answer: the cat ran .");
  const r = await runMuse(model, {
    forgetQa: [{ question: "who sat ?", answer: "the cat" }],
    retainQa: [{ question: "who ran ?", answer: "a dog" }],
    forgetFewShot: [{ question: "who ?", answer: "me" }],
  });
  // Both generate " the cat ran ." (P = 2/3, R = 1 against "the cat": F1 = 0.8; no overlap with "a dog").
  assert.equal(r.details!.knowmemForget[0].output, "the cat ran .");
  close(r.metrics.knowmem_f, 0.8);
  close(r.metrics.knowmem_r, 0);
  assert.match(model.generateCalls[0].prompt, /^Question: who \?\nAnswer: me\n\nQuestion: who sat \?\nAnswer:$/);
  assert.equal(model.generateCalls[0].opts.maxTokens, 32);
});

test("PrivLeak: Min-K% AUC of holdout over forget texts, relative to the gold AUC", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const inputs = {
    // Min-40%: "the cat sat on the mat" → mean(ln 1/4, ln 1/2) = -1.0397; "the cat ran ." → ln 1/2.
    forgetTexts: ["the cat sat on the mat", "the cat ran ."],
    // "the mat sat" → ln 0.001 (unseen pair); "the dog sat on the cat" → -1.0397 (ties the first forget text).
    holdoutTexts: ["the mat sat", "the dog sat on the cat"],
  };
  const r = await runMuse(model, { ...inputs, goldAuc: 0.5 });
  close(r.details!.minK.forget[0], (Math.log(0.25) + Math.log(0.5)) / 2, 1e-5);
  close(r.details!.minK.holdout[0], Math.log(0.001), 1e-5);
  // Holdout beats forget in no pair, ties once: 0.5 / 4.
  close(r.metrics.mia_auc, 0.125);
  close(r.metrics.privleak, -0.75);

  const noGold = await runMuse(model, inputs);
  close(noGold.metrics.mia_auc, 0.125);
  assert.equal(noGold.metrics.privleak, null);
  assert.ok(noGold.warnings.some((w) => /PrivLeak not computed: no gold-model AUC/.test(w)));
});

test("PrivLeak: over-long texts are scored from their start, too-short ones left out", async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 3 });
  const r = await runMuse(model, { forgetTexts: ["the cat sat on the mat", ""], holdoutTexts: ["the dog"] });
  assert.equal(r.details!.minK.forget.length, 1);
  close(r.details!.minK.forget[0], Math.log(0.5)); // <s> the cat: lowest 1 of 2 = ln 1/2
  assert.ok(r.warnings.some((w) => w.includes("only its start scored")));
  assert.ok(r.warnings.some((w) => w.includes("too short to score")));
});

test("MUSE input errors: empty sets, no data, one-sided PrivLeak, bad gold AUC", async () => {
  const model = new BigramModel(TOY_CORPUS);
  await assert.rejects(runMuse(model, {}), InputError);
  await assert.rejects(runMuse(model, { verbatim: [] }), /VerbMem set is empty/);
  await assert.rejects(runMuse(model, { forgetTexts: ["the cat"] }), /both forget and holdout/);
  await assert.rejects(runMuse(model, { forgetTexts: ["the cat"], holdoutTexts: ["the dog"], goldAuc: 2 }), /outside/);
});
