/**
 * The relearning probe's training half: fine-tune a copy of a model for a few steps on a small
 * slice of the forget corpus. Knowledge that unlearning only hid comes back after a handful of
 * steps, far faster than a model that never knew it (the gold model) can learn it from the same
 * slice (Lynch et al. 2024, Deeb & Roger 2024); the caller re-measures familiarity on the result.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Trainer as TrainerType } from "../engine/trainer.js";
import { InputError } from "../errors.js";
import { trainLoop } from "../training/loop.js";

/** Settings of {@link relearn}. */
export interface RelearnOptions {
  /** Optimizer steps (default 20). */
  steps?: number;
  /** Constant learning rate (default 3e-4). */
  lr?: number;
  /** Blocks per step (default 4). */
  batchSize?: number;
  /** Tokens per block (default the model's training context, at most 256). */
  blockTokens?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /**
   * A LoRA adapter the model runs with. Relearning then fine-tunes the merged weights, as an
   * attacker holding base and adapter could.
   */
  lora?: string;
}

/** A relearned copy of a model; call `cleanup` once it has been measured. */
export interface RelearnedModel {
  path: string;
  steps: number;
  /** Loss of the first and the last step (before each update). */
  lossStart: number;
  lossEnd: number;
  tokens: number;
  cleanup(): void;
}

/**
 * Cuts tokenized documents into training blocks of at most `T` tokens, each starting with `bos`
 * (as in pretraining), so no block straddles two documents. Pieces of fewer than 2 tokens teach
 * nothing and are dropped.
 */
export function relearnBlocks(docs: readonly (readonly number[])[], T: number, bos: number): number[][] {
  if (T < 2) throw new InputError(`relearning blocks of ${T} tokens cannot hold a target`, "use blocks of at least 2 tokens");
  const blocks: number[][] = [];
  for (const doc of docs) {
    const body = doc[0] === bos ? doc.slice(1) : [...doc];
    for (let start = 0; start < body.length; start += T - 1) {
      const block = [bos, ...body.slice(start, start + T - 1)];
      if (block.length >= 2) blocks.push(block);
    }
  }
  return blocks;
}

/** Which blocks step `step` trains on: the next `batchSize` in order, wrapping around. */
export function blocksForStep(blockCount: number, batchSize: number, step: number): number[] {
  return Array.from({ length: batchSize }, (_, j) => (step * batchSize + j) % blockCount);
}

/**
 * Fine-tunes `modelPath` on `texts` (tokenized by `tokenize`, which must add BOS) and writes the
 * result to a temporary GGUF. Deterministic: blocks are visited in order, no sampling.
 */
export async function relearn(
  modelPath: string,
  texts: readonly string[],
  tokenize: (text: string) => number[],
  opts: RelearnOptions = {},
): Promise<RelearnedModel> {
  if (texts.length === 0) throw new InputError("the relearning slice is empty", "give some forget-corpus text to relearn from");
  const steps = opts.steps ?? 20;
  const batchSize = opts.batchSize ?? 4;
  const { Trainer, mergeLoraAdapter, nextTokenBatch } = await import("../engine/trainer.js");
  const dir = mkdtempSync(join(tmpdir(), "lethe-relearn-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let trainer: TrainerType;
  try {
    let start = modelPath;
    if (opts.lora) {
      start = join(dir, "merged.gguf");
      await mergeLoraAdapter(modelPath, opts.lora, start, { dtype: "f32", threads: opts.threads });
    }
    trainer = await Trainer.load(start, { threads: opts.threads });
  } catch (error) {
    cleanup();
    throw error;
  }
  try {
    const T = Math.min(opts.blockTokens ?? 256, trainer.info.nCtxTrain);
    const docs = texts.map(tokenize);
    const bos = docs[0][0];
    const blocks = relearnBlocks(docs, T, bos);
    if (blocks.length === 0) throw new InputError("the relearning slice has no text to train on", "give longer forget-corpus passages");
    let lossStart = NaN;
    let lossEnd = NaN;
    await trainLoop({
      trainer,
      from: 0,
      steps,
      what: "the relearning probe",
      signal: opts.signal,
      data: (step) => ({ batches: [nextTokenBatch(blocksForStep(blocks.length, batchSize, step).map((i) => blocks[i]), T)] }),
      optimizer: () => ({ lr: opts.lr ?? 3e-4 }),
      afterStep(done, r) {
        if (done === 1) lossStart = r.loss;
        lossEnd = r.loss;
        opts.onProgress?.(done, steps);
      },
    });
    const path = join(dir, "relearned.gguf");
    await trainer.save(path);
    return { path, steps, lossStart, lossEnd, tokens: blocks.reduce((n, b) => n + b.length, 0), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  } finally {
    await trainer.dispose();
  }
}
