// How many fuzz cases each target gets, in order; case i of a seed is always the same mutation.
export const PLAN = [
  ["gguf-bytes", 110],
  ["gguf-values", 110],
  ["labels", 80],
  ["manifest", 60],
  ["tokenizer", 60],
] as const;

export type FuzzTarget = (typeof PLAN)[number][0];

export const TOTAL_CASES = PLAN.reduce((n, [, count]) => n + count, 0);

/** The target of case `i`, and the case's index among that target's cases. */
export function targetOf(i: number): { target: FuzzTarget; index: number } {
  let first = 0;
  for (const [target, count] of PLAN) {
    if (i < first + count) return { target, index: i - first };
    first += count;
  }
  throw new Error(`case ${i} is past the plan's ${TOTAL_CASES} cases`);
}
