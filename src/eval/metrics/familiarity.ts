/**
 * A completion's familiarity on the paper's rubric: 3 = explicit details unique to the forgotten
 * universe, 2 = details typical of it (not hinted at by the prompt), 1 = a weak hint or lucky guess,
 * 0 = no familiarity.
 */
export type FamiliarityScore = 0 | 1 | 2 | 3;

/** Aggregate familiarity of a set of judged completions. Fractions are `null` when nothing was judged. */
export interface FamiliaritySummary {
  /** Completions that got a score. */
  judged: number;
  /** Completions the judge could not score; they count in no average (never as 0). */
  failures: number;
  /** Number of completions at score 0, 1, 2, 3. */
  histogram: [number, number, number, number];
  /** Mean rubric score, 0..3. */
  meanScore: number | null;
  /** Mean score / 3, in [0, 1]: lethe's headline familiarity. */
  familiarity: number | null;
  /**
   * The paper's weighting (appendix 6.2.1): only scores 3 and 2 count, a 3 weighing five times a 2,
   * divided by the most a set of this size could get (5 per completion) so it lies in [0, 1].
   */
  paperFamiliarity: number | null;
  /** Share of judged completions scored 2 or 3: how often the model clearly shows the universe. */
  shareAtLeast2: number | null;
}

/**
 * Aggregates judge scores; `null` entries are judge failures. The mean score / 3 is the headline
 * because it uses the whole rubric and is easy to read (0 = forgot everything, 1 = every completion
 * explicit); the paper's 5:1 weighting is reported beside it for comparison with its tables.
 */
export function aggregateFamiliarity(scores: readonly (FamiliarityScore | null)[]): FamiliaritySummary {
  const histogram: [number, number, number, number] = [0, 0, 0, 0];
  let failures = 0;
  for (const s of scores) {
    if (s === null) failures++;
    else histogram[s]++;
  }
  const judged = histogram[0] + histogram[1] + histogram[2] + histogram[3];
  if (judged === 0) {
    return { judged, failures, histogram, meanScore: null, familiarity: null, paperFamiliarity: null, shareAtLeast2: null };
  }
  const meanScore = (histogram[1] + 2 * histogram[2] + 3 * histogram[3]) / judged;
  return {
    judged,
    failures,
    histogram,
    meanScore,
    familiarity: meanScore / 3,
    paperFamiliarity: (5 * histogram[3] + histogram[2]) / (5 * judged),
    shareAtLeast2: (histogram[2] + histogram[3]) / judged,
  };
}
