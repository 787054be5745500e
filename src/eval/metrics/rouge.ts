/** Precision, recall and F1 of one ROUGE comparison, each in [0, 1]. */
export interface RougeScore {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Splits text into ROUGE tokens the way Google's `rouge-score` does without a stemmer (which MUSE
 * uses): lower-case, every run of characters outside [a-z0-9] becomes a separator. Letters outside
 * ASCII therefore split words, exactly as in the reference implementation.
 */
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
}

/** Length of the longest common subsequence of two token lists (O(n·m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * ROUGE-L of a prediction against a reference: precision = LCS / prediction tokens,
 * recall = LCS / reference tokens, F1 their harmonic mean. An empty side scores 0 everywhere,
 * as in `rouge-score`.
 */
export function rougeL(prediction: string, reference: string): RougeScore {
  const pred = rougeTokens(prediction);
  const ref = rougeTokens(reference);
  if (pred.length === 0 || ref.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const lcs = lcsLength(pred, ref);
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  const f1 = lcs === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}
