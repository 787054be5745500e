/**
 * The {@link ScoringModel} port over lethe's llama.cpp engine. Tokenizing and scoring go through
 * llama.cpp; decoding goes through lethe's own {@link BpeTokenizer} when the GGUF carries a
 * vocabulary lethe can read, because llama.cpp's detokenizer drops spaces before punctuation for
 * gpt2-style vocabularies and ROUGE or term matching on cleaned-up text would be subtly wrong.
 */
import { basename } from "node:path";

import { LetheError } from "../errors.js";
import { inspectModelFile, Model, type LoadModelOptions } from "../engine/model.js";
import { BpeTokenizer } from "../tokenizer/bpe.js";
import type { GenerateOptions, ScoringModel } from "./engine-port.js";

/** Settings of {@link EngineScoringModel.open}. */
export interface EngineScoringModelOptions extends Pick<LoadModelOptions, "contextLength" | "maxSequences" | "lora"> {
  /** CPU threads (default all cores). */
  threads?: number;
  /** Shown in results (default the file name). */
  name?: string;
}

// The engine's default packing budget (see LoadModelOptions.packTokens).
const DEFAULT_PACK_TOKENS = 256;

/** A GGUF model seen through the evaluation port. Call {@link dispose} when done. */
export class EngineScoringModel implements ScoringModel {
  readonly name: string;
  readonly contextLength: number;

  private constructor(
    readonly model: Model,
    private readonly decoder: BpeTokenizer | undefined,
    contextLength: number,
    name: string,
  ) {
    this.name = name;
    this.contextLength = contextLength;
  }

  /**
   * Loads `path` for evaluation. The usable context is the requested one (default: the training
   * context, at most 4096), not llama.cpp's padded allocation: llama.cpp rounds a 128-token context
   * up to 256 but decodes at most the requested count per call, so both the advertised context and
   * the packing of short sequences stay within it.
   */
  static async open(path: string, opts: EngineScoringModelOptions = {}): Promise<EngineScoringModel> {
    const file = inspectModelFile(path);
    const arch = file.metadata.get("general.architecture")?.value;
    const trained = file.metadata.get(`${String(arch)}.context_length`)?.value;
    const contextLength = opts.contextLength ?? Math.min(typeof trained === "number" ? trained : 2048, 4096);
    const model = await Model.load(path, {
      threads: opts.threads,
      contextLength,
      maxSequences: opts.maxSequences,
      packTokens: Math.min(DEFAULT_PACK_TOKENS, contextLength),
      ...(opts.lora ? { lora: opts.lora } : {}),
    });
    let decoder: BpeTokenizer | undefined;
    try {
      decoder = BpeTokenizer.fromGgufMetadata(file.metadata);
    } catch (err) {
      if (!(err instanceof LetheError)) throw err;
    }
    return new EngineScoringModel(model, decoder, Math.min(contextLength, model.info.contextLength), opts.name ?? basename(path));
  }

  /** Whether decoding is exact (lethe's tokenizer) rather than llama.cpp's cleaned-up text. */
  get exactDecoding(): boolean {
    return this.decoder !== undefined;
  }

  tokenize(text: string, opts: { addBos?: boolean } = {}): number[] {
    return this.model.tokenize(text, { addBos: opts.addBos });
  }

  detokenize(ids: number[]): string {
    return this.decoder ? this.decoder.decode(ids) : this.model.detokenize(ids);
  }

  tokenLogprobs(seqs: number[][]): Promise<Float32Array[]> {
    return this.model.tokenLogprobs(seqs);
  }

  async generate(prompt: string, opts: GenerateOptions): Promise<string> {
    // Suites fit prompts already, but text cut and re-tokenized can come out a token or two
    // longer; llama.cpp aborts the process on a prompt longer than its batch, so cut the ids too.
    const ids = this.model.tokenize(prompt);
    const room = Math.max(1, this.contextLength - opts.maxTokens);
    const { tokens } = await this.model.generate(ids.length > room ? ids.slice(ids.length - room) : ids, {
      maxTokens: opts.maxTokens,
      temperature: opts.temperature ?? 0,
      topK: opts.topK,
      topP: opts.topP,
      seed: opts.seed,
    });
    return this.detokenize(tokens);
  }

  async topNext(prompt: string, k: number): Promise<{ token: string; prob: number }[]> {
    const ids = this.model.tokenize(prompt);
    const [top] = await this.model.topLogits([ids], k);
    const last = (ids.length - 1) * top.k;
    const lse = top.logSumExp[ids.length - 1];
    return Array.from({ length: top.k }, (_, j) => ({
      token: this.detokenize([top.ids[last + j]]),
      prob: Math.exp(top.logits[last + j] - lse),
    }));
  }

  /** Frees the native model. */
  dispose(): Promise<void> {
    return this.model.dispose();
  }
}
