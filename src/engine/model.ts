/**
 * Inference through llama.cpp: tokenization, logits at every position, token log-probabilities and
 * generation on a GGUF model. A Model owns one llama.cpp context; its long calls run on a worker
 * thread, one at a time (calls are queued), and accept progress callbacks.
 */
import { existsSync, statSync } from "node:fs";

import { InputError, UnsupportedModelError } from "../errors.js";
import { readGguf } from "../gguf/read.js";
import { inspectLoraAdapter, type LoraAdapterInfo } from "../gguf/lora-adapter.js";
import type { GgufFile } from "../gguf/types.js";
import { validateModelFile } from "../gguf/validate.js";
import { native, translateNativeError, resolveThreads, type NativeLlamaModel, type ProgressCallback } from "./native.js";
import { NativeResource } from "./native-resource.js";

export interface LoadModelOptions {
  /** CPU threads for prompts and scoring; default all cores, never more. */
  threads?: number;
  /**
   * Threads for token-by-token generation; default half of `threads` (at least 1). ggml's threads
   * spin at hundreds of barriers per token, so when another process holds a core a two-thread
   * generation can run a thousand times slower than a one-thread one.
   */
  generationThreads?: number;
  /** Context length of the llama.cpp context; default the model's training context, at most 4096. */
  contextLength?: number;
  /** Sequences packed into one decode call; default 16. */
  maxSequences?: number;
  /** F32 KV cache (exact parity with the trainer) or F16 (half the memory); default true. */
  kvCacheF32?: boolean;
  /** Memory-map the file; default true. */
  mmap?: boolean;
  /**
   * llama.cpp's flash attention: ~10% faster here, but its logits differ from the trainer's by up to
   * ~5e-4 instead of ~1e-7; default false.
   */
  flashAttention?: boolean;
  /**
   * Short sequences are packed into one decode up to this many tokens; default 256. Packed sequences
   * attend over each other's (masked) cache entries, so larger packs waste attention work.
   */
  packTokens?: number;
  /**
   * A GGUF LoRA adapter applied on top of the model (llama.cpp's format, as `lethe unlearn --lora`
   * writes), optionally with a scale other than 1.
   */
  lora?: string | { path: string; scale?: number };
}

export interface ModelInfo {
  path: string;
  description: string;
  architecture: string;
  nVocab: number;
  nCtxTrain: number;
  contextLength: number;
  nEmbd: number;
  nLayer: number;
  nParams: number;
  bosId: number;
  eosId: number;
  addBos: boolean;
  /** The adapter applied, when one was given. */
  lora?: LoraAdapterInfo & { scale: number };
}

export interface GenerateOptions {
  /** Tokens to generate at most; generation also stops at end-of-generation tokens. */
  maxTokens: number;
  /** 0 (default) is greedy decoding. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  onProgress?: ProgressCallback;
}

export interface TopLogits {
  /** Per position, k token ids in decreasing logit order ([n, k] row-major). */
  ids: Int32Array;
  logits: Float32Array;
  /** Per position, log Σ exp(logits): probabilities are exp(logit - logSumExp). */
  logSumExp: Float32Array;
  k: number;
}

const SUPPORTED_ARCHITECTURES = new Set(["llama", "qwen2", "mistral", "qwen3", "gemma", "gemma2", "phi3"]);

/**
 * Reads and validates a GGUF header so that a bad file gets a typed error, not a native abort. Every
 * model file lethe hands to llama.cpp or its trainer passes through here first.
 */
export function inspectModelFile(path: string): GgufFile {
  if (!existsSync(path)) {
    throw new InputError(`model file not found: ${path}`, "check the path, or build a model with `lethe pretrain`");
  }
  if (!statSync(path).isFile()) throw new InputError(`${path} is not a file`, "pass the path of a .gguf file");
  const file = readGguf(path);
  validateModelFile(file);
  return file;
}

export class Model extends NativeResource<NativeLlamaModel> {
  readonly info: ModelInfo;

  private constructor(info: ModelInfo, handle: NativeLlamaModel) {
    super(handle, `model ${info.path}`);
    this.info = info;
  }

  /**
   * Loads a GGUF model for inference. Free it with `dispose()`, or hold it with
   * `await using model = await Model.load(path)`.
   */
  static async load(path: string, options: LoadModelOptions = {}): Promise<Model> {
    const file = inspectModelFile(path);
    const arch = file.metadata.get("general.architecture");
    if (!arch || arch.type !== "string") {
      throw new UnsupportedModelError(`${path} does not name its architecture`, "use a GGUF made by llama.cpp or lethe");
    }
    if (!SUPPORTED_ARCHITECTURES.has(arch.value)) {
      throw new UnsupportedModelError(
        `${path} has architecture '${arch.value}', which lethe does not support`,
        "use a Llama-family model (llama, qwen2, mistral)",
      );
    }
    const ctxTrain = file.metadata.get(`${arch.value}.context_length`);
    const trained = ctxTrain && typeof ctxTrain.value === "number" ? ctxTrain.value : 2048;
    const contextLength = options.contextLength ?? Math.min(trained, 4096);
    if (!Number.isInteger(contextLength) || contextLength < 8) {
      throw new InputError(`contextLength must be an integer >= 8, got ${contextLength}`, "pass a larger context length");
    }
    const maxSequences = options.maxSequences ?? 16;
    const lora = options.lora === undefined ? undefined : resolveAdapter(options.lora, file);
    let handle: NativeLlamaModel;
    try {
      const addon = native();
      const threads = resolveThreads(options.threads);
      handle = new addon.LlamaModel(path, {
        threads,
        generationThreads: resolveThreads(options.generationThreads ?? Math.max(1, Math.floor(threads / 2))),
        nCtx: contextLength,
        nSeqMax: maxSequences,
        kvF32: options.kvCacheF32 ?? true,
        useMmap: options.mmap ?? true,
        flashAttn: options.flashAttention ?? false,
        packTokens: options.packTokens ?? 256,
        ...(lora ? { lora: { path: lora.path, scale: lora.scale } } : {}),
      });
    } catch (e) {
      throw translateNativeError(e, `loading ${path}`);
    }
    const i = handle.info();
    return new Model(
      {
        path,
        description: i.description,
        architecture: arch.value,
        nVocab: i.nVocab,
        nCtxTrain: i.nCtxTrain,
        contextLength: i.nCtx,
        nEmbd: i.nEmbd,
        nLayer: i.nLayer,
        nParams: i.nParams,
        bosId: i.bos,
        eosId: i.eos,
        addBos: i.addBos,
        ...(lora ? { lora } : {}),
      },
      handle,
    );
  }

  /** Token ids of `text`; BOS is added when the model asks for it, unless `addBos` says otherwise. */
  tokenize(text: string, options: { addBos?: boolean; parseSpecial?: boolean } = {}): number[] {
    const addBos = options.addBos ?? this.info.addBos;
    const ids = Array.from(this.open().tokenize(text, false, options.parseSpecial ?? false));
    return addBos && this.info.bosId >= 0 ? [this.info.bosId, ...ids] : ids;
  }

  /** Text of token ids; special tokens are dropped unless `keepSpecial`. */
  detokenize(ids: ArrayLike<number>, options: { keepSpecial?: boolean } = {}): string {
    const arr = this.checkTokens([ids], false, "detokenize")[0]!;
    return this.open().detokenize(arr, !(options.keepSpecial ?? false));
  }

  /** Full logits at every position: one Float32Array of n × vocab per sequence. */
  async logits(seqs: ArrayLike<number>[], options: { onProgress?: ProgressCallback } = {}): Promise<Float32Array[]> {
    const arrs = this.checkTokens(seqs, true, "logits");
    const outs = arrs.map((a) => new Float32Array(a.length * this.info.nVocab));
    await this.run("computing logits", (h) => h.logits(arrs, 0, outs, options.onProgress));
    return outs;
  }

  /** The k largest logits at every position, with the log-normaliser, to save memory on big vocabularies. */
  async topLogits(seqs: ArrayLike<number>[], k: number, options: { onProgress?: ProgressCallback } = {}): Promise<TopLogits[]> {
    if (!Number.isInteger(k) || k < 1) throw new InputError(`top-k must be a positive integer, got ${k}`, "pass k >= 1");
    const arrs = this.checkTokens(seqs, true, "topLogits");
    const r = (await this.run("computing logits", (h) => h.logits(arrs, k, null, options.onProgress))) as {
      ids: Int32Array[];
      logits: Float32Array[];
      logSumExp: Float32Array[];
    };
    const kk = Math.min(k, this.info.nVocab);
    return arrs.map((_, s) => ({ ids: r.ids[s]!, logits: r.logits[s]!, logSumExp: r.logSumExp[s]!, k: kk }));
  }

  /** log p(token[i] | token[<i]) for i = 1..n-1 of each sequence. */
  async tokenLogprobs(seqs: ArrayLike<number>[], options: { onProgress?: ProgressCallback } = {}): Promise<Float32Array[]> {
    const arrs = this.checkTokens(seqs, true, "tokenLogprobs");
    return this.run("scoring tokens", (h) => h.tokenLogprobs(arrs, options.onProgress));
  }

  /** Continues a prompt (text or token ids) and returns the new text and tokens. */
  async generate(prompt: string | ArrayLike<number>, options: GenerateOptions): Promise<{ text: string; tokens: number[] }> {
    const ids = typeof prompt === "string" ? this.tokenize(prompt) : Array.from(prompt);
    const { maxTokens } = options;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new InputError(`maxTokens must be a positive integer, got ${maxTokens}`, "pass maxTokens >= 1");
    }
    const room = this.info.contextLength - maxTokens;
    if (room < 1) {
      throw new InputError(
        `maxTokens ${maxTokens} leaves no room for the prompt in a ${this.info.contextLength}-token context`,
        "generate fewer tokens or load the model with a longer contextLength",
      );
    }
    // Keep the end of an over-long prompt: that is what the continuation depends on.
    const kept = ids.length > room ? ids.slice(ids.length - room) : ids;
    const arr = this.checkTokens([kept], true, "generate")[0]!;
    const out = await this.run("generating", (h) =>
      h.generate(
        arr,
        {
          maxTokens,
          temperature: options.temperature ?? 0,
          topK: options.topK ?? 0,
          topP: options.topP ?? 1,
          seed: (options.seed ?? 0) >>> 0,
        },
        options.onProgress,
      ),
    );
    const tokens = Array.from(out);
    return { text: this.open().detokenize(out, true), tokens };
  }

  private checkTokens(seqs: ArrayLike<number>[], forDecode: boolean, what: string): Int32Array[] {
    const { nVocab, contextLength } = this.info;
    if (forDecode && seqs.length === 0) throw new InputError(`${what}: no sequences given`, "pass at least one sequence");
    return seqs.map((s, i) => {
      if (forDecode && s.length === 0) {
        throw new InputError(`${what}: sequence ${i} is empty`, "pass at least one token per sequence");
      }
      if (forDecode && s.length > contextLength) {
        throw new InputError(
          `${what}: sequence ${i} has ${s.length} tokens, more than the ${contextLength}-token context`,
          "split the text into shorter blocks or load the model with a longer contextLength",
        );
      }
      const arr = Int32Array.from(s);
      for (let j = 0; j < arr.length; j++) {
        const t = arr[j]!;
        if (!(t >= 0 && t < nVocab) || t !== s[j]) {
          throw new InputError(
            `${what}: token id ${s[j]} at position ${j} of sequence ${i} is outside the vocabulary (0..${nVocab - 1})`,
            "tokenize with this model's own tokenizer",
          );
        }
      }
      return arr;
    });
  }

}

/** Loads a GGUF model for inference (see {@link Model.load}). */
function resolveAdapter(lora: NonNullable<LoadModelOptions["lora"]>, base: GgufFile): LoraAdapterInfo & { scale: number } {
  const { path, scale = 1 } = typeof lora === "string" ? { path: lora } : lora;
  if (!Number.isFinite(scale)) throw new InputError(`LoRA scale must be a finite number, got ${scale}`, "use 1 to apply the adapter as trained");
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new InputError(`LoRA adapter ${path} does not exist`, "pass the .gguf adapter that `lethe unlearn --lora` wrote");
  }
  return { ...inspectLoraAdapter(path, base), scale };
}

/** {@link Model.load} as a function, the way node-llama-cpp's factories read. */
export function loadModel(path: string, options?: LoadModelOptions): Promise<Model> {
  return Model.load(path, options);
}
