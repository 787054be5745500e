/**
 * Negative Preference Optimization (Zhang et al. 2024, "Negative Preference Optimization: From
 * Catastrophic Collapse to Effective Unlearning", arXiv 2404.05868), reduced to per-sequence weights
 * for lethe's weighted-target trainer.
 *
 * The NPO loss over forget sequences y is
 *   L = (2/β) · E[ log(1 + (π_θ(y)/π_ref(y))^β) ]
 * With r = log π_θ(y) − log π_ref(y) (sums of token log-probabilities), d/dθ log(1 + e^{βr}) =
 * β·σ(βr)·∇log π_θ(y), so
 *   ∇L = E[ 2·σ(β·(log π_θ(y) − log π_ref(y))) · ∇ log π_θ(y) ].
 * Descending L is therefore gradient *ascent* on the NLL of y with the weight
 *   w(y) = 2·σ(β·(log π_θ(y) − log π_ref(y))),
 * computed from the current and reference models and held constant within the step. At the start
 * (π_θ = π_ref) w = 1, which is plain gradient ascent; as the model forgets y, w → 0, which is what
 * keeps NPO from the collapse of gradient ascent. (Written with the reference first, the same
 * weight is 2·(1 − σ(β·(log π_ref − log π_θ))).)
 *
 * The trainer normalises its loss by Σ|w| over the step, which would cancel a common scale of the
 * weights; the step's learning rate is therefore scaled by Σ w_b·n_b / Σ n_b (n_b: tokens of y_b),
 * so the update follows the unnormalised NPO gradient.
 */

/** The NPO weight 2·σ(β·(logpCurrent − logpReference)) of one sequence. */
export function npoWeight(logpCurrent: number, logpReference: number, beta: number): number {
  const z = beta * (logpCurrent - logpReference);
  // σ(z) written to avoid overflow for large |z|.
  const sigmoid = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  return 2 * sigmoid;
}

/** The learning-rate scale Σ w·n / Σ n that undoes the trainer's Σ|w| normalisation. */
export function npoLrScale(weights: readonly number[], tokenCounts: readonly number[]): number {
  let num = 0;
  let den = 0;
  weights.forEach((w, i) => {
    num += w * tokenCounts[i]!;
    den += tokenCounts[i]!;
  });
  return den === 0 ? 0 : num / den;
}
