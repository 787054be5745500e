/**
 * The names of the evaluation suites, apart from their code, so the CLI can list them without
 * loading the engine.
 */

/** Every suite `evaluate` can run, in the order it runs them. */
export const SUITES = [
  "familiarity-completion",
  "familiarity-probability",
  "muse",
  "utility",
  "in-context",
  "paraphrase",
  "relearning",
] as const;

/** A suite or robustness probe of {@link SUITES}. */
export type SuiteName = (typeof SUITES)[number];

/** What runs when no suite is named: the forgetting measurements whose data is present. */
export const DEFAULT_SUITES: readonly SuiteName[] = ["familiarity-completion", "familiarity-probability", "muse"];
