/**
 * Stage `finetune` of WHP: train the base model on the original forget text with the generic labels
 * as targets (weight 0 where a position has no label), so it learns to predict what a model that
 * never read the corpus would predict.
 */
import { readFileSync } from "node:fs";
import { nextTokenBatch, type WeightedBatch } from "../../engine/trainer.js";
import type { Stage } from "../../run/stages.js";
import { batchIndices } from "../../corpus/blocks.js";
import { FileFormatError, InputError } from "../../errors.js";
import { decodeBlocks, type LabelledBlock } from "../whp/labels-file.js";
import { pairsPerPosition } from "../whp/labels.js";
import { LABELS_FILE, type MethodContext } from "../method.js";
import { corpusInputs, trainerConfig, trainBaseInStage, unlearnedOutput } from "./common.js";
import { readRetainTargets, retainBlocks, retainBlocksUsed, RETAIN_TARGETS_FILE } from "./retain-targets.js";
import type { TrainJob } from "../train-loop.js";

/** A batch of labelled blocks padded to `T` (padding is masked), with the blocks' K pairs per position. */
export function labelledBatch(blocks: readonly LabelledBlock[], T: number, scale = 1): WeightedBatch {
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
          weights[dst] = w * scale;
        }
      }
    }
  });
  return { B, T, K, tokens, targets, weights };
}

export function finetuneStage(ctx: MethodContext): Stage {
  const settings = ctx.config.finetune;
  const config = { settings, blockTokens: ctx.blockTokens, seed: ctx.config.seed, ...trainerConfig(ctx) };
  const mixRetain = settings.retainWeight > 0 && ctx.retain.length > 0;
  const towardsBase = mixRetain && settings.retainLoss === "kl";
  const inputs = {
    model: ctx.basePath,
    labels: ctx.runDir.path(LABELS_FILE),
    ...(mixRetain ? corpusInputs("retain", ctx.retainPaths) : {}),
    ...(towardsBase ? { retainTargets: ctx.runDir.path(RETAIN_TARGETS_FILE) } : {}),
  };
  return {
    name: "finetune",
    config,
    inputs,
    outputs: [unlearnedOutput(ctx)],
    async run(stage) {
      const path = ctx.runDir.path(LABELS_FILE);
      const blocks = decodeBlocks(readFileSync(path), path);
      const T = Math.max(...blocks.map((b) => b.tokens.length));
      // Retain blocks keep the model's general next-token behaviour while the labels rewrite the forget text.
      const retain = mixRetain ? retainBlocks(ctx) : [];
      const baseTargets = towardsBase ? readRetainTargets(ctx, retain.length) : undefined;
      const result = await trainBaseInStage(ctx, stage, {
        name: "finetune",
        config,
        inputs,
        output: unlearnedOutput(ctx),
        steps: settings.steps,
        settings,
        trainEmbeddings: settings.trainEmbeddings,
        validation: settings.validateEvery > 0 ? validation(ctx, blocks, retain, settings) : undefined,
        batches: async (step) => {
          const batches = [labelledBatch(batchIndices(blocks.length, settings.batchSize, step, ctx.config.seed).map((i) => blocks[i]!), T)];
          if (retain.length > 0) {
            const picked = batchIndices(retain.length, settings.batchSize, step, ctx.config.seed + 1);
            batches.push(
              baseTargets
                ? labelledBatch(picked.map((i) => baseTargets.get(i)!), ctx.blockTokens, settings.retainWeight)
                : nextTokenBatch(picked.map((i) => retain[i]!), undefined, settings.retainWeight),
            );
          }
          return { batches };
        },
      });
      if (result.validation?.keptStep === 0) {
        ctx.emit({
          type: "warn",
          message: `no fine-tune checkpoint kept retain perplexity within ${settings.maxRetainRise * 100}% of the start's, so the output is the base model unchanged; lower finetune.lr or raise finetune.maxRetainRise`,
        });
      }
      return { blocks: blocks.length, retainBlocks: retain.length, ...result };
    },
  };
}

/** Blocks of each side that validation measures. */
const VALIDATION_BLOCKS = 8;

/**
 * The validation of the fine-tune: perplexity on retain blocks the fine-tune never visits (visited
 * ones when the retain text has no others), and the geometric-mean probability of the forget text's
 * own next tokens where the labels differ from it, on the first labelled blocks.
 */
function validation(ctx: MethodContext, blocks: readonly LabelledBlock[], retain: readonly number[][], settings: MethodContext["config"]["finetune"]): NonNullable<TrainJob["validation"]> {
  if (retain.length === 0) throw new InputError("finetune.validateEvery needs retain text to measure perplexity on", "pass --retain, or set finetune.validateEvery to 0");
  const visited = new Set(retainBlocksUsed(ctx, retain.length));
  const unseen = retain.filter((_, i) => !visited.has(i));
  if (unseen.length === 0) ctx.emit({ type: "warn", message: "every retain block is trained on, so validation perplexity is measured on trained blocks" });
  const retainBatch = nextTokenBatch((unseen.length > 0 ? unseen : retain).slice(0, VALIDATION_BLOCKS));
  const forget = blocks.slice(0, VALIDATION_BLOCKS);
  const T = Math.max(...forget.map((b) => b.tokens.length));
  const forgetBatch = labelledBatch(
    forget.map(({ tokens, labels }) => {
      const k = pairsPerPosition(labels);
      const target = new Int32Array(tokens.length).fill(-1);
      const weight = new Float32Array(tokens.length);
      for (let i = 0; i + 1 < tokens.length; i++) {
        if (labels.weight[i * k]! > 0 && labels.target[i * k] !== tokens[i + 1]) {
          target[i] = tokens[i + 1]!;
          weight[i] = 1;
        }
      }
      return { tokens, labels: { target, weight } };
    }),
    T,
  );
  return {
    every: settings.validateEvery,
    maxRetainRise: settings.maxRetainRise,
    async measure(trainer, step) {
      const retainLoss = await trainer.loss(retainBatch);
      const forgetLoss = await trainer.loss(forgetBatch);
      return { step, retainPpl: Math.exp(retainLoss), forgetProbability: Math.exp(-forgetLoss) };
    },
  };
}
