/** Arithmetic mean; NaN for an empty list so callers must decide what "no data" means. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Standard error of the mean with the sample (n-1) variance, as lm-evaluation-harness reports it
 * next to accuracies; NaN below two values.
 */
export function standardError(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) ** 2;
  return Math.sqrt(squares / (n - 1) / n);
}
