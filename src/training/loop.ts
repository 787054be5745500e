/**
 * The one training loop of lethe: pretraining, every unlearning stage and the relearning probe run
 * it, and differ only in their hooks (the data of a step, the schedule, what happens after a step
 * and on cancellation). The data of step s must be a pure function of s, so a run resumed at step s
 * continues exactly as an uninterrupted one would.
 */
import type { OptimizerOptions, StepResult, Trainer, WeightedBatch } from "../engine/trainer.js";
import { CancelledError } from "../errors.js";

/** The micro-batches of one optimizer step, and the divisor of its weighted loss when not Σ|w|. */
export interface StepData {
  batches: WeightedBatch[];
  normalizer?: number;
}

/** One run of {@link trainLoop}. */
export interface TrainLoop {
  trainer: Trainer;
  /** Steps already taken (0, or the step a checkpoint was saved after). */
  from: number;
  /** The step count at which the loop ends. */
  steps: number;
  /** Step `step`'s data (0-based). */
  data(step: number): Promise<StepData> | StepData;
  /** Step `step`'s optimizer settings: its learning rate from the schedule, betas, decay, clipping. */
  optimizer(step: number): OptimizerOptions;
  signal?: AbortSignal;
  /** Runs instead of step `step` once `signal` aborted; must throw (default: CancelledError naming `what`). */
  onAbort?(step: number): Promise<never>;
  /** What is being trained, for the default cancellation error. */
  what: string;
  /** After each step, with the count of steps done: record, report, evaluate, checkpoint. */
  afterStep?(done: number, result: StepResult, data: StepData): Promise<void> | void;
}

/** Takes steps `from` … `steps − 1` of `loop`. */
export async function trainLoop(loop: TrainLoop): Promise<void> {
  for (let step = loop.from; step < loop.steps; step++) {
    if (loop.signal?.aborted) {
      if (loop.onAbort) await loop.onAbort(step);
      throw new CancelledError(loop.what);
    }
    const data = await loop.data(step);
    const result = await loop.trainer.step(data.batches, { ...loop.optimizer(step), normalizer: data.normalizer });
    await loop.afterStep?.(step + 1, result, data);
  }
}
