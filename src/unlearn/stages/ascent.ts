/**
 * The training stage of the baseline methods (gradient ascent, gradient difference, NPO): the base
 * model trained for `ascent.steps` steps on forget blocks (and retain blocks) with the weights the
 * method chooses; the model is the stage's output.
 */
import type { Trainer, WeightedBatch } from "../../engine/trainer.js";
import type { TrainJob } from "../train-loop.js";
import type { Stage } from "../../run/stages.js";
import { tokenBlocks } from "../../corpus/blocks.js";
import type { MethodContext } from "../method.js";
import { corpusInputs, fragmentEncoder, trainerConfig, specialTokens, trainBaseInStage, unlearnedOutput } from "./common.js";

/** The token blocks a baseline trains on. */
export interface AscentData {
  forget: number[][];
  retain: number[][];
}

/** A method's choice of batches for one step (and, optionally, the normaliser of its loss). */
export type AscentBatches = (step: number, data: AscentData, trainer: Trainer) => Promise<{ batches: WeightedBatch[]; normalizer?: number; stats?: Record<string, number> }>;

/**
 * The stage named `name` (also its checkpoint folder); `extraConfig` is hashed with the settings
 * (a method's own constants); `startState` derives a method's state from the starting weights
 * (see TrainJob.startState).
 */
export function ascentStage(
  ctx: MethodContext,
  name: string,
  extraConfig: unknown,
  batchesFor: AscentBatches,
  startState?: (data: AscentData) => NonNullable<TrainJob["startState"]>,
): Stage {
  const settings = ctx.config.ascent;
  const config = { settings, blockTokens: ctx.blockTokens, seed: ctx.config.seed, method: ctx.config.method, extraConfig, ...trainerConfig(ctx) };
  const inputs = { model: ctx.basePath, ...corpusInputs("forget", ctx.forgetPaths), ...corpusInputs("retain", ctx.retainPaths) };
  return {
    name,
    config,
    inputs,
    outputs: [unlearnedOutput(ctx)],
    async run(stage) {
      const encode = fragmentEncoder(ctx);
      const special = specialTokens(ctx);
      const data: AscentData = {
        forget: tokenBlocks(ctx.forget, encode, special, ctx.blockTokens),
        retain: ctx.retain.length > 0 ? tokenBlocks(ctx.retain, encode, special, ctx.blockTokens) : [],
      };
      const last: Record<string, number> = {};
      const result = await trainBaseInStage(ctx, stage, {
        name,
        config,
        inputs,
        output: unlearnedOutput(ctx),
        steps: settings.steps,
        settings,
        batches: async (step, trainer) => {
          const out = await batchesFor(step, data, trainer);
          Object.assign(last, out.stats ?? {});
          return out;
        },
        startState: startState?.(data),
      });
      return { forgetBlocks: data.forget.length, retainBlocks: data.retain.length, ...result, ...last };
    },
  };
}
