/**
 * Loads lethe's N-API addon and declares its raw contract. Everything here is unvalidated: the
 * typed classes in model.ts and trainer.ts check inputs before any call reaches native code.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";

import {
  CancelledError,
  EngineError,
  FileFormatError,
  InputError,
  InsufficientMemoryError,
  LetheError,
  UnsupportedModelError,
} from "../errors.js";
import { packageRoot } from "../util/package-root.js";
import { chooseCpuBackend } from "./cpu-backend.js";

export type ProgressCallback = (done: number, total: number) => void;

export interface NativeMicroBatch {
  B: number;
  T: number;
  K: number;
  tokens: Int32Array;
  targets: Int32Array;
  weights: Float32Array;
}

export interface NativeStepResult {
  loss: number;
  gradNorm: number;
  skipped: boolean;
}

export interface NativeOptimizerState {
  step: number;
  /** AdamW first and second moments by tensor name. */
  moments: Record<string, [Float32Array, Float32Array]>;
}

export interface NativeLlamaModel {
  info(): {
    description: string;
    nVocab: number;
    nCtxTrain: number;
    nCtx: number;
    nEmbd: number;
    nLayer: number;
    nParams: number;
    bos: number;
    eos: number;
    addBos: boolean;
  };
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(ids: Int32Array, removeSpecial: boolean): string;
  logits(seqs: Int32Array[], topK: number, outs: Float32Array[] | null, onProgress?: ProgressCallback): Promise<
    void | { ids: Int32Array[]; logits: Float32Array[]; logSumExp: Float32Array[] }
  >;
  tokenLogprobs(seqs: Int32Array[], onProgress?: ProgressCallback): Promise<Float32Array[]>;
  generate(
    prompt: Int32Array,
    opts: { maxTokens: number; temperature: number; topK: number; topP: number; seed: number },
    onProgress?: ProgressCallback,
  ): Promise<Int32Array>;
  cancel(): void;
  dispose(): void;
}

export interface NativeTrainer {
  info(): {
    arch: string;
    nVocab: number;
    nEmbd: number;
    nLayer: number;
    nHead: number;
    nHeadKv: number;
    nFf: number;
    nCtxTrain: number;
    tiedEmbeddings: boolean;
    nParams: number;
    nTrainable: number;
    step: number;
    tensors: string[];
    /** Present when training a LoRA adapter: the base tensors that carry a pair. */
    lora?: { rank: number; alpha: number; tensors: string[] };
  };
  /** `normalizer` divides the weighted sum instead of Σ|w|. */
  step(
    batches: NativeMicroBatch[],
    opt: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number },
    onProgress?: ProgressCallback,
    normalizer?: number,
  ): Promise<NativeStepResult>;
  gradients(batches: NativeMicroBatch[], opt: null, onProgress?: ProgressCallback, normalizer?: number): Promise<NativeStepResult>;
  loss(batches: NativeMicroBatch[], opt: null, onProgress?: undefined, normalizer?: number): Promise<NativeStepResult>;
  forward(tokens: Int32Array, B: number, T: number, out: Float32Array): Promise<void>;
  getTensor(name: string): Float32Array;
  getGradient(name: string): Float32Array;
  setTensor(name: string, data: Float32Array): void;
  save(path: string, keepSourceTypes: boolean): void;
  saveAdapter(path: string): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(state: NativeOptimizerState): void;
  setThreads(n: number): void;
  cancel(): void;
  dispose(): void;
}

interface Addon {
  loadBackends(binsDir: string, cpuBackend: string): void;
  backendInfo(): { devices: { name: string; description: string }[]; cpuVariant: string; systemInfo: string; blas: string };
  setLogVerbose(verbose: boolean): void;
  gemmGflops(n: number, iters: number, threads: number, type?: "f32" | "bf16" | "blas"): number;
  quantizeModel(input: string, output: string, ftype: number, threads: number): Promise<void>;
  LlamaModel: new (
    path: string,
    opts: {
      threads: number;
      generationThreads: number;
      nCtx: number;
      nSeqMax: number;
      kvF32: boolean;
      useMmap: boolean;
      flashAttn: boolean;
      packTokens: number;
      lora?: { path: string; scale: number };
    },
  ) => NativeLlamaModel;
  Trainer: new (
    path: string,
    opts: {
      threads: number;
      trainEmbeddings: boolean;
      gatherPositions?: number;
      precision?: "f32" | "bf16";
      lora?: { rank: number; alpha: number; targets: string[]; seed: number; adapter?: string };
      /** Logits only: weights in their file's types, nothing trainable; training calls fail. */
      forwardOnly?: boolean;
    },
  ) => NativeTrainer;
}

let addon: Addon | undefined;

/** The loaded addon; builds are made by `npm install` (scripts/build-native.mjs). */
export function native(): Addon {
  if (addon) return addon;
  const file = join(packageRoot(), "build", "lethe.node");
  const binsFile = join(packageRoot(), "build", "bins-dir.txt");
  if (!existsSync(file) || !existsSync(binsFile)) {
    throw new EngineError(`lethe's native addon is not built (${file} is missing)`, "run `npm run build:native`");
  }
  const require = createRequire(import.meta.url);
  try {
    addon = require(file) as Addon;
  } catch (e) {
    throw new EngineError(`lethe's native addon failed to load: ${(e as Error).message}`, "run `npm run build:native`", {
      cause: e,
    });
  }
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // No /proc (a sandbox): the flags cannot be checked, so the prebuilt variants load.
  }
  const cpuBackend = chooseCpuBackend(join(packageRoot(), "build", "cpu"), cpuinfo);
  if (cpuBackend.kind === "prebuilt" && process.env.LETHE_CPU_BACKEND !== "prebuilt") {
    process.stderr.write(`lethe: using the prebuilt ggml CPU variants: ${cpuBackend.reason}\n`);
  }
  addon.loadBackends(readFileSync(binsFile, "utf8").trim(), cpuBackend.kind === "source" ? cpuBackend.library : "");
  return addon;
}

/**
 * Which backends loaded, and which CPU library: `source` when the one compiled for this machine
 * loaded (2.2x the prebuilt zen4 variant's GEMM), else the prebuilt variant ggml picked.
 */
export function backendInfo(): ReturnType<Addon["backendInfo"]> & { cpuBackend: "source" | "prebuilt" } {
  const info = native().backendInfo();
  return { ...info, cpuBackend: info.cpuVariant.startsWith("libggml-cpu-source-") ? "source" : "prebuilt" };
}

/**
 * Whether the loaded CPU backend multiplies bfloat16 natively (AVX512-BF16). Elsewhere ggml
 * emulates BF16 products, slower than F32, so BF16 training is refused there.
 */
export function nativeBf16(): boolean {
  return /\bAVX512_BF16 = 1\b/.test(native().backendInfo().systemInfo);
}

/**
 * The BLAS library the trainer's F32 products run on ("OpenBLAS <core>"), or undefined where none
 * loaded: libopenblas.so.0 is opened at run time, and `LETHE_BLAS=off` keeps ggml's own GEMM.
 */
export function blasLibrary(): string | undefined {
  return native().backendInfo().blas || undefined;
}

/**
 * Measured GEMM rate (GFLOP/s) of ggml's CPU backend on an n×n×n product: fp32, with `bf16` the
 * first operand in BF16 (what the trainer's mixed-precision products run), with `blas` on the BLAS
 * library of {@link blasLibrary} (what its F32 products run; throws where there is none).
 */
export function gemmGflops(n = 1024, iters = 10, threads?: number, type: "f32" | "bf16" | "blas" = "f32"): number {
  return native().gemmGflops(n, iters, resolveThreads(threads), type);
}

/** Sends llama.cpp and ggml logs to stderr (otherwise only errors are kept, for error messages). */
export function setNativeLogging(verbose: boolean): void {
  native().setLogVerbose(verbose);
}

/** All cores unless told otherwise; never more, since oversubscription made generation 30x slower. */
export function resolveThreads(threads?: number): number {
  const cores = availableParallelism();
  if (threads === undefined) return cores;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new InputError(`threads must be a positive integer, got ${threads}`, `pass a thread count from 1 to ${cores}`);
  }
  return Math.min(threads, cores);
}

/** Turns a native "CODE: message" error into lethe's typed errors. */
export function translateNativeError(e: unknown, context: string): LetheError {
  if (e instanceof LetheError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  const code = m?.[1] ?? "NATIVE";
  const detail = m?.[2] ?? message;
  const what = `${context}: ${detail}`;
  switch (code) {
    case "CANCELLED":
      return new CancelledError(context);
    case "FORMAT":
    case "MODEL_LOAD":
      return new FileFormatError(what, "check that the file is a complete GGUF model", { cause: e });
    case "UNSUPPORTED":
      return new UnsupportedModelError(what, "use a Llama-family GGUF (llama or qwen2 architecture)", { cause: e });
    case "ALLOC":
    case "CONTEXT":
      return new InsufficientMemoryError(what, "use a shorter context, a smaller batch or a smaller model", {
        cause: e,
      });
    case "CONFIG":
      return new InputError(what, "fix the option the message names", { cause: e });
    case "BUSY":
    case "DISPOSED":
      return new EngineError(what, "await the previous call before starting another on the same object", {
        cause: e,
      });
    default:
      return new EngineError(what, "rerun with --verbose and report the log if it persists", { cause: e });
  }
}
