import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { runFamiliarityCompletion } from "../../src/eval/familiarity-completion.js";
import { runFamiliarityProbability } from "../../src/eval/familiarity-probability.js";
import type { FamiliarityJudge, JudgeInput, JudgeVerdict } from "../../src/eval/judge/judge.js";
import { TermJudge } from "../../src/eval/judge/term-judge.js";
import { BigramModel, TOY_CORPUS } from "./fake-model.js";

const close = (actual: number | null | undefined, expected: number, eps = 1e-6) =>
  assert.ok(typeof actual === "number" && Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

/** A judge that hands out scripted verdicts in order and records what it saw. */
class ScriptedJudge implements FamiliarityJudge {
  readonly name = "scripted";
  readonly seen: JudgeInput[] = [];
  constructor(private readonly script: (0 | 1 | 2 | 3 | null)[]) {}
  async judge(input: JudgeInput): Promise<JudgeVerdict> {
    this.seen.push(input);
    const s = this.script[this.seen.length - 1];
    return s === null ? { score: null, failure: "no verdict" } : { score: s, reason: `scripted ${s}` };
  }
}

test("familiarity-completion: greedy plus samples, judged and aggregated; failures are not zeros", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const judge = new ScriptedJudge([3, null, 0, 2]);
  const r = await runFamiliarityCompletion(
    model,
    [
      { prompt: "the", references: ["cat sat"] },
      { prompt: "the dog", references: [] },
    ],
    { judge, samples: 1, seed: 7, temperature: 0.5, maxTokens: 2 },
  );
  assert.equal(r.suite, "familiarity-completion");
  // Scores 3, 0, 2 judged; one failure.
  assert.equal(r.metrics.judged, 3);
  assert.equal(r.metrics.judge_failures, 1);
  close(r.metrics.mean_score, 5 / 3);
  close(r.metrics.familiarity, 5 / 9);
  close(r.metrics.familiarity_paper, (5 + 1) / 15);
  close(r.metrics.share_ge2, 2 / 3);
  assert.deepEqual(r.details!.histogram, [1, 0, 1, 1]);
  assert.ok(r.warnings.some((w) => /judge failed.*prompt 1: no verdict/.test(w)), r.warnings.join("\n"));

  // Greedy first (temperature 0), then the sample with seed + 0.
  assert.deepEqual(model.generateCalls.map((c) => c.opts.temperature), [0, 0.5, 0, 0.5]);
  assert.equal(model.generateCalls[1].opts.seed, 7);
  // The greedy completion of "the": cat (2/4), then sat (first of two 1/2 followers).
  assert.equal(r.details!.completions[0].completion, " cat sat");
  assert.equal(r.details!.completions[0].sample, -1);
  assert.equal(r.details!.completions[1].score, null);
  assert.deepEqual(judge.seen[0], { prompt: "the", completion: " cat sat", references: ["cat sat"] });
});

test("familiarity-completion with the term judge, end to end", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const judge = new TermJudge([
    { term: "cat", tier: "unique" },
    { term: "mat", tier: "weak" },
  ]);
  const r = await runFamiliarityCompletion(model, [{ prompt: "the", references: [] }, { prompt: "the cat ran . the", references: [] }], {
    judge,
    samples: 0,
    maxTokens: 2,
  });
  // Both complete to " cat sat"; cat is new after "the" (3) but already in the second prompt (0).
  assert.deepEqual(r.details!.completions.map((c) => c.completion), [" cat sat", " cat sat"]);
  assert.deepEqual(r.details!.completions.map((c) => c.score), [3, 0]);
  close(r.metrics.familiarity, 0.5);
  assert.equal(r.details!.judge, "terms(2)");
});

test("familiarity-completion: all judge calls failing gives null metrics", async () => {
  const r = await runFamiliarityCompletion(new BigramModel(TOY_CORPUS), [{ prompt: "the", references: [] }], {
    judge: new ScriptedJudge([null, null]),
    samples: 1,
  });
  assert.equal(r.metrics.familiarity, null);
  assert.equal(r.metrics.share_ge2, null);
  assert.equal(r.metrics.judge_failures, 2);
  assert.ok(r.warnings.some((w) => w.startsWith("no completion could be judged")));
});

test("familiarity-completion: an empty prompt set is an error", async () => {
  await assert.rejects(runFamiliarityCompletion(new BigramModel(TOY_CORPUS), [], { judge: new ScriptedJudge([]) }), InputError);
});

test("familiarity-completion truncates prompts that leave no room, with a warning", async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 6 });
  const r = await runFamiliarityCompletion(model, [{ prompt: "the cat sat on the mat . the", references: [] }], {
    judge: new ScriptedJudge([0]),
    samples: 0,
    maxTokens: 2,
  });
  // 8 words + BOS > 6 - 2 = 4 tokens: BOS plus the last 3 words remain.
  assert.equal(model.generateCalls[0].prompt, "mat . the");
  assert.ok(r.warnings.some((w) => /truncated from the left: prompt 1/.test(w)));
});

test("familiarity-probability: chains multi-token targets and sums alternatives", async () => {
  const model = new BigramModel(TOY_CORPUS);
  const r = await runFamiliarityProbability(
    model,
    [
      // p(cat|the) = 1/2; p(dog sat) = 1/4 · 1 → 3/4.
      { prompt: "the", targets: ["cat", "dog sat"] },
      // p(sat|cat) + p(ran|cat) = 1.
      { prompt: "the cat", targets: ["sat", "ran"] },
    ],
    { topNext: 2 },
  );
  close(r.metrics.familiarity_probability, (0.75 + 1) / 2);
  assert.equal(r.metrics.scored_prompts, 2);
  const first = r.details!.prompts[0];
  close(first.targets[1].probability, 0.25);
  assert.deepEqual(first.topNext, [
    { token: "cat", prob: 0.5 },
    { token: "mat", prob: 0.25 },
  ]);
  assert.deepEqual(r.warnings, []);
});

test("familiarity-probability clamps overlapping targets at 1 with a warning", async () => {
  // p(the|on) = 1 and p(the cat|on) = 1/2 overlap: 1.5 → 1.
  const r = await runFamiliarityProbability(new BigramModel(TOY_CORPUS), [{ prompt: "sat on", targets: ["the", "the cat"] }]);
  close(r.details!.prompts[0].probability, 1);
  assert.ok(r.warnings.some((w) => w.startsWith("target probabilities sum above 1")));
});

test("familiarity-probability: unscorable prompts are left out, empty sets rejected", async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 3 });
  const r = await runFamiliarityProbability(model, [
    { prompt: "the", targets: ["cat sat on"] }, // 3 continuation tokens fill the context
    { prompt: "the", targets: ["cat"] },
  ]);
  assert.equal(r.details!.prompts[0].probability, null);
  close(r.metrics.familiarity_probability, 0.5);
  assert.equal(r.metrics.scored_prompts, 1);
  await assert.rejects(runFamiliarityProbability(model, []), InputError);
});
