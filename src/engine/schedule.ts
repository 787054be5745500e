/** Learning-rate schedules, as plain functions of the optimizer step (0-based). */

export interface CosineScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Steps of linear warmup from lr/warmup to lr. */
  warmupSteps: number;
  /** Total steps; the rate decays along a half cosine from lr to minLr over the steps after warmup. */
  totalSteps: number;
  /** Floor of the decay; default lr / 10, as in nanoGPT. */
  minLr?: number;
}

/** Linear warmup then cosine decay (nanoGPT's `get_lr`). */
export function cosineSchedule(o: CosineScheduleOptions): (step: number) => number {
  const minLr = o.minLr ?? o.lr / 10;
  return (step) => {
    if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
    if (step >= o.totalSteps) return minLr;
    const progress = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (o.lr - minLr);
  };
}
