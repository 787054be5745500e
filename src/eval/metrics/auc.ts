/**
 * ROC AUC, the membership-inference figure under MUSE's PrivLeak (Shi et al. 2024): how well a score
 * tells texts the model trained on from texts it never saw, 0.5 meaning it cannot tell them apart.
 */
import { InputError } from "../../errors.js";

/**
 * Area under the ROC curve for telling `positives` from `negatives` by score (higher = more
 * positive), in the Mann-Whitney form: the probability that a random positive outscores a random
 * negative, ties counting one half. Computed from ranks in O(n log n).
 */
export function rocAuc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) {
    throw new InputError(
      `ROC AUC needs both classes, got ${positives.length} positive and ${negatives.length} negative scores`,
      "supply at least one text of each kind",
    );
  }
  if ([...positives, ...negatives].some((s) => Number.isNaN(s))) {
    throw new InputError("ROC AUC got a NaN score", "check the scores fed to the AUC for failed items");
  }
  const all = [
    ...positives.map((score) => ({ score, positive: true })),
    ...negatives.map((score) => ({ score, positive: false })),
  ].sort((a, b) => a.score - b.score);
  // Sum of the 1-based ranks of the positives, tied scores sharing their average rank.
  let positiveRankSum = 0;
  for (let start = 0; start < all.length; ) {
    let end = start;
    while (end + 1 < all.length && all[end + 1].score === all[start].score) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) if (all[i].positive) positiveRankSum += averageRank;
    start = end + 1;
  }
  const nPos = positives.length;
  const u = positiveRankSum - (nPos * (nPos + 1)) / 2;
  return u / (nPos * negatives.length);
}
