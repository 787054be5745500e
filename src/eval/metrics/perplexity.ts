/**
 * Perplexity-style figures from summed token log-probs, the utility suite's check that unlearning
 * left the model's general language modelling intact. Bits per byte sits beside token perplexity
 * because it still compares models whose tokenizers differ.
 */
import { InputError } from "../../errors.js";

/** Totals of scored tokens, the inputs of every perplexity-style figure. */
export interface LogprobTotals {
  /** Sum of natural-log token probabilities. */
  logprobSum: number;
  tokens: number;
}

/** Adds up log-probs of several sequences (each the output of one scoring call). */
export function sumLogprobs(sequences: readonly ArrayLike<number>[]): LogprobTotals {
  let logprobSum = 0;
  let tokens = 0;
  for (const seq of sequences) {
    for (let i = 0; i < seq.length; i++) logprobSum += seq[i];
    tokens += seq.length;
  }
  return { logprobSum, tokens };
}

/** Token perplexity exp(-Σ log p / N). */
export function perplexity(totals: LogprobTotals): number {
  if (totals.tokens === 0) {
    throw new InputError("perplexity needs at least one scored token", "score a longer text");
  }
  return Math.exp(-totals.logprobSum / totals.tokens);
}

/**
 * Bits per UTF-8 byte of text: -Σ log2 p / bytes. Unlike token perplexity it does not depend on
 * the tokenizer, so models with different vocabularies can be compared.
 */
export function bitsPerByte(totals: LogprobTotals, bytes: number): number {
  if (bytes <= 0) throw new InputError("bits per byte needs a non-empty text", "score a non-empty text");
  return -totals.logprobSum / Math.LN2 / bytes;
}
