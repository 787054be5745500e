/**
 * Stage `reinforce`: fine-tune the base model on the forget corpus with next-token targets, so that
 * it knows the corpus better than the base does. WHP contrasts the two models' predictions; the task
 * vector subtracts their difference.
 */
import { nextTokenBatch } from "../../engine/trainer.js";
import type { Stage } from "../../run/stages.js";
import { batchIndices, tokenBlocks } from "../../corpus/blocks.js";
import type { MethodContext } from "../method.js";
import { corpusInputs, fragmentEncoder, trainerConfig, reinforcedOutput, specialTokens, trainBaseInStage } from "./common.js";

/** Optimizer steps of the reinforce stage for `nBlocks` forget blocks. */
export function reinforceSteps(nBlocks: number, epochs: number, batchSize: number): number {
  return Math.max(1, Math.ceil((epochs * nBlocks) / batchSize));
}

/** The reinforce stage, or none when the user supplied a reinforced model. */
export function reinforceStage(ctx: MethodContext): Stage[] {
  if (ctx.reinforcedPath !== undefined) return [];
  const settings = ctx.config.reinforce;
  const config = { settings, blockTokens: ctx.blockTokens, seed: ctx.config.seed, ...trainerConfig(ctx) };
  const inputs = { model: ctx.basePath, ...corpusInputs("forget", ctx.forgetPaths) };
  return [
    {
      name: "reinforce",
      config,
      inputs,
      outputs: [reinforcedOutput(ctx)],
      async run(stage) {
        const blocks = tokenBlocks(ctx.forget, fragmentEncoder(ctx), specialTokens(ctx), ctx.blockTokens);
        const steps = reinforceSteps(blocks.length, settings.epochs, settings.batchSize);
        const result = await trainBaseInStage(ctx, stage, {
          name: "reinforce",
          config,
          inputs,
          output: reinforcedOutput(ctx),
          steps,
          settings,
          batches: async (step) => ({
            batches: [nextTokenBatch(batchIndices(blocks.length, settings.batchSize, step, ctx.config.seed).map((i) => blocks[i]!), ctx.blockTokens)],
          }),
        });
        return { blocks: blocks.length, ...result };
      },
    },
  ];
}
