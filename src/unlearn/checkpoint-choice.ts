/**
 * Choosing the fine-tune's checkpoint by a validation signal instead of taking the last step. WHP's
 * fine-tune trades forgetting (the text's own tokens where the labels differ from it become
 * unlikely) against general ability (perplexity on held-out retain text); both are measured every few
 * steps, and the kept checkpoint is the one that forgot most among those whose retain perplexity stayed
 * within a tolerance of the start's.
 */

/** One validation measurement during training. */
export interface ValidationPoint {
  /** Optimizer steps completed when measured (0: the starting model). */
  step: number;
  /** Perplexity on held-out retain blocks. */
  retainPpl: number;
  /**
   * Geometric-mean probability of the forget text's own next token at the positions whose label
   * differs from it: how much of what the labels unteach the model still predicts. Lower forgot more.
   */
  forgetProbability: number;
}

/** Whether `candidate` keeps retain perplexity within `maxRise` (0.05: 5 %) of the start's. */
export function withinTolerance(candidate: ValidationPoint, start: ValidationPoint, maxRise: number): boolean {
  return candidate.retainPpl <= start.retainPpl * (1 + maxRise);
}

/**
 * Whether `candidate` should replace `best`: it is within tolerance and forgot more. The starting
 * point is always within tolerance, so some point is always kept; when it is the start, nothing was
 * kept from training and the caller says so.
 */
export function isBetterCheckpoint(candidate: ValidationPoint, best: ValidationPoint, start: ValidationPoint, maxRise: number): boolean {
  return withinTolerance(candidate, start, maxRise) && candidate.forgetProbability < best.forgetProbability;
}

/** The point {@link isBetterCheckpoint} keeps among `points` (the first is the start). */
export function chooseCheckpoint(points: readonly ValidationPoint[], maxRise: number): ValidationPoint | undefined {
  const start = points[0];
  if (!start) return undefined;
  let best = start;
  for (const p of points.slice(1)) if (isBetterCheckpoint(p, best, start, maxRise)) best = p;
  return best;
}
