/**
 * Completion-based familiarity, the first familiarity test of "Who's Harry Potter?" (Eldan &
 * Russinovich 2023, §3.2.1): the model continues prompts set in the forgotten universe and a judge
 * rates each continuation on the 0-3 rubric. Sampled continuations are judged besides the greedy
 * one, so knowledge that greedy decoding happens to pass over still shows.
 */
import type { ScoringModel } from "./engine-port.js";
import { fitPrompt } from "./generation.js";
import type { FamiliarityJudge } from "./judge/judge.js";
import { aggregateFamiliarity, type FamiliarityScore } from "./metrics/familiarity.js";
import { mapWithConcurrency } from "./concurrency.js";
import { requireNonEmpty, type CompletionPrompt } from "./prompts.js";
import { throwIfCancelled, WarningLog, type SuiteResult, type SuiteRunOptions } from "./result.js";

/** Settings of the completion-based familiarity suite. */
export interface FamiliarityCompletionOptions extends SuiteRunOptions {
  judge: FamiliarityJudge;
  /** New tokens per completion (default 48). */
  maxTokens?: number;
  /** Sampled completions per prompt besides the greedy one (default 2). */
  samples?: number;
  /** Temperature of the samples (default 0.7). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Sample i of every prompt uses seed + i, so reruns reproduce (default 1). */
  seed?: number;
  /** Judge calls in flight at once; raise it for a remote LLM judge (default 1). */
  judgeConcurrency?: number;
}

/** One judged completion. */
export interface JudgedCompletion {
  /** Index into the prompt list. */
  prompt: number;
  /** -1 for the greedy completion, else the sample number. */
  sample: number;
  completion: string;
  score: FamiliarityScore | null;
  /** The judge's reason, or why judging failed. */
  note: string;
}

/** Details of a familiarity-completion run. */
export interface FamiliarityCompletionDetails {
  judge: string;
  histogram: [number, number, number, number];
  /** The prompt texts, in order; completions refer to them by index. */
  prompts: string[];
  completions: JudgedCompletion[];
}

/**
 * Completion-based familiarity (paper §3.2.1): for each prompt the model writes a greedy completion
 * and `samples` sampled ones, a judge scores each on the 0-3 rubric, and the scores are aggregated
 * (see {@link aggregateFamiliarity}). Judge failures are counted and excluded, never scored 0; if
 * every call fails the familiarity metrics are null.
 */
export async function runFamiliarityCompletion(
  model: ScoringModel,
  prompts: readonly CompletionPrompt[],
  opts: FamiliarityCompletionOptions,
): Promise<SuiteResult<FamiliarityCompletionDetails>> {
  requireNonEmpty(prompts, "familiarity prompt");
  const warnings = new WarningLog();
  const maxTokens = opts.maxTokens ?? 48;
  const samples = Math.max(0, Math.floor(opts.samples ?? 2));
  const seed = opts.seed ?? 1;
  // Progress counts generations and judgements alike: either can be the slow half.
  const total = 2 * prompts.length * (1 + samples);
  let done = 0;

  const pending: Omit<JudgedCompletion, "score" | "note">[] = [];
  for (const [p, item] of prompts.entries()) {
    const prompt = fitPrompt(model, item.prompt, maxTokens, warnings, `prompt ${p + 1}`);
    for (let sample = -1; sample < samples; sample++) {
      throwIfCancelled(opts.signal, "familiarity-completion");
      const completion = await model.generate(
        prompt,
        sample < 0
          ? { maxTokens, temperature: 0 }
          : { maxTokens, temperature: opts.temperature ?? 0.7, topK: opts.topK, topP: opts.topP, seed: seed + sample },
      );
      pending.push({ prompt: p, sample, completion });
      opts.onProgress?.(++done, total);
    }
  }

  const completions = await mapWithConcurrency(pending, opts.judgeConcurrency ?? 1, async (c) => {
    throwIfCancelled(opts.signal, "familiarity-completion");
    const item = prompts[c.prompt];
    const verdict = await opts.judge.judge({ prompt: item.prompt, completion: c.completion, references: item.references });
    opts.onProgress?.(++done, total);
    if (verdict.score === null) {
      warnings.add("judge failed, completion left unscored", `prompt ${c.prompt + 1}: ${verdict.failure}`);
      return { ...c, score: null, note: verdict.failure };
    }
    return { ...c, score: verdict.score, note: verdict.reason };
  });

  const summary = aggregateFamiliarity(completions.map((c) => c.score));
  if (summary.judged === 0) warnings.add("no completion could be judged", `${summary.failures} failures`);
  return {
    suite: "familiarity-completion",
    model: model.name,
    metrics: {
      familiarity: summary.familiarity,
      familiarity_paper: summary.paperFamiliarity,
      share_ge2: summary.shareAtLeast2,
      mean_score: summary.meanScore,
      judged: summary.judged,
      judge_failures: summary.failures,
    },
    // The prompt texts let a report show completions side by side.
    details: { judge: opts.judge.name, histogram: summary.histogram, prompts: prompts.map((p) => p.prompt), completions },
    warnings: warnings.list(),
  };
}
