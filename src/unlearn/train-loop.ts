/**
 * Training as every unlearning method does it: load a model into the trainer, run the training
 * loop (training/loop.ts) on batches the method supplies, checkpoint regularly so a killed run
 * resumes exactly, and write the result with the base model's tensor types, or, under LoRA, as an
 * adapter.
 */
import { copyFileSync, renameSync, rmSync } from "node:fs";
import { cosineSchedule } from "../engine/schedule.js";
import { quantizeModel, modelFileType } from "../engine/quantize.js";
import { Trainer, type LoraOptions, type WeightedBatch } from "../engine/trainer.js";
import { readGguf, readTensorF32 } from "../gguf/read.js";
import { GgmlType, type GgufTensorInput } from "../gguf/types.js";
import { writeGguf } from "../gguf/write.js";
import { hashConfig } from "../run/hash.js";
import type { RunDir } from "../run/run-dir.js";
import { trainLoop } from "../training/loop.js";
import { readOptimizerState } from "../training/optimizer-state.js";
import { findCheckpoint, keptModelPath, saveCheckpoint } from "./checkpoint.js";
import { chooseCheckpoint, isBetterCheckpoint, type ValidationPoint } from "./checkpoint-choice.js";
import type { TrainSettings } from "./config.js";

/** Progress of a training stage. */
export interface TrainProgress {
  stage: string;
  step: number;
  steps: number;
  loss: number;
  tokensPerStep: number;
  /** Set on the first report when training resumed from a checkpoint. */
  resumedFrom?: number;
}

/** What a method gives the loop. */
export interface TrainJob {
  runDir: RunDir;
  /** The stage name (checkpoint folder and progress label). */
  stage: string;
  /** Everything the trajectory depends on (config, input fingerprints); a checkpoint of another key is stale. */
  key: unknown;
  /** The model training starts from. */
  modelPath: string;
  /** The finished model's path (the stage's tmp output). */
  outPath: string;
  /** Tensor types of the output follow this model (the user's base). */
  typesFrom: string;
  steps: number;
  settings: TrainSettings;
  checkpointEvery: number;
  threads: number;
  /** The matrix products' arithmetic (TrainerOptions.precision); default f32. */
  precision?: "f32" | "bf16";
  /** Train the token embeddings (and a tied output); default true. */
  trainEmbeddings?: boolean;
  /**
   * Train a LoRA adapter on the frozen `modelPath` instead of the weights: checkpoints, kept weights
   * and the output are then adapters.
   */
  lora?: Omit<LoraOptions, "adapter">;
  signal: AbortSignal;
  /**
   * The micro-batches of optimizer step `step` (0-based), a pure function of the step (and of the
   * start state) so a resumed run sees the same data. May read the current weights through
   * `trainer` (NPO does), and may divide the step's weighted loss by a `normalizer` of its own
   * instead of Σ|w| (see Trainer.step).
   */
  batches(step: number, trainer: Trainer): Promise<{ batches: WeightedBatch[]; normalizer?: number }>;
  /**
   * What a method derives from the weights training starts from (NPO: the reference
   * log-likelihoods of its forget blocks). `compute` runs once, before the first step of a fresh
   * run, while the trainer holds the starting weights; its result (JSON) is kept in every
   * checkpoint, and a resumed run hands it to `restore` rather than computing it from the
   * checkpoint's weights. A checkpoint without it is not resumed.
   */
  startState?: { compute(trainer: Trainer): Promise<unknown>; restore(saved: unknown): void };
  onProgress?(p: TrainProgress): void;
  /** Measure every few steps and keep the best checkpoint instead of the last (see checkpoint-choice.ts). */
  validation?: {
    every: number;
    /** Retain perplexity may rise at most this much over the start's (0.05: 5 %). */
    maxRetainRise: number;
    measure(trainer: Trainer, step: number): Promise<ValidationPoint>;
  };
}

/** The outcome of {@link trainResumable}. */
export interface TrainResult {
  steps: number;
  resumedFrom: number;
  firstLoss: number;
  finalLoss: number;
  /** Mean loss of each tenth of the run, for the manifest. */
  lossCurve: number[];
  /** With validation: every point measured, and the step whose weights were kept. */
  validation?: { points: ValidationPoint[]; keptStep: number };
}

/** Runs a training job to its end, resuming from its checkpoint when one matches. */
export async function trainResumable(job: TrainJob): Promise<TrainResult> {
  const key = hashConfig(job.key);
  const found = findCheckpoint(job.runDir, job.stage, key);
  const checkpoint = found && (!job.startState || found.state.startState !== undefined) ? found : undefined;
  const trainer = job.lora
    ? await Trainer.load(job.modelPath, { threads: job.threads, precision: job.precision, lora: { ...job.lora, ...(checkpoint ? { adapter: checkpoint.modelPath } : {}) } })
    : await Trainer.load(checkpoint?.modelPath ?? job.modelPath, { threads: job.threads, precision: job.precision, trainEmbeddings: job.trainEmbeddings ?? true });
  const write = (path: string) => (job.lora ? trainer.saveAdapter(path) : saveWithTypesOf(trainer, job.typesFrom, path));
  const losses: number[] = checkpoint ? [...checkpoint.state.losses] : [];
  const start = checkpoint?.state.step ?? 0;
  const points: ValidationPoint[] = checkpoint?.state.validation ? [...checkpoint.state.validation] : [];
  // The kept weights are written typed as the output will be; a resumed run that replays past the
  // last checkpoint measures the same points again and rewrites them identically.
  const keptPath = keptModelPath(job.runDir, job.stage);
  const validate = async (step: number) => {
    const v = job.validation!;
    const p = await v.measure(trainer, step);
    points.push(p);
    if (step === 0 || isBetterCheckpoint(p, chooseCheckpoint(points.slice(0, -1), v.maxRetainRise)!, points[0]!, v.maxRetainRise)) {
      await write(keptPath);
    }
  };
  try {
    if (checkpoint) trainer.setOptimizerState(readOptimizerState(checkpoint.optimizerPath));
    let startState: unknown;
    if (job.startState) {
      if (checkpoint) job.startState.restore((startState = checkpoint.state.startState));
      else startState = await job.startState.compute(trainer);
    }
    const { lr, warmupSteps, weightDecay, clip } = job.settings;
    const schedule = cosineSchedule({ lr, warmupSteps: Math.min(warmupSteps, job.steps), totalSteps: job.steps });
    if (job.validation && start === 0) await validate(0);
    await trainLoop({
      trainer,
      from: start,
      steps: job.steps,
      what: `the ${job.stage} stage`,
      signal: job.signal,
      data: (step) => job.batches(step, trainer),
      optimizer: (step) => ({ lr: schedule(step), weightDecay, clip }),
      afterStep: async (done, result, { batches }) => {
        losses.push(result.loss);
        const tokensPerStep = batches.reduce((n, b) => n + b.B * b.T, 0);
        job.onProgress?.({ stage: job.stage, step: done, steps: job.steps, loss: result.loss, tokensPerStep, resumedFrom: done === start + 1 && start > 0 ? start : undefined });
        if (job.validation && (done % job.validation.every === 0 || done === job.steps)) await validate(done);
        if (done % job.checkpointEvery === 0 && done < job.steps) {
          await saveCheckpoint(job.runDir, job.stage, trainer, {
            key,
            step: done,
            losses,
            ...(job.validation ? { validation: points } : {}),
            ...(job.startState ? { startState } : {}),
          });
        }
      },
    });
    if (job.validation) copyFileSync(keptPath, job.outPath);
    else await write(job.outPath);
  } finally {
    await trainer.dispose();
  }
  const tenth = Math.max(1, Math.ceil(losses.length / 10));
  const lossCurve: number[] = [];
  for (let i = 0; i < losses.length; i += tenth) {
    const part = losses.slice(i, i + tenth);
    lossCurve.push(round(part.reduce((a, b) => a + b, 0) / part.length));
  }
  const kept = job.validation ? chooseCheckpoint(points, job.validation.maxRetainRise) : undefined;
  return {
    steps: job.steps,
    resumedFrom: start,
    firstLoss: round(losses[0] ?? NaN),
    finalLoss: round(losses[losses.length - 1] ?? NaN),
    lossCurve,
    ...(kept ? { validation: { points: points.map((p) => ({ step: p.step, retainPpl: round(p.retainPpl), forgetProbability: round(p.forgetProbability) })), keptStep: kept.step } } : {}),
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e5) / 1e5 : x;
}

/**
 * Saves the trainer's weights with the tensor types of `typesFrom` (an F16 base gives an F16
 * result), whatever file the trainer was loaded from, so a run resumed from an F32 checkpoint
 * writes exactly what an uninterrupted run writes. A quantized base's result goes through
 * llama.cpp's quantizer to the base's file type (Q4_K_M in, Q4_K_M out).
 */
export async function saveWithTypesOf(trainer: Trainer, typesFrom: string, out: string): Promise<void> {
  const wide = `${out}.f32`;
  await trainer.save(wide, { dtype: "f32" });
  const reference = readGguf(typesFrom);
  const wanted = new Map(reference.tensors.map((t) => [t.name, t.type]));
  const saved = readGguf(wide);
  if (saved.tensors.every((t) => (wanted.get(t.name) ?? GgmlType.F32) === t.type)) {
    renameSync(wide, out);
    return;
  }
  const fileType = modelFileType(typesFrom);
  const quantized = reference.tensors.some((t) => ![GgmlType.F32, GgmlType.F16, GgmlType.BF16].includes(t.type));
  if (quantized && fileType !== undefined) {
    try {
      await quantizeModel(wide, out, fileType);
    } finally {
      rmSync(wide, { force: true });
    }
    return;
  }
  const tensors: GgufTensorInput[] = saved.tensors.map((t) => {
    const type = wanted.get(t.name);
    return {
      name: t.name,
      dims: t.dims,
      type: type === GgmlType.F16 || type === GgmlType.BF16 ? type : GgmlType.F32,
      data: readTensorF32(saved, t.name),
    };
  });
  writeGguf(out, { metadata: reference.metadata, tensors });
  rmSync(wide, { force: true });
}
