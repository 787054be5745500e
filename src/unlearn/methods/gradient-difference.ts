/**
 * `gradient-difference`: gradient ascent on the forget text plus descent on the retain text in the
 * same step (forget targets weighted −1, retain targets +retainWeight), so the model unlearns the
 * corpus while holding on to everything else.
 */
import { nextTokenBatch } from "../../engine/trainer.js";
import { batchIndices } from "../../corpus/blocks.js";
import { ascentStage } from "../stages/ascent.js";
import type { UnlearnMethod } from "../method.js";
import { ascentWorkload } from "./gradient-ascent.js";

export const gradientDifference: UnlearnMethod = {
  name: "gradient-difference",
  summary: "gradient ascent on the forget text plus descent on the retain text",
  writesModel: true,
  needsRetain: true,
  stages: (ctx) => [
    ascentStage(ctx, "ascent", {}, async (step, data) => {
      const { batchSize, retainWeight } = ctx.config.ascent;
      const forget = batchIndices(data.forget.length, batchSize, step, ctx.config.seed).map((i) => data.forget[i]!);
      const retain = batchIndices(data.retain.length, batchSize, step, ctx.config.seed + 1).map((i) => data.retain[i]!);
      return { batches: [nextTokenBatch(forget, ctx.blockTokens, -1), nextTokenBatch(retain, ctx.blockTokens, retainWeight)] };
    }),
  ],
  workload: (w) => [ascentWorkload(w, 2 * w.config.ascent.batchSize)],
};
