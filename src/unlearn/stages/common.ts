/** Helpers the unlearning stages share: tokenization, input roles, training keys, model loading. */
import { GraphLogits, graphLogitsFaster } from "../../engine/graph-logits.js";
import { Model } from "../../engine/model.js";
import type { LoraOptions } from "../../engine/trainer.js";
import { UnsupportedModelError } from "../../errors.js";
import { readGguf } from "../../gguf/read.js";
import { fingerprintFile } from "../../run/hash.js";
import type { StageContext } from "../../run/stages.js";
import type { TrainSettings } from "../config.js";
import type { BlockTokens, FragmentEncoder } from "../../corpus/blocks.js";
import { REINFORCED_ADAPTER, REINFORCED_MODEL, UNLEARNED_ADAPTER, UNLEARNED_MODEL, type MethodContext } from "../method.js";
import { trainResumable, type TrainJob, type TrainResult } from "../train-loop.js";

/** The model's tokenizer on fragments (no BOS), as translate.ts requires. */
export function fragmentEncoder(ctx: Pick<MethodContext, "tokenizer">): FragmentEncoder {
  return (text) => ctx.tokenizer.tokenize(text, { addBos: false });
}

/** BOS (when the model adds one) and EOS of the base model. */
export function specialTokens(ctx: Pick<MethodContext, "tokenizer">): BlockTokens {
  const info = ctx.tokenizer.info;
  return { bosId: info.addBos ? info.bosId : -1, eosId: info.eosId };
}

/** Input roles of a corpus, e.g. `{ "forget:0": "a.txt" }`. */
export function corpusInputs(role: string, paths: readonly string[]): Record<string, string> {
  return Object.fromEntries(paths.map((p, i) => [`${role}:${i}`, p]));
}

/** A model to run: a GGUF file, with a LoRA adapter applied when `lora` is set. */
export interface ModelRef {
  path: string;
  lora?: string;
}

/** Whether the run trains LoRA adapters instead of full weights. */
export function usesLora(ctx: { config: MethodContext["config"] }): boolean {
  return ctx.config.lora.rank > 0;
}

/**
 * What a training stage adds to its config under LoRA or BF16 (nothing otherwise, so full F32 runs
 * keep their keys). `merge` is left out: it changes only what is published. Precision enters as
 * resolved, so "auto" on another CPU is another trajectory.
 */
export function trainerConfig(ctx: MethodContext): { lora?: Omit<MethodContext["config"]["lora"], "merge">; precision?: "bf16" } {
  const { merge: _merge, ...lora } = ctx.config.lora;
  return { ...(usesLora(ctx) ? { lora } : {}), ...(ctx.precision === "bf16" ? { precision: "bf16" as const } : {}) };
}

/**
 * The trainer's LoRA options for a run, or none when it trains the full model. Alpha 0 leaves the
 * trainer's default (2 · rank).
 */
export function trainerLora(config: MethodContext["config"]): Omit<LoraOptions, "adapter"> | undefined {
  const { rank, alpha, targets } = config.lora;
  return rank > 0 ? { rank, ...(alpha > 0 ? { alpha } : {}), targets, seed: config.seed } : undefined;
}

/** The file the reinforce stage writes: a model, or under LoRA an adapter. */
export function reinforcedOutput(ctx: MethodContext): string {
  return usesLora(ctx) ? REINFORCED_ADAPTER : REINFORCED_MODEL;
}

/** The file a method's unlearning stage writes: a model, or under LoRA an adapter. */
export function unlearnedOutput(ctx: MethodContext): string {
  return usesLora(ctx) ? UNLEARNED_ADAPTER : UNLEARNED_MODEL;
}

/** The reinforced model: the user's, or the reinforce stage's output (under LoRA, the base with its adapter). */
export function reinforcedModel(ctx: MethodContext): ModelRef {
  if (ctx.reinforcedPath !== undefined) return { path: ctx.reinforcedPath };
  return usesLora(ctx) ? { path: ctx.basePath, lora: ctx.runDir.path(REINFORCED_ADAPTER) } : { path: ctx.runDir.path(REINFORCED_MODEL) };
}

/** The files a model reference reads, as stage inputs. */
export function modelInputs(role: string, ref: ModelRef): Record<string, string> {
  return { [role]: ref.lora ?? ref.path };
}

/** Fingerprints of a stage's inputs, for the key of its checkpoints. */
export async function inputFingerprints(inputs: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [role, path] of Object.entries(inputs)) out[role] = await fingerprintFile(path);
  return out;
}

/**
 * Blocks per logits call: llama.cpp can pack short blocks into one decode. Logits depend in their
 * last bits on what shares the decode, so every stage cuts its blocks into the same fixed runs, and
 * a resumed run recomputes a partly finished group whole.
 */
export const LOGITS_GROUP = 4;

/** `items` in fixed consecutive runs of {@link LOGITS_GROUP}. */
export function logitsGroups<T>(items: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (let g = 0; g < items.length; g += LOGITS_GROUP) groups.push(items.slice(g, g + LOGITS_GROUP));
  return groups;
}

/**
 * Loads a model for inference over blocks of up to `blockTokens` tokens. The context is at least
 * 256: llama.cpp pads smaller contexts to 256 while keeping the smaller batch, and packing
 * sequences up to the padded size would then overflow the batch.
 */
export function loadInferenceModel(model: string | ModelRef, blockTokens: number, threads: number): Promise<Model> {
  const { path, lora } = typeof model === "string" ? { path: model, lora: undefined } : model;
  return Model.load(path, { threads, contextLength: Math.max(256, blockTokens), maxSequences: 4, ...(lora ? { lora } : {}) });
}

/** Logits of whole blocks, from libllama or from lethe's own forward graph. */
export interface BlockLogitsModel {
  logits(seqs: ArrayLike<number>[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

/** Which engine computes the logits of blocks for a set of models: the same one for all of them. */
export type LogitsEngine = "graph" | "llama";

/**
 * lethe's own forward graph where it outruns libllama on every one of `models` (F32 weights with
 * OpenBLAS installed, no LoRA adapter: see graph-logits.ts), else libllama. One engine for all, so
 * logits that are compared position by position share their rounding.
 */
export function logitsEngine(models: readonly ModelRef[]): LogitsEngine {
  return models.every((m) => m.lora === undefined && graphLogitsFaster(m.path)) ? "graph" : "llama";
}

/** Loads a model for the logits of blocks of up to `blockTokens` tokens on `engine`. */
export async function loadBlockLogits(model: ModelRef, engine: LogitsEngine, blockTokens: number, threads: number): Promise<BlockLogitsModel> {
  return engine === "graph" ? GraphLogits.load(model.path, { threads, blockTokens }) : loadInferenceModel(model, blockTokens, threads);
}

/**
 * Refuses two models whose vocabularies differ: their logits could not be compared position by
 * position (labels) nor their tensors subtracted (task vectors).
 */
export function checkSameVocabulary(basePath: string, otherPath: string, role: string): void {
  const base = readGguf(basePath).metadata.get("tokenizer.ggml.tokens");
  const other = readGguf(otherPath).metadata.get("tokenizer.ggml.tokens");
  const tokens = (v: typeof base) => (v && v.type === "array" ? (v.value as string[]) : undefined);
  const a = tokens(base);
  const b = tokens(other);
  if (!a || !b) {
    throw new UnsupportedModelError(`${a ? otherPath : basePath} has no tokenizer.ggml.tokens vocabulary`, "use GGUF models that embed their tokenizer");
  }
  let firstDiff = -1;
  if (a.length === b.length) firstDiff = a.findIndex((t, i) => t !== b[i]);
  if (a.length !== b.length || firstDiff >= 0) {
    const detail = a.length !== b.length ? `${a.length} vs ${b.length} tokens` : `token ${firstDiff} is ${JSON.stringify(a[firstDiff])} vs ${JSON.stringify(b[firstDiff])}`;
    throw new UnsupportedModelError(
      `the ${role} model ${otherPath} has a different vocabulary from the base model ${basePath} (${detail})`,
      `use a ${role} model fine-tuned from the base model, with the same tokenizer`,
    );
  }
}

/**
 * Trains the base model inside a stage with the run's checkpointing, threads and progress, and
 * writes the result to the stage's `output`. Checkpoints are keyed on the stage's config and the
 * fingerprints of its inputs, so a changed setting or file never resumes a stale trajectory.
 */
export async function trainBaseInStage(
  ctx: MethodContext,
  stage: StageContext,
  job: {
    name: string;
    config: unknown;
    inputs: Readonly<Record<string, string>>;
    output: string;
    steps: number;
    settings: TrainSettings;
    batches: TrainJob["batches"];
    startState?: TrainJob["startState"];
    trainEmbeddings?: boolean;
    validation?: TrainJob["validation"];
  },
): Promise<TrainResult> {
  return trainResumable({
    runDir: ctx.runDir,
    stage: job.name,
    key: { config: job.config, inputs: await inputFingerprints(job.inputs) },
    modelPath: ctx.basePath,
    outPath: stage.tmpPath(job.output),
    lora: trainerLora(ctx.config),
    typesFrom: ctx.basePath,
    steps: job.steps,
    settings: job.settings,
    checkpointEvery: ctx.config.checkpointEvery,
    threads: ctx.threads,
    precision: ctx.precision,
    trainEmbeddings: job.trainEmbeddings,
    validation: job.validation,
    signal: stage.signal,
    batches: job.batches,
    startState: job.startState,
    onProgress: (progress) => ctx.emit({ type: "train", progress }),
  });
}
