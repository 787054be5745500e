/**
 * Stage `retain-targets` (WHP with `finetune.retainLoss = "kl"`): the frozen base model's next-token
 * distribution on the retain blocks the fine-tune will visit, as top-K-and-tail target pairs in the
 * labels file format. Training towards them is a KL penalty to the base on retain text: it holds the
 * model's general behaviour where it was, where next-token training on the retain text would go on
 * fitting that text.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Model } from "../../engine/model.js";
import { CancelledError, InputError } from "../../errors.js";
import type { Stage } from "../../run/stages.js";
import { batchIndices, tokenBlocks } from "../../corpus/blocks.js";
import { decodeBlocks, encodeBlock, type LabelledBlock } from "../whp/labels-file.js";
import type { MethodContext } from "../method.js";
import { distributionLabels } from "../whp/labels.js";
import { corpusInputs, fragmentEncoder, loadInferenceModel, logitsGroups, specialTokens } from "./common.js";

export const RETAIN_TARGETS_FILE = "retain-targets.bin";

/** The retain blocks the fine-tune visits, in ascending order (its batches are a pure function of the step). */
export function retainBlocksUsed(ctx: Pick<MethodContext, "config">, nBlocks: number): number[] {
  const { steps, batchSize } = ctx.config.finetune;
  const used = new Set<number>();
  for (let step = 0; step < steps; step++) for (const i of batchIndices(nBlocks, batchSize, step, ctx.config.seed + 1)) used.add(i);
  return [...used].sort((a, b) => a - b);
}

/** The retain blocks of the run, as the fine-tune cuts them. */
export function retainBlocks(ctx: Pick<MethodContext, "retain" | "tokenizer" | "blockTokens">): number[][] {
  return tokenBlocks(ctx.retain, fragmentEncoder(ctx), specialTokens(ctx), ctx.blockTokens);
}

/** Reads the stage's output: block index → its targets. */
export function readRetainTargets(ctx: MethodContext, nBlocks: number): Map<number, LabelledBlock> {
  const path = ctx.runDir.path(RETAIN_TARGETS_FILE);
  const blocks = decodeBlocks(readFileSync(path), path);
  const used = retainBlocksUsed(ctx, nBlocks);
  if (blocks.length !== used.length) throw new InputError(`${path} holds ${blocks.length} blocks, the fine-tune visits ${used.length}`, `delete ${path} and rerun`);
  return new Map(used.map((index, k) => [index, blocks[k]!]));
}

/** The stage, when the fine-tune trains towards the base model on retain text. */
export function retainTargetsStage(ctx: MethodContext): Stage[] {
  if (ctx.config.finetune.retainLoss !== "kl" || ctx.config.finetune.retainWeight <= 0 || ctx.retain.length === 0) return [];
  const { retainTopK: topK, retainTail: tail } = ctx.config.finetune;
  // The labels' temperature, so forget and retain targets are distributions of one kind.
  const { temperature } = ctx.config.labels;
  if (topK + tail < 2) {
    throw new InputError(
      'finetune.retainLoss "kl" needs a distribution, but finetune.retainTopK is 1 and finetune.retainTail 0 (the base model\'s argmax alone)',
      'set finetune.retainTail (e.g. 16) or finetune.retainTopK > 1, or use finetune.retainLoss "nll"',
    );
  }
  const { steps, batchSize } = ctx.config.finetune;
  const config = { topK, tail, temperature, steps, batchSize, blockTokens: ctx.blockTokens, seed: ctx.config.seed };
  const inputs = { model: ctx.basePath, ...corpusInputs("retain", ctx.retainPaths) };
  return [
    {
      name: "retain-targets",
      config,
      inputs,
      outputs: [RETAIN_TARGETS_FILE],
      async run(stage) {
        const blocks = retainBlocks(ctx);
        const used = retainBlocksUsed(ctx, blocks.length);
        const vocab = ctx.tokenizer.info.nVocab;
        const parts: Uint8Array[] = [];
        let model: Model | undefined;
        try {
          let done = 0;
          for (const group of logitsGroups(used)) {
            if (stage.signal.aborted) throw new CancelledError("the retain-targets stage");
            model ??= await loadInferenceModel(ctx.basePath, ctx.blockTokens, ctx.threads);
            const logits = await model.logits(group.map((i) => blocks[i]!));
            group.forEach((index, k) => {
              const tokens = blocks[index]!;
              const labels = distributionLabels(logits[k]!, tokens, vocab, topK, { tail, temperature }, ctx.config.seed * 1_000_003 + index);
              parts.push(encodeBlock({ tokens: Int32Array.from(tokens), labels }));
            });
            done += group.length;
            ctx.emit({ type: "work", stage: "retain-targets", label: "base on retain", done, total: used.length, unit: "block" });
          }
        } finally {
          await model?.dispose();
        }
        writeFileSync(stage.tmpPath(RETAIN_TARGETS_FILE), Buffer.concat(parts));
        return { blocks: used.length, pairsPerPosition: topK + tail };
      },
    },
  ];
}
