/**
 * What the evaluation suites need from a model. The native engine implements it; tests use a
 * small bigram fake. Keeping the port this narrow lets every suite run against anything that can
 * tokenize, score and generate.
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

/** Decoding settings for {@link ScoringModel.generate}: the engine's, without its progress callback. */
export type GenerateOptions = Omit<ModelGenerateOptions, "onProgress">;
