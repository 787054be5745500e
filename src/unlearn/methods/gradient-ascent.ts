/** `gradient-ascent`: push the forget text's likelihood down (every target weighted −1). */
import { nextTokenBatch } from "../../engine/trainer.js";
import { batchIndices } from "../../corpus/blocks.js";
import { ascentStage } from "../stages/ascent.js";
import type { UnlearnMethod, WorkloadContext } from "../method.js";

export function ascentWorkload(w: WorkloadContext, sequencesPerStep: number): { stage: string; trainTokens: number; inferTokens: number; inferenceModels: number; trains: boolean } {
  return { stage: "ascent", trainTokens: w.config.ascent.steps * sequencesPerStep * w.blockTokens, inferTokens: 0, inferenceModels: 0, trains: true };
}

export const gradientAscent: UnlearnMethod = {
  name: "gradient-ascent",
  summary: "gradient ascent on the forget text",
  writesModel: true,
  needsRetain: false,
  stages: (ctx) => [
    ascentStage(ctx, "ascent", {}, async (step, data) => {
      const { batchSize } = ctx.config.ascent;
      const seqs = batchIndices(data.forget.length, batchSize, step, ctx.config.seed).map((i) => data.forget[i]!);
      return { batches: [nextTokenBatch(seqs, ctx.blockTokens, -1)] };
    }),
  ],
  workload: (w) => [ascentWorkload(w, w.config.ascent.batchSize)],
};
