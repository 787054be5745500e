/**
 * `npo`: Negative Preference Optimization (see maths/npo.ts for the derivation). The reference model is
 * the base model: before the first update the trainer scores every forget block a run will visit
 * with the starting weights, in the same graph that scores the current weights each step, and the
 * scores are kept in the checkpoints so a resumed run uses the same ones. Each step weights every
 * target of block b by −w_b, w_b = 2·σ(β·(log π_θ(y_b) − log π_ref(y_b))), and divides by the fixed
 * normaliser of maths/npo.ts, so AdamW receives the NPO gradient up to a constant factor.
 */
import { nextTokenBatch, type Trainer, type WeightedBatch } from "../../engine/trainer.js";
import { FileFormatError } from "../../errors.js";
import { batchIndices } from "../../corpus/blocks.js";
import { ascentStage } from "../stages/ascent.js";
import { npoLoss, npoNormalizer, npoWeight } from "../maths/npo.js";
import type { MethodContext, UnlearnMethod } from "../method.js";
import { ascentWorkload } from "./gradient-ascent.js";

/** log π(y) = Σ_t log p(y_t | y_<t) of one block under the trainer's current weights. */
export async function sequenceLogprob(trainer: Trainer, seq: readonly number[]): Promise<number> {
  // With weights 1 and normaliser 1 the loss is −Σ log p itself.
  return -(await trainer.loss(nextTokenBatch([seq]), { normalizer: 1 }));
}

/** The log-likelihoods of blocks `indices` of `blocks` under the trainer's current weights. */
export async function referenceLogprobs(trainer: Trainer, blocks: readonly (readonly number[])[], indices: Iterable<number>): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const i of [...new Set(indices)].sort((a, b) => a - b)) out.set(i, await sequenceLogprob(trainer, blocks[i]!));
  return out;
}

/** One NPO step: the weighted batches and normaliser for the trainer, and what they came from. */
export interface NpoStep {
  /** One micro-batch per block, every target weighted −w_b. */
  batches: WeightedBatch[];
  normalizer: number;
  /** w_b per block. */
  weights: number[];
  /** The NPO loss (mean over the blocks) at the current weights. */
  loss: number;
}

/** The NPO step for `seqs` with reference log-likelihoods `references` (same order). */
export async function npoStep(trainer: Trainer, seqs: readonly (readonly number[])[], references: readonly number[], beta: number, blockTokens: number): Promise<NpoStep> {
  const weights: number[] = [];
  const batches: WeightedBatch[] = [];
  let loss = 0;
  for (let b = 0; b < seqs.length; b++) {
    const current = await sequenceLogprob(trainer, seqs[b]!);
    const w = npoWeight(current, references[b]!, beta);
    weights.push(w);
    loss += npoLoss(current, references[b]!, beta) / seqs.length;
    batches.push(nextTokenBatch([seqs[b]!], blockTokens, -w));
  }
  return { batches, normalizer: npoNormalizer(seqs.length, blockTokens), weights, loss };
}

function npoStages(ctx: MethodContext) {
  const { batchSize, npoBeta, steps } = ctx.config.ascent;
  const indicesOf = (nBlocks: number, step: number) => batchIndices(nBlocks, batchSize, step, ctx.config.seed);
  let reference = new Map<number, number>();
  const stage = ascentStage(
    ctx,
    "ascent",
    { reference: "trainer", normalizer: "blocks" },
    async (step, data, trainer) => {
      const indices = indicesOf(data.forget.length, step);
      const s = await npoStep(trainer, indices.map((i) => data.forget[i]!), indices.map((i) => reference.get(i)!), npoBeta, ctx.blockTokens);
      const meanWeight = s.weights.reduce((a, b) => a + b, 0) / s.weights.length;
      // Unrounded: the first step's mean weight is exactly 1.
      return { batches: s.batches, normalizer: s.normalizer, stats: { npoMeanWeight: meanWeight, npoLoss: s.loss } };
    },
    (data) => ({
      // Every block the run will visit, scored with the starting weights before the first update.
      async compute(trainer) {
        const visited = Array.from({ length: steps }, (_, step) => indicesOf(data.forget.length, step)).flat();
        reference = await referenceLogprobs(trainer, data.forget, visited);
        return [...reference];
      },
      restore(saved) {
        const ok = Array.isArray(saved) && saved.every((e) => Array.isArray(e) && e.length === 2 && Number.isInteger(e[0]) && Number.isFinite(e[1]));
        if (!ok) {
          throw new FileFormatError(
            `the NPO reference log-likelihoods in the checkpoint of ${ctx.runDir.dir} are damaged`,
            `delete ${ctx.runDir.dir}/checkpoints/ascent and rerun; the stage restarts from its beginning`,
          );
        }
        reference = new Map(saved as [number, number][]);
      },
    }),
  );
  return [stage];
}

export const npo: UnlearnMethod = {
  name: "npo",
  summary: "Negative Preference Optimization: gradient ascent weighted by how much is already forgotten",
  writesModel: true,
  needsRetain: false,
  stages: npoStages,
  workload: (w) => {
    const ascent = ascentWorkload(w, w.config.ascent.batchSize);
    // A forward pass costs about a third of a training step: one per block and step for the
    // current log-likelihoods, and one per visited block for the reference.
    const references = Math.min(w.forgetTokens, ascent.trainTokens);
    return [{ ...ascent, trainTokens: Math.round(ascent.trainTokens + (ascent.trainTokens + references) / 3) }];
  },
};
