/**
 * Min-K% Prob (Shi et al. 2023, "Detecting Pretraining Data from Large Language Models"), the
 * membership-inference score that MUSE's PrivLeak is built on: it tells whether a model has seen a
 * text from that model's token probabilities alone, with no reference model.
 */
import { InputError } from "../../errors.js";

/** Share of tokens Min-K% Prob averages over by default (MUSE's PrivLeak uses 40%). */
export const DEFAULT_MIN_K = 0.4;

/**
 * Min-K% Prob (Shi et al. 2023): the mean of the lowest K% token log-probs of a text. Members of
 * the training data have few very unlikely tokens, so a higher value suggests the model saw it.
 * The count is floor(n·K) as in the reference code, but at least one token, so short texts get a
 * score instead of NaN.
 */
export function minKPercentProb(logprobs: ArrayLike<number>, k: number = DEFAULT_MIN_K): number {
  if (!(k > 0 && k <= 1)) {
    throw new InputError(`Min-K% ratio ${k} is outside (0, 1]`, "pass a ratio such as 0.4 for 40%");
  }
  if (logprobs.length === 0) {
    throw new InputError("Min-K% Prob needs at least one scored token", "score texts of two or more tokens");
  }
  const sorted = Float64Array.from(logprobs).sort();
  const count = Math.max(1, Math.floor(sorted.length * k));
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return sum / count;
}
