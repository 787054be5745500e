/**
 * The generic-logit combination of the "Who's Harry Potter" method (Eldan & Russinovich 2023):
 * v_generic = v_base − α·ReLU(v_reinforced − v_base), and the observed rise that can stand in for
 * the ReLU's zero. WHP's labels and its inference-time variant (whp-logits) both compute it here.
 */
import { InputError } from "../../errors.js";

/**
 * The generic logits `v_base − α·ReLU(v_reinforced − v_base)`, element by element: tokens the reinforced
 * model prefers over the base model are pushed down, the rest keep the base logit.
 */
export function combineGeneric(base: Float32Array, reinforced: Float32Array, vocab: number, alpha: number): Float32Array {
  checkVocab(vocab);
  checkAlpha(alpha);
  if (base.length !== reinforced.length || base.length % vocab !== 0) {
    throw new InputError(
      `logits of ${base.length} (base) and ${reinforced.length} (reinforced) values are not matching rows of ${vocab}`,
      "pass base and reinforced logits for the same positions and vocabulary",
    );
  }
  const out = new Float32Array(base.length);
  for (let k = 0; k < base.length; k++) out[k] = base[k] - alpha * Math.max(0, reinforced[k] - base[k]);
  return out;
}

/**
 * The mean rise, reinforced over base, of the logit of the token that actually comes next, over
 * text without the target (both models read the same tokens; row i predicts token i+1). It is the
 * part of the reinforced model's gain that is not about the target: the paper's models already knew
 * their language, so reinforcing on the forget corpus raised only the target's tokens, but a base
 * that is still learning the language gains on every word, and ReLU(v_reinforced − v_base) then
 * pushes the labels away from the text almost everywhere (on the tiny Oz testbed the generic row
 * gave the text's own token 1.6 % on average, against 45 % on the synthetic one). Subtracting this
 * rise keeps only what rose more than ordinary text does. Returns the sum and the count, so several
 * blocks combine exactly.
 */
export function observedRise(baseLogits: Float32Array, reinforcedLogits: Float32Array, tokens: ArrayLike<number>, vocab: number): { sum: number; count: number } {
  checkVocab(vocab);
  const n = tokens.length;
  if (baseLogits.length !== n * vocab || reinforcedLogits.length !== n * vocab) {
    throw new InputError(`logits hold ${baseLogits.length} and ${reinforcedLogits.length} values, expected ${n} positions × ${vocab}`, "evaluate both models on the same tokens");
  }
  let sum = 0;
  let count = 0;
  for (let i = 0; i + 1 < n; i++) {
    const next = tokens[i + 1]!;
    if (!(next >= 0 && next < vocab)) throw new InputError(`token ${next} at position ${i + 1} is outside the vocabulary of ${vocab}`, "use the tokenizer of the model that produced the logits");
    sum += reinforcedLogits[i * vocab + next]! - baseLogits[i * vocab + next]!;
    count++;
  }
  return { sum, count };
}

export function checkVocab(vocab: number): void {
  if (!Number.isInteger(vocab) || vocab < 1) throw new InputError(`vocabulary size ${vocab} is not a positive integer`, "pass the model's vocabulary size");
}

export function checkAlpha(alpha: number): void {
  if (!Number.isFinite(alpha) || alpha < 0) throw new InputError(`alpha ${alpha} is not a finite number ≥ 0`, "set alpha to a non-negative number such as 5");
}
