/**
 * What the evaluation suites need from a model. The native engine implements it; tests use a
 * small bigram fake. Keeping the port this narrow lets every suite run against anything that can
 * tokenize, score and generate.
 *
 * The model types, from the engine up:
 * - `Model` (engine/model.ts): one GGUF loaded in llama.cpp; tokens, logits, generation.
 * - `ScoringModel` (here): the port, what a suite may ask of any model.
 * - `DisposableScoringModel` (here): a ScoringModel the evaluation opened and must free.
 * - `EngineScoringModel` (engine-model.ts): the port over one `Model`, with exact decoding.
 * - `WhpLogitsModel` (unlearn/whp/logits-model.ts): the port over two `Model`s whose logits are
 *   combined, WHP at inference time.
 */
import type { GenerateOptions as ModelGenerateOptions } from "../engine/model.js";

export interface ScoringModel {
  /** Shown in results so a report says which model produced a number. */
  readonly name: string;
  /** Most tokens one sequence may hold (prompt plus generated or scored tokens). */
  readonly contextLength: number;
  tokenize(text: string, opts?: { addBos?: boolean }): number[];
  detokenize(ids: number[]): string;
  /** log p(tokens[i] | tokens[<i]) for i = 1..n-1, one array per sequence (first token has no score). */
  tokenLogprobs(seqs: number[][]): Promise<Float32Array[]>;
  /** greedy (temperature 0) or sampled continuation text. */
  generate(prompt: string, opts: GenerateOptions): Promise<string>;
  /** top-k next-token probabilities after a prompt. */
  topNext(prompt: string, k: number): Promise<{ token: string; prob: number }[]>;
}

/** A {@link ScoringModel} its opener owns: `dispose` (or `await using`) frees it. */
export type DisposableScoringModel = ScoringModel & { dispose(): Promise<void> | void };

/** Decoding settings for {@link ScoringModel.generate}: the engine's, without its progress callback. */
export type GenerateOptions = Omit<ModelGenerateOptions, "onProgress">;
