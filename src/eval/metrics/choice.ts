/**
 * Multiple-choice accuracy exactly as lm-evaluation-harness computes it (`acc` and `acc_norm`), so
 * the utility benchmarks' numbers can be set beside published lm-eval results.
 */
import { InputError } from "../../errors.js";

/** One multiple-choice document after scoring: the log-likelihood of each choice, and the answer. */
export interface ScoredChoices {
  /** log p(choice | context), summed over the choice's tokens. */
  logLikelihoods: readonly number[];
  /** Each choice's length in characters (lm-eval's acc_norm normaliser). */
  choiceLengths: readonly number[];
  gold: number;
}

/** Per-document outcome: did the raw and the length-normalised argmax pick the gold choice. */
export interface ChoiceOutcome {
  acc: 0 | 1;
  accNorm: 0 | 1;
}

/** Index of the largest value, the first one on ties (numpy's argmax, which lm-eval uses). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * lm-evaluation-harness's `acc` and `acc_norm` for one document: `acc` picks the choice with the
 * highest log-likelihood, `acc_norm` the highest log-likelihood per character of the choice, which
 * stops long answers being penalised for their length.
 */
export function scoreChoices(doc: ScoredChoices): ChoiceOutcome {
  const n = doc.logLikelihoods.length;
  if (n === 0 || doc.choiceLengths.length !== n) {
    throw new InputError(
      `a multiple-choice document has ${n} log-likelihoods and ${doc.choiceLengths.length} lengths`,
      "give one log-likelihood and one length per choice",
    );
  }
  if (!Number.isInteger(doc.gold) || doc.gold < 0 || doc.gold >= n) {
    throw new InputError(`gold index ${doc.gold} is not one of the ${n} choices`, "fix the document's gold index");
  }
  const normalised = doc.logLikelihoods.map((ll, i) => ll / Math.max(1, doc.choiceLengths[i]));
  return {
    acc: argmax(doc.logLikelihoods) === doc.gold ? 1 : 0,
    accNorm: argmax(normalised) === doc.gold ? 1 : 0,
  };
}
