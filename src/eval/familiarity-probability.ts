/**
 * Probability-based familiarity, the second familiarity test of "Who's Harry Potter?" (Eldan &
 * Russinovich 2023, §3.2.2): how much probability the model still gives the idiosyncratic
 * continuations of prompts from the forgotten text. It needs neither a judge nor sampling, so it is
 * the cheap, deterministic counterpart of the completion-based test.
 */
import type { ScoringModel } from "./engine-port.js";
import { mean } from "./metrics/stats.js";
import { requireNonEmpty, type ProbabilityPrompt } from "./prompts.js";
import { throwIfCancelled, WarningLog, type SuiteResult, type SuiteRunOptions } from "./result.js";
import { joinAtSeam, scoreContinuations, type ContinuationRequest } from "./scoring.js";

/** Settings of the probability-based familiarity suite. */
export interface FamiliarityProbabilityOptions extends SuiteRunOptions {
  batchSize?: number;
  /** Also record the model's top-k next tokens after each prompt, for inspection (default 0 = off). */
  topNext?: number;
}

/** Per-prompt outcome. */
export interface PromptProbability {
  prompt: string;
  /** Total probability of the targets (clamped to 1); null when no target could be scored. */
  probability: number | null;
  /** Probability of each target, null where it could not be scored. */
  targets: { target: string; probability: number | null }[];
  topNext?: { token: string; prob: number }[];
}

/**
 * Probability-based familiarity (paper §3.2.2): for prompts whose idiosyncratic continuation is
 * known, the probability the model gives it. A target of several tokens chains their log-probs;
 * alternatives (e.g. "Toto", "the little dog") are summed, since any of them shows familiarity.
 * Sums above 1 (targets that are prefixes of each other) are clamped with a warning. The metric is
 * the mean over prompts, as the paper reports.
 */
export async function runFamiliarityProbability(
  model: ScoringModel,
  prompts: readonly ProbabilityPrompt[],
  opts: FamiliarityProbabilityOptions = {},
): Promise<SuiteResult<{ prompts: PromptProbability[] }>> {
  requireNonEmpty(prompts, "familiarity-probability prompt");
  const warnings = new WarningLog();
  const requests: ContinuationRequest[] = [];
  const owner: { prompt: number; target: number }[] = [];
  prompts.forEach((p, i) =>
    p.targets.forEach((t, j) => {
      requests.push(joinAtSeam(p.prompt, t));
      owner.push({ prompt: i, target: j });
    }),
  );
  const scores = await scoreContinuations(model, requests, {
    batchSize: opts.batchSize,
    warnings,
    describe: (k) => `prompt ${owner[k].prompt + 1}, target ${JSON.stringify(prompts[owner[k].prompt].targets[owner[k].target])}`,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });

  const results: PromptProbability[] = prompts.map((p) => ({ prompt: p.prompt, probability: null, targets: [] }));
  scores.forEach((s, k) => {
    const { prompt, target } = owner[k];
    results[prompt].targets.push({ target: prompts[prompt].targets[target], probability: s ? Math.exp(s.logprob) : null });
  });
  for (const [i, r] of results.entries()) {
    const scored = r.targets.filter((t) => t.probability !== null);
    if (scored.length === 0) {
      warnings.add("no target of the prompt could be scored, prompt left out", `prompt ${i + 1}`);
      continue;
    }
    const sum = scored.reduce((acc, t) => acc + (t.probability ?? 0), 0);
    if (sum > 1) warnings.add("target probabilities sum above 1 (overlapping targets), clamped to 1", `prompt ${i + 1}`);
    r.probability = Math.min(1, sum);
  }
  if (opts.topNext && opts.topNext > 0) {
    for (const [i, r] of results.entries()) {
      throwIfCancelled(opts.signal, "familiarity-probability");
      r.topNext = await model.topNext(prompts[i].prompt, opts.topNext);
    }
  }

  const probabilities = results.flatMap((r) => (r.probability === null ? [] : [r.probability]));
  return {
    suite: "familiarity-probability",
    model: model.name,
    metrics: {
      familiarity_probability: probabilities.length > 0 ? mean(probabilities) : null,
      scored_prompts: probabilities.length,
    },
    details: { prompts: results },
    warnings: warnings.list(),
  };
}
