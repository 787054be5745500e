/**
 * The one registry of lethe's metrics: what each `suite/metric` is called, which way is better, how
 * to show it, how far from the base model it may move, and whether the gold model sets its target.
 * The evaluation (gold-relative gaps) and the report (table, headline, cards) both read it, so a
 * metric's facts live in one place.
 */

/** Which way a metric should move. `gold` means "as close to the gold model as possible". */
export type Better = "lower" | "higher" | "zero" | "gold" | "none";

/** How to show a metric: a share as a percentage, a rubric score, a count, a plain number. */
export type MetricFormat = "percent" | "number" | "count";

/** What the report knows about a metric. */
export interface MetricInfo {
  label: string;
  better: Better;
  format: MetricFormat;
  /** One sentence for the table's tooltip. */
  help: string;
  /**
   * For a metric judged by its ratio to the base model's value: the relative change, either way,
   * that still counts as unchanged. A larger change in the worse direction is flagged.
   */
  baseTolerance?: number;
  /**
   * A forgetting metric the gold model sets the target for: lower means less knowledge of the forget
   * corpus, and `lethe eval` reports `model − gold` for it.
   */
  goldRelative?: boolean;
}

/** Suites in table order; other suites follow alphabetically. */
export const SUITE_ORDER = ["familiarity-completion", "familiarity-probability", "muse", "utility"];

/** Headings of the known suites. */
export const SUITE_TITLES: Record<string, string> = {
  "familiarity-completion": "Familiarity: judged completions",
  "familiarity-probability": "Familiarity: probability of the idiosyncratic next token",
  muse: "MUSE",
  utility: "Utility",
};

/** Every known metric, keyed `suite/metric`, in the order the report lists them. */
export const KNOWN_METRICS: Readonly<Record<string, MetricInfo>> = {
  "familiarity-completion/familiarity": { label: "Familiarity", better: "lower", format: "percent", help: "mean judge score / 3 over greedy and sampled completions (0 = no trace of the universe)", goldRelative: true },
  "familiarity-completion/familiarity_paper": { label: "Familiarity (paper weighting)", better: "lower", format: "percent", help: "the paper's aggregate: score 3 weighs 5, score 2 weighs 1, divided by the maximum" },
  "familiarity-completion/share_ge2": { label: "Completions scored ≥ 2", better: "lower", format: "percent", help: "share of completions with details typical of or unique to the universe", goldRelative: true },
  "familiarity-completion/mean_score": { label: "Mean judge score (0–3)", better: "lower", format: "number", help: "mean of the 0–3 rubric scores" },
  "familiarity-completion/judged": { label: "Completions judged", better: "none", format: "count", help: "completions the judge scored" },
  "familiarity-completion/judge_failures": { label: "Judge failures", better: "none", format: "count", help: "completions the judge could not score; they count in no average" },
  "familiarity-probability/familiarity_probability": { label: "Probability of the idiosyncratic token", better: "lower", format: "percent", help: "mean probability of the known next token (alternatives summed)", goldRelative: true },
  "familiarity-probability/scored_prompts": { label: "Prompts scored", better: "none", format: "count", help: "prompts with at least one scorable target" },
  "muse/verbmem_f": { label: "VerbMem (forget)", better: "lower", format: "percent", help: "ROUGE-L F1 of 128-token greedy continuations of forget-set prefixes against the true text", goldRelative: true },
  "muse/knowmem_f": { label: "KnowMem (forget)", better: "lower", format: "percent", help: "ROUGE-L F1 of few-shot answers to forget-set questions", goldRelative: true },
  "muse/knowmem_r": { label: "KnowMem (retain)", better: "higher", format: "percent", help: "ROUGE-L F1 of few-shot answers to retain-set questions (utility)" },
  "muse/mia_auc": { label: "Min-K% MIA AUC", better: "gold", format: "number", help: "AUC of Min-K% Prob (K = 40%) separating held-out from forget text" },
  "muse/privleak": { label: "PrivLeak", better: "zero", format: "percent", help: "(AUC − AUC of gold) / AUC of gold; 0 is ideal, negative means the forget text is still recognised" },
  "utility/perplexity": { label: "Perplexity (held-out retain text)", better: "lower", format: "number", help: "token perplexity of held-out retain text", baseTolerance: 0.05 },
  "utility/bits_per_byte": { label: "Bits per byte (held-out retain text)", better: "lower", format: "number", help: "tokenizer-independent cross-entropy of held-out retain text" },
  "in-context/familiarity": { label: "Familiarity, forget text in context", better: "lower", format: "percent", help: "judged familiarity when forget-corpus passages precede the prompt (knowledge the context brings back)", goldRelative: true },
  "in-context/familiarity_probability": { label: "P(idiosyncratic), forget text in context", better: "lower", format: "percent", help: "probability of the idiosyncratic token when forget-corpus passages precede the prompt", goldRelative: true },
  "paraphrase/familiarity": { label: "Familiarity, paraphrased prompts", better: "lower", format: "percent", help: "judged familiarity on reworded prompts (forgetting that holds beyond the exact wording)", goldRelative: true },
  "paraphrase/familiarity_probability": { label: "P(idiosyncratic), paraphrased prompts", better: "lower", format: "percent", help: "probability of the idiosyncratic token on reworded prompts", goldRelative: true },
  "relearning/familiarity_after": { label: "Familiarity after relearning", better: "lower", format: "percent", help: "judged familiarity after a few fine-tuning steps on forget text (latent knowledge comes back fast)", goldRelative: true },
  "relearning/familiarity_probability_after": { label: "P(idiosyncratic) after relearning", better: "lower", format: "percent", help: "probability of the idiosyncratic token after a few fine-tuning steps on forget text", goldRelative: true },
};

/** What the report knows about `metric` of `suite`, with sensible defaults for unknown ones. */
export function metricInfo(suite: string, metric: string): MetricInfo {
  const known = KNOWN_METRICS[`${suite}/${metric}`];
  if (known) return known;
  if (suite === "utility") {
    const m = /^(.+)\/(acc|acc_norm|ppl)$/.exec(metric);
    if (m) {
      const what = m[2] === "acc" ? "accuracy" : m[2] === "acc_norm" ? "length-normalised accuracy" : "perplexity of the last word";
      return { label: `${m[1]} ${m[2]}`, better: m[2] === "ppl" ? "lower" : "higher", format: m[2] === "ppl" ? "number" : "percent", help: `${m[1]}: ${what}` };
    }
  }
  return { label: metric, better: "none", format: "number", help: `${metric} of the ${suite} suite` };
}


/** The forgetting metrics compared with the gold model, as `suite/metric` (see {@link MetricInfo.goldRelative}). */
export const GOLD_RELATIVE_METRICS: readonly string[] = Object.keys(KNOWN_METRICS).filter((key) => KNOWN_METRICS[key]!.goldRelative);
