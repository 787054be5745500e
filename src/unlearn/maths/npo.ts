/**
 * Negative Preference Optimization (Zhang et al. 2024, "Negative Preference Optimization: From
 * Catastrophic Collapse to Effective Unlearning", arXiv 2404.05868), reduced to per-sequence weights
 * for lethe's weighted-target trainer.
 *
 * The NPO loss over forget sequences y_1..y_B is
 *   L = (1/B) · Σ_b (2/β) · log(1 + (π_θ(y_b)/π_ref(y_b))^β)
 * With r_b = log π_θ(y_b) − log π_ref(y_b) (sums of token log-probabilities), d/dθ log(1 + e^{βr}) =
 * β·σ(βr)·∇log π_θ(y), so
 *   ∇L = (1/B) · Σ_b w_b · ∇log π_θ(y_b),   w_b = 2·σ(β·r_b).
 * Descending L is therefore gradient *ascent* on the NLL of y_b with the weight w_b, computed from
 * the current and reference log-likelihoods and held constant within the step. At the start
 * (π_θ = π_ref) w = 1, which is plain gradient ascent; as the model forgets y, w → 0, which is what
 * keeps NPO from the collapse of gradient ascent. Both log-likelihoods come from the trainer's own
 * graph (the reference from the starting weights, before any update), so the weight at step 0 is
 * exactly 1.
 *
 * In the trainer every target of y_b carries the weight −w_b, and the weighted sum is divided by the
 * fixed normaliser B·(T − 1) (T: tokens per block, T − 1 targets each) rather than by Σ|w|, so the
 * step's gradient is exactly ∇L / (T − 1): a constant multiple of the NPO gradient, which AdamW
 * receives as it would the gradient of L itself (Adam is invariant to a constant factor, not to one
 * that changes each step as Σ|w| does). With full blocks this is gradient ascent's normalisation,
 * so NPO's first step equals gradient ascent's.
 */

/** σ(z), written to avoid overflow for large |z|. */
function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** The NPO weight 2·σ(β·(logpCurrent − logpReference)) of one sequence. */
export function npoWeight(logpCurrent: number, logpReference: number, beta: number): number {
  return 2 * sigmoid(beta * (logpCurrent - logpReference));
}

/** The NPO loss (2/β)·log(1 + e^{β·(logpCurrent − logpReference)}) of one sequence; (2/β)·log 2 at the start. */
export function npoLoss(logpCurrent: number, logpReference: number, beta: number): number {
  const z = beta * (logpCurrent - logpReference);
  // softplus(z) = max(z, 0) + log(1 + e^{−|z|}), stable for any z.
  return (2 / beta) * (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))));
}

/**
 * The trainer's normaliser for `sequences` forget blocks of `blockTokens` tokens: the targets of
 * full blocks, so the step's gradient is ∇L_NPO / (blockTokens − 1) whatever the weights.
 */
export function npoNormalizer(sequences: number, blockTokens: number): number {
  return sequences * (blockTokens - 1);
}
