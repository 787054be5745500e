/**
 * lethe's trainer: fine-tunes a Llama-family GGUF on weighted per-position targets.
 *
 * The loss over the (position, target, weight) pairs of one optimizer step is
 *   L = −Σ w · log softmax(logits[pos])[target] / Σ|w|
 * so w = 1 trains towards a target, w = 0 masks a position and w < 0 pushes a target down
 * (gradient ascent). A caller may divide by a normaliser of its own instead of Σ|w| (NPO does, so
 * that its weights keep their scale). Full fine-tuning holds every weight in F32, whatever the
 * file's type; LoRA keeps the base frozen in its file's type and trains small F32 pairs beside it.
 */
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

import { InputError, UnsupportedModelError } from "../errors.js";
import { inspectLoraAdapter, type LoraAdapterInfo } from "../gguf/lora-adapter.js";
import { inspectModelFile } from "./model.js";
import {
  native,
  nativeBf16,
  resolveThreads,
  translateNativeError,
  type NativeMicroBatch,
  type NativeOptimizerState,
  type NativeTrainer,
  type ProgressCallback,
} from "./native.js";
import { NativeResource } from "./native-resource.js";

export interface TrainerOptions {
  /** CPU threads; default all cores, never more. */
  threads?: number;
  /** Train the token embeddings too (default true). With tied embeddings this also freezes the output. */
  trainEmbeddings?: boolean;
  /**
   * For tests: positions per loss gather, at most {@link maxGatherPositions}; default that bound.
   * Only batches of more positions than this are gathered in chunks, so a small value exercises
   * the chunked loss on a tiny model.
   */
  gatherPositions?: number;
  /** Train a LoRA adapter instead of the weights (see {@link LoraOptions}). */
  lora?: LoraOptions;
  /**
   * The matrix products' arithmetic (default "f32"). "bf16" is mixed precision as PyTorch's
   * autocast runs it: weights, gradients, their accumulation and AdamW stay F32, while every matrix
   * product with a weight, forward and backward, reads its operands in bfloat16 (8 bits of
   * mantissa) and accumulates in F32. Only where the CPU multiplies BF16 natively
   * ({@link nativeBf16}); see {@link resolvePrecision} for "auto".
   */
  precision?: Precision;
}

/** What `precision` may be set to. */
export const PRECISIONS = ["f32", "bf16", "auto"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** "auto" is "bf16" where the CPU multiplies BF16 natively, else "f32"; "bf16" elsewhere is an error. */
export function resolvePrecision(precision: Precision = "f32", bf16Native = nativeBf16()): "f32" | "bf16" {
  if (precision === "f32") return "f32";
  if (precision === "auto") return bf16Native ? "bf16" : "f32";
  if (precision !== "bf16") throw new InputError(`unknown precision "${String(precision)}"`, "use f32, bf16 or auto");
  if (!bf16Native) {
    throw new InputError(
      "precision bf16 needs a CPU that multiplies bfloat16 natively (AVX512-BF16); this one would emulate it, slower than F32",
      "use precision f32 or auto",
    );
  }
  return "bf16";
}

/** The matrices a LoRA pair can sit beside: attention q/k/v/o and the MLP's gate/up/down. */
export const LORA_TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraOptions {
  /** r: the pairs' inner width, at least 1 and at most the smaller side of every targeted matrix. */
  rank: number;
  /** The update is scaled by alpha / rank; default 2 · rank (scale 2, as PEFT examples use). */
  alpha?: number;
  /** Which matrices get a pair; default all of {@link LORA_TARGETS}. */
  targets?: readonly LoraTarget[];
  /** Seed of A's random start (B starts at zero, so step 0 is the base model); default 0. */
  seed?: number;
  /** Continue from this adapter's A and B (written by {@link Trainer.saveAdapter}); rank and targets must match. */
  adapter?: string;
}

/** Options with every default filled, as the native trainer takes them. */
export function resolveLora(lora: LoraOptions): Required<Omit<LoraOptions, "adapter">> & { adapter?: string } {
  const { rank, alpha = 2 * rank, targets = LORA_TARGETS, seed = 0, adapter } = lora;
  if (!Number.isSafeInteger(rank) || rank < 1) {
    throw new InputError(`LoRA rank must be a positive integer, got ${rank}`, "use e.g. --lora 16");
  }
  // A negative alpha is a negated adapter (the task vector of a LoRA run).
  if (!Number.isFinite(alpha) || alpha === 0) throw new InputError(`LoRA alpha must be a non-zero number, got ${alpha}`, "use e.g. alpha = 2 × rank");
  if (targets.length === 0) throw new InputError("LoRA targets are empty", `name one or more of ${LORA_TARGETS.join(", ")}`);
  for (const t of targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new InputError(`unknown LoRA target "${t}"`, `use ${LORA_TARGETS.join(", ")}`);
    }
  }
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`LoRA seed must be an integer in 0..2^32-1, got ${seed}`, "pick another seed");
  if (adapter !== undefined && !existsSync(adapter)) {
    throw new InputError(`LoRA adapter ${adapter} does not exist`, "pass the path of an adapter written by lethe (or leave it out to start fresh)");
  }
  return { rank, alpha, targets: [...new Set(targets)], seed, ...(adapter !== undefined ? { adapter } : {}) };
}

/**
 * The most positions one loss gather may hold for a vocabulary of `nVocab`: the gather reads the
 * probabilities at flat int32 indices (position within the chunk) · vocabulary + target, which
 * must stay below 2^31. Larger micro-batches are gathered in chunks of this many positions
 * (native/trainer-core.cc, EnsureGraph).
 */
export function maxGatherPositions(nVocab: number): number {
  return Math.floor(2 ** 31 / nVocab);
}

/** AdamW's moments and epsilon when a step does not set them (nanoGPT's betas). */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.95, eps: 1e-8 } as const;

/** How the weighted sum of one step is normalised. */
export interface LossOptions {
  /**
   * Divide by this instead of Σ|w| over the step (a positive number). With a fixed normaliser the
   * gradient keeps the scale of the weights: Σ w·∇log p / normalizer. A step whose weights are all
   * 0 is still skipped. Default Σ|w|.
   */
  normalizer?: number;
}

export interface OptimizerOptions extends LossOptions {
  /** Learning rate of this step (schedules live in schedule.ts). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay on matrices; default 0. */
  weightDecay?: number;
  /** Global gradient-norm clip; 0 disables; default 1. */
  clip?: number;
}

/**
 * B sequences of T tokens, with K (target, weight) pairs per position, row-major: the pairs of
 * position t of sequence b start at index (b*T + t)*K.
 */
export type WeightedBatch = NativeMicroBatch;

export interface StepResult {
  /** Loss of the step before the update (normalised by Σ|w| over all its micro-batches, or the normaliser given). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** True when every weight was 0: nothing was learned and the parameters are unchanged. */
  skipped: boolean;
}

export type OptimizerState = NativeOptimizerState;

/** The model as the trainer loaded it. */
export type TrainerInfo = Omit<ReturnType<NativeTrainer["info"]>, "arch" | "step"> & {
  path: string;
  architecture: string;
  /** The matrix products' arithmetic, "auto" resolved. */
  precision: "f32" | "bf16";
};

/**
 * Next-token targets for equal-or-shorter sequences, padded to T with masked positions: position t
 * predicts token t+1, and the last position of each sequence is masked.
 */
export function nextTokenBatch(seqs: ArrayLike<number>[], T?: number, weight = 1): WeightedBatch {
  if (seqs.length === 0) throw new InputError("a batch needs at least one sequence", "pass one or more sequences");
  const len = T ?? Math.max(...seqs.map((s) => s.length));
  const B = seqs.length;
  const tokens = new Int32Array(B * len);
  const targets = new Int32Array(B * len);
  const weights = new Float32Array(B * len);
  seqs.forEach((s, b) => {
    if (s.length > len) throw new InputError(`sequence ${b} has ${s.length} tokens, more than T = ${len}`, "cut sequences to T tokens");
    for (let t = 0; t < s.length; t++) {
      tokens[b * len + t] = s[t]!;
      if (t + 1 < s.length) {
        targets[b * len + t] = s[t + 1]!;
        weights[b * len + t] = weight;
      }
    }
  });
  return { B, T: len, K: 1, tokens, targets, weights };
}

export class Trainer extends NativeResource<NativeTrainer> {
  readonly info: TrainerInfo;

  private constructor(info: TrainerInfo, handle: NativeTrainer) {
    super(handle, `trainer for ${info.path}`);
    this.info = info;
  }

  /**
   * Loads a GGUF model for training: every tensor as F32, or with `lora` the base frozen in its
   * file's types and only the adapter's pairs trainable.
   */
  static async load(path: string, options: TrainerOptions = {}): Promise<Trainer> {
    inspectModelFile(path);
    const { gatherPositions } = options;
    const lora = options.lora ? resolveLora(options.lora) : undefined;
    if (gatherPositions !== undefined && (!Number.isSafeInteger(gatherPositions) || gatherPositions < 1)) {
      throw new InputError(`gatherPositions must be a positive integer, got ${gatherPositions}`, "leave it unset outside tests");
    }
    const precision = resolvePrecision(options.precision);
    let handle: NativeTrainer;
    try {
      handle = new (native().Trainer)(path, {
        threads: resolveThreads(options.threads),
        trainEmbeddings: options.trainEmbeddings ?? true,
        ...(gatherPositions !== undefined ? { gatherPositions } : {}),
        precision,
        ...(lora ? { lora: { ...lora, targets: [...lora.targets] } } : {}),
      });
    } catch (e) {
      throw translateNativeError(e, `loading ${path} for training`);
    }
    const { arch, step: _step, ...info } = handle.info();
    return new Trainer(
      { ...info, path, architecture: arch, precision },
      handle,
    );
  }

  /**
   * One optimizer step over one or more micro-batches (gradient accumulation): forward, backward,
   * global-norm clipping and AdamW.
   */
  step(batches: WeightedBatch | WeightedBatch[], opt: OptimizerOptions, onProgress?: ProgressCallback): Promise<StepResult> {
    const list = this.checkBatches(batches);
    const normalizer = checkNormalizer(opt);
    const o = {
      lr: opt.lr,
      beta1: opt.beta1 ?? ADAMW_DEFAULTS.beta1,
      beta2: opt.beta2 ?? ADAMW_DEFAULTS.beta2,
      eps: opt.eps ?? ADAMW_DEFAULTS.eps,
      weightDecay: opt.weightDecay ?? 0,
      clip: opt.clip ?? 1,
    };
    for (const [k, v] of Object.entries(o)) {
      if (!Number.isFinite(v) || v < 0) throw new InputError(`optimizer option ${k} must be a finite number >= 0, got ${v}`, `fix ${k}`);
    }
    if (o.beta1 >= 1 || o.beta2 >= 1) throw new InputError("betas must be below 1", "use e.g. beta1 0.9, beta2 0.95");
    return this.run("training step", (h) => h.step(list, o, onProgress, normalizer));
  }

  /** Forward and backward without an update; read the result with {@link gradient}. */
  computeGradients(batches: WeightedBatch | WeightedBatch[], options: LossOptions = {}): Promise<StepResult> {
    const list = this.checkBatches(batches);
    const normalizer = checkNormalizer(options);
    return this.run("computing gradients", (h) => h.gradients(list, null, undefined, normalizer));
  }

  /**
   * The loss of the batches under the current weights, forward only. With `normalizer: 1` it is
   * −Σ w·log p itself: for one sequence with weights 1, minus its log-likelihood.
   */
  async loss(batches: WeightedBatch | WeightedBatch[], options: LossOptions = {}): Promise<number> {
    const list = this.checkBatches(batches);
    const normalizer = checkNormalizer(options);
    return (await this.run("computing the loss", (h) => h.loss(list, null, undefined, normalizer))).loss;
  }

  /** Logits of the trainer's own graph for B sequences of equal length: [B*T, vocab] row-major. */
  async forward(seqs: ArrayLike<number>[]): Promise<Float32Array> {
    const batch = nextTokenBatch(seqs);
    if (seqs.some((s) => s.length !== batch.T)) {
      throw new InputError("forward needs sequences of equal length", "pad or cut the sequences to one length");
    }
    this.checkBatches(batch);
    // The loss of any size works (it gathers in chunks); the logits handed back must fit one array.
    if (batch.B * batch.T * this.info.nVocab > MAX_FLOAT32_ARRAY) {
      throw new InputError(
        `the logits of ${batch.B * batch.T} positions × a ${this.info.nVocab}-token vocabulary do not fit one Float32Array`,
        `forward at most ${Math.floor(MAX_FLOAT32_ARRAY / this.info.nVocab)} positions at a time`,
      );
    }
    const out = new Float32Array(batch.B * batch.T * this.info.nVocab);
    await this.run("forward pass", (h) => h.forward(batch.tokens, batch.B, batch.T, out));
    return out;
  }

  /** A copy of a tensor's current F32 values. */
  tensor(name: string): Float32Array {
    return this.sync(`reading tensor ${name}`, (h) => h.getTensor(name));
  }

  /** A copy of a trainable tensor's gradient from the last step or computeGradients. */
  gradient(name: string): Float32Array {
    return this.sync(`reading the gradient of ${name}`, (h) => h.getGradient(name));
  }

  /** Overwrites a tensor's values (for tests and weight surgery). */
  setTensor(name: string, data: Float32Array): void {
    this.sync(`writing tensor ${name}`, (h) => h.setTensor(name, data));
  }

  /**
   * Writes the model as GGUF with the source metadata: F32, or each tensor's source type (a
   * quantized tensor is quantized again; under LoRA one without a pair is copied unchanged). Under
   * LoRA the model written is the base with the adapter merged in. The file appears under its name
   * only once complete.
   */
  async save(path: string, options: { dtype?: "f32" | "source" } = {}): Promise<void> {
    await this.writeAtomically(path, (h, tmp) => h.save(tmp, (options.dtype ?? "f32") === "source"));
  }

  private async writeAtomically(path: string, write: (h: NativeTrainer, tmp: string) => void): Promise<void> {
    const dir = dirname(path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new InputError(`cannot write ${path}: folder ${dir} does not exist`, "create the folder or choose another output path");
    }
    const tmp = `${path}.tmp`;
    await this.run(`saving ${path}`, async (h) => {
      try {
        write(h, tmp);
        renameSync(tmp, path);
      } finally {
        rmSync(tmp, { force: true });
      }
    });
  }

  /**
   * Writes the LoRA pairs as a GGUF adapter in llama.cpp's format (loadable with the base by
   * llama.cpp, node-llama-cpp and Ollama). Under LoRA, {@link save} writes the merged model instead.
   */
  async saveAdapter(path: string): Promise<void> {
    if (!this.info.lora) throw new InputError("this trainer trains the full model, not a LoRA adapter", "load it with the lora option, or use save()");
    await this.writeAtomically(path, (h, tmp) => h.saveAdapter(tmp));
  }

  /** AdamW moments and step count, for checkpoints that resume exactly where they stopped. */
  optimizerState(): OptimizerState {
    return this.sync("reading the optimizer state", (h) => h.getOptimizerState());
  }

  /** Restores a state from {@link optimizerState} of a trainer with the same trainable tensors. */
  setOptimizerState(state: OptimizerState): void {
    this.sync("restoring the optimizer state", (h) => h.setOptimizerState(state));
  }

  setThreads(threads: number): void {
    this.sync("setting threads", (h) => h.setThreads(resolveThreads(threads)));
  }

  private checkBatches(batches: WeightedBatch | WeightedBatch[]): WeightedBatch[] {
    const list = Array.isArray(batches) ? batches : [batches];
    if (list.length === 0) throw new InputError("no batches given", "pass at least one batch");
    const { nVocab, nCtxTrain } = this.info;
    list.forEach((b, i) => {
      const where = `batch ${i}`;
      for (const k of ["B", "T", "K"] as const) {
        if (!Number.isInteger(b[k]) || b[k] < 1) throw new InputError(`${where}: ${k} must be a positive integer, got ${b[k]}`, "fix the batch shape");
      }
      if (b.T > nCtxTrain) {
        throw new InputError(
          `${where}: sequences of ${b.T} tokens are longer than the model's ${nCtxTrain}-token context`,
          `cut blocks to at most ${nCtxTrain} tokens`,
        );
      }
      const n = b.B * b.T;
      if (b.tokens.length !== n) throw new InputError(`${where}: ${b.tokens.length} tokens for B*T = ${n}`, "pass B*T tokens");
      if (b.targets.length !== n * b.K || b.weights.length !== n * b.K) {
        throw new InputError(
          `${where}: targets (${b.targets.length}) and weights (${b.weights.length}) must both have B*T*K = ${n * b.K} entries`,
          "pass one target and one weight per position and pair",
        );
      }
      checkIds(b.tokens, nVocab, `${where} tokens`);
      for (let j = 0; j < b.targets.length; j++) {
        const w = b.weights[j]!;
        if (!Number.isFinite(w)) throw new InputError(`${where}: weight ${j} is ${w}`, "use finite weights");
        if (w !== 0) checkIds(b.targets.subarray(j, j + 1), nVocab, `${where} targets`);
      }
    });
    return list;
  }
}

/** Node 20's largest Float32Array, in elements. */
const MAX_FLOAT32_ARRAY = 2 ** 32;

function checkNormalizer(options: LossOptions): number | undefined {
  const { normalizer } = options;
  if (normalizer !== undefined && !(Number.isFinite(normalizer) && normalizer > 0)) {
    throw new InputError(`the loss normalizer must be a finite number > 0, got ${normalizer}`, "pass a positive normalizer, or none for Σ|w|");
  }
  return normalizer;
}

function checkIds(ids: Int32Array, nVocab: number, what: string): void {
  for (let j = 0; j < ids.length; j++) {
    const t = ids[j]!;
    if (t < 0 || t >= nVocab) {
      throw new InputError(`${what}: token id ${t} at index ${j} is outside the vocabulary (0..${nVocab - 1})`, "tokenize with the model's own tokenizer");
    }
  }
}

/** The architectures lethe's training graph builds (native/trainer-core.cc); inference takes more. */
export const TRAINABLE_ARCHITECTURES: readonly string[] = ["llama", "qwen2"];

/**
 * Refuses a model the trainer cannot train, from its header alone, so that a command which trains
 * says so before any work rather than at its first training stage.
 */
export function checkTrainable(path: string): void {
  const arch = inspectModelFile(path).metadata.get("general.architecture")?.value;
  if (typeof arch !== "string" || !TRAINABLE_ARCHITECTURES.includes(arch)) {
    throw new UnsupportedModelError(
      `${path} is a "${String(arch)}" model; lethe trains ${TRAINABLE_ARCHITECTURES.map((a) => `"${a}"`).join(" and ")} models`,
      "use a Llama-family model (llama, mistral-style llama, qwen2), or a method that only evaluates",
    );
  }
}

/**
 * Writes the base model at `basePath` with the adapter at `adapterPath` merged in, each tensor in
 * the base's type (`dtype` "source") or in F32. The adapter's own rank, alpha and targets are used:
 * a task vector's adapter carries a negative alpha.
 */
export async function mergeLoraAdapter(
  basePath: string,
  adapterPath: string,
  out: string,
  options: { dtype: "f32" | "source"; threads?: number },
): Promise<LoraAdapterInfo> {
  const adapter = inspectLoraAdapter(adapterPath, inspectModelFile(basePath));
  const trainer = await Trainer.load(basePath, {
    threads: options.threads,
    lora: { rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets as LoraTarget[], adapter: adapterPath },
  });
  try {
    await trainer.save(out, { dtype: options.dtype });
  } finally {
    await trainer.dispose();
  }
  return adapter;
}

/** Loads a GGUF model for training (see {@link Trainer.load}). */
export function loadTrainer(path: string, options?: TrainerOptions): Promise<Trainer> {
  return Trainer.load(path, options);
}
