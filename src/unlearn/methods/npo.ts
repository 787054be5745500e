/**
 * `npo`: Negative Preference Optimization (see npo.ts for the derivation). The reference model is
 * the base model, so each forget block's reference log-likelihood is the trainer's own before the
 * first update; it is computed lazily per block (the data of a step is a pure function of the step)
 * and kept in memory. Each step weights every target of block b by −w_b with
 * w_b = 2·σ(β·(log π_θ(y_b) − log π_ref(y_b))) and scales the learning rate to undo the trainer's
 * normalisation.
 */
import { nextTokenBatch, type Trainer } from "../../engine/trainer.js";
import { batchIndices } from "../corpus.js";
import { ascentStage } from "../stages/ascent.js";
import { npoLrScale, npoWeight } from "../npo.js";
import type { MethodContext, UnlearnMethod } from "../method.js";
import { ascentWorkload } from "./gradient-ascent.js";
import { Model } from "../../engine/model.js";
import { loadInferenceModel } from "../stages/common.js";

/** Σ log p(y_t | y_<t) of one block under the trainer's current weights. */
async function sequenceLogprob(trainer: Trainer, seq: number[]): Promise<number> {
  const batch = nextTokenBatch([seq]);
  return -(await trainer.loss(batch)) * (seq.length - 1);
}

function npoStages(ctx: MethodContext) {
  // Reference log-likelihoods come from the base model through inference (not the trainer), so a
  // run resumed from a checkpoint computes them from the same weights as an uninterrupted one.
  const reference = new Map<number, number>();
  let referenceModel: Model | undefined;
  const referenceOf = async (index: number, seq: number[]): Promise<number> => {
    const known = reference.get(index);
    if (known !== undefined) return known;
    referenceModel ??= loadInferenceModel(ctx.basePath, ctx.blockTokens, ctx.threads);
    const [lp] = await referenceModel.tokenLogprobs([seq]);
    const total = lp!.reduce((a, b) => a + b, 0);
    reference.set(index, total);
    return total;
  };
  const stage = ascentStage(ctx, "ascent", { reference: "base" }, async (step, data, trainer) => {
    const { batchSize, npoBeta } = ctx.config.ascent;
    const indices = batchIndices(data.forget.length, batchSize, step, ctx.config.seed);
    const weights: number[] = [];
    const counts: number[] = [];
    const batches = [];
    for (const i of indices) {
      const seq = data.forget[i]!;
      const w = npoWeight(await sequenceLogprob(trainer, seq), await referenceOf(i, seq), npoBeta);
      weights.push(w);
      counts.push(seq.length - 1);
      batches.push(nextTokenBatch([seq], ctx.blockTokens, -w));
    }
    const meanWeight = weights.reduce((a, b) => a + b, 0) / weights.length;
    return { batches, lrScale: npoLrScale(weights, counts), stats: { npoMeanWeight: Math.round(meanWeight * 1e4) / 1e4 } };
  });
  const run = stage.run;
  stage.run = async (c) => {
    try {
      return await run(c);
    } finally {
      await referenceModel?.dispose();
      referenceModel = undefined;
    }
  };
  return [stage];
}

export const npo: UnlearnMethod = {
  name: "npo",
  summary: "Negative Preference Optimization: gradient ascent weighted by how much is already forgotten",
  writesModel: true,
  needsRetain: false,
  stages: npoStages,
  workload: (w) => [{ ...ascentWorkload(w, w.config.ascent.batchSize), inferTokens: w.forgetTokens, inferenceModels: 1 }],
};
