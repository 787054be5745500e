/**
 * Stage `finetune` of WHP: train the base model on the original forget text with the generic labels
 * as targets (weight 0 where a position has no label), so it learns to predict what a model that
 * never read the corpus would predict.
 */
import { readFileSync } from "node:fs";
import { nextTokenBatch, type WeightedBatch } from "../../engine/trainer.js";
import type { Stage } from "../../run/stages.js";
import { batchIndices, tokenBlocks } from "../corpus.js";
import { FileFormatError } from "../../errors.js";
import { decodeBlocks, type LabelledBlock } from "../label-store.js";
import { pairsPerPosition } from "../whp/labels.js";
import { LABELS_FILE, UNLEARNED_MODEL, type MethodContext } from "../method.js";
import { corpusInputs, fragmentEncoder, specialTokens, trainBaseInStage } from "./common.js";

/** A batch of labelled blocks padded to `T` (padding is masked), with the blocks' K pairs per position. */
export function labelledBatch(blocks: readonly LabelledBlock[], T: number): WeightedBatch {
  const B = blocks.length;
  const K = blocks.length > 0 ? pairsPerPosition(blocks[0]!.labels) : 1;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T * K);
  const weights = new Float32Array(B * T * K);
  blocks.forEach((block, b) => {
    if (pairsPerPosition(block.labels) !== K) throw new FileFormatError(`labelled blocks mix ${K} and ${pairsPerPosition(block.labels)} pairs per position`, "delete labels.bin and rerun the labels stage");
    const n = Math.min(T, block.tokens.length);
    for (let t = 0; t < n; t++) {
      tokens[b * T + t] = block.tokens[t]!;
      for (let j = 0; j < K; j++) {
        const src = t * K + j;
        const dst = (b * T + t) * K + j;
        const w = block.labels.weight[src]!;
        if (w !== 0 && block.labels.target[src]! >= 0) {
          targets[dst] = block.labels.target[src]!;
          weights[dst] = w;
        }
      }
    }
  });
  return { B, T, K, tokens, targets, weights };
}

export function finetuneStage(ctx: MethodContext): Stage {
  const settings = ctx.config.finetune;
  const config = { settings, blockTokens: ctx.blockTokens, seed: ctx.config.seed };
  const mixRetain = settings.retainWeight > 0 && ctx.retain.length > 0;
  const inputs = { model: ctx.basePath, labels: ctx.runDir.path(LABELS_FILE), ...(mixRetain ? corpusInputs("retain", ctx.retainPaths) : {}) };
  return {
    name: "finetune",
    config,
    inputs,
    outputs: [UNLEARNED_MODEL],
    async run(stage) {
      const path = ctx.runDir.path(LABELS_FILE);
      const blocks = decodeBlocks(readFileSync(path), path);
      const T = Math.max(...blocks.map((b) => b.tokens.length));
      // Retain blocks keep the model's general next-token behaviour while the labels rewrite the forget text.
      const retain = mixRetain ? tokenBlocks(ctx.retain, fragmentEncoder(ctx), specialTokens(ctx), ctx.blockTokens) : [];
      const result = await trainBaseInStage(ctx, stage, {
        name: "finetune",
        config,
        inputs,
        output: UNLEARNED_MODEL,
        steps: settings.steps,
        settings,
        batches: async (step) => {
          const batches = [labelledBatch(batchIndices(blocks.length, settings.batchSize, step, ctx.config.seed).map((i) => blocks[i]!), T)];
          if (retain.length > 0) {
            const picked = batchIndices(retain.length, settings.batchSize, step, ctx.config.seed + 1).map((i) => retain[i]!);
            batches.push(nextTokenBatch(picked, undefined, settings.retainWeight));
          }
          return { batches };
        },
      });
      return { blocks: blocks.length, retainBlocks: retain.length, ...result };
    },
  };
}
