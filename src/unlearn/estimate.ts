/**
 * Time and memory estimates for `lethe unlearn --dry-run`.
 *
 * Memory (bytes), per stage, the peak is what must fit:
 * - the trainer holds every weight in F32 plus its gradient and two AdamW moments: 16 B/parameter,
 *   plus activations ≈ 4 B × (batch × tokens × nLayer × (12 × nEmbd + nHead × tokens) + head): the
 *   per-layer tensors kept for the backward pass, attention's scores, and the head's logits and
 *   probabilities (2 × batch × tokens × vocab) with their two gradients, one gather chunk at a time
 *   (2 × min(batch × tokens, 2^24 / vocab) × vocab). Under LoRA it holds the base as its file
 *   (frozen, in its own types) and 16 B per adapter parameter, r × (n_in + n_out) per targeted
 *   matrix, plus the same activations. Measured (bench/results/lora.json, engine.json): a 1B-shaped
 *   Q8_0 LoRA step of 512 tokens peaked at 4001 MiB, the engine bench's L at 2897 MiB against
 *   3024 MiB estimated;
 * - an inference model maps its file (its size) and holds an F32 KV cache of
 *   2 × nLayer × context × nEmbdKv × 4 B, plus one block of logits (tokens × vocab × 4 B);
 * - 512 MiB for node and the corpora.
 * A run is refused when the peak exceeds 90 % of the machine's total memory.
 *
 * Time: training and inference speeds are measured on the fly on one block (see measureSpeeds), or,
 * when that is skipped, taken from a rule of thumb for 2 CPU cores: inference ≈ 2.5e10 / nParams
 * tokens/s and training ≈ a quarter of that (forward + backward ≈ 3 forwards, plus AdamW).
 */
import { totalmem } from "node:os";
import { statSync } from "node:fs";
import { readGguf, metaNumber } from "../gguf/read.js";
import type { StageWorkload } from "./method.js";

/** Sizes of a model that the estimates need. */
export interface ModelSize {
  nParams: number;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nEmbdKv: number;
  nVocab: number;
  nFf: number;
  fileBytes: number;
}

/** What LoRA changes in an estimate: the rank and the kinds of matrices that get a pair. */
export interface LoraShape {
  rank: number;
  targets: readonly string[];
}

/** Trainable parameters of a LoRA adapter on a model of `size`. */
export function loraParams(size: ModelSize, lora: LoraShape): number {
  const { nEmbd: C, nEmbdKv: Ckv, nFf: F } = size;
  const sides: Record<string, number> = { attn_q: C + C, attn_k: C + Ckv, attn_v: C + Ckv, attn_output: C + C, ffn_gate: C + F, ffn_up: C + F, ffn_down: F + C };
  return size.nLayer * lora.rank * lora.targets.reduce((n, t) => n + (sides[t] ?? 0), 0);
}

/** Reads the sizes from a GGUF header. */
export function modelSize(path: string): ModelSize {
  const file = readGguf(path);
  const arch = file.metadata.get("general.architecture");
  const a = arch && arch.type === "string" ? arch.value : "llama";
  const nEmbd = metaNumber(file, `${a}.embedding_length`);
  const nLayer = metaNumber(file, `${a}.block_count`);
  const nHead = metaNumber(file, `${a}.attention.head_count`);
  const kv = file.metadata.get(`${a}.attention.head_count_kv`);
  const nHeadKv = kv && typeof kv.value === "number" ? kv.value : nHead;
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  const nVocab = tokens && tokens.type === "array" ? tokens.value.length : 32000;
  const nParams = file.tensors.reduce((n, t) => n + t.dims.reduce((x, d) => x * d, 1), 0);
  const nFf = metaNumber(file, `${a}.feed_forward_length`);
  return { nParams, nLayer, nEmbd, nHead, nEmbdKv: (nEmbd / nHead) * nHeadKv, nVocab, nFf, fileBytes: statSync(path).size };
}

const OVERHEAD = 512 * 1024 ** 2;
/** Values in one gather chunk of the trainer's head (kHeadChunkFloats in native/trainer-core.h). */
const HEAD_CHUNK_FLOATS = 2 ** 24;

/** Peak bytes of one stage. */
export function stageMemory(w: StageWorkload, size: ModelSize, blockTokens: number, batchSize: number, lora?: LoraShape): number {
  const inference = w.inferenceModels * (size.fileBytes + 2 * size.nLayer * Math.max(256, blockTokens) * size.nEmbdKv * 4 + blockTokens * size.nVocab * 4);
  const weights = lora && lora.rank > 0 ? size.fileBytes + 16 * loraParams(size, lora) : 16 * size.nParams;
  const positions = batchSize * blockTokens;
  // Logits and probabilities of every position are graph outputs; their two gradients live one
  // gather chunk at a time (HEAD_CHUNK_FLOATS values, as native/trainer-core.h chunks the head).
  const head = 2 * positions * size.nVocab + 2 * Math.min(positions, Math.max(1, Math.floor(HEAD_CHUNK_FLOATS / size.nVocab))) * size.nVocab;
  const activations = 4 * (positions * size.nLayer * (12 * size.nEmbd + size.nHead * blockTokens) + head);
  const training = w.trains ? weights + activations : 0;
  return OVERHEAD + inference + training;
}

/** Measured or assumed speeds, tokens per second. */
export interface Speeds {
  inferTokPerS: number;
  trainTokPerS: number;
  measured: boolean;
}

/** The rule of thumb of the module comment. */
export function ruleOfThumbSpeeds(nParams: number): Speeds {
  const infer = 2.5e10 / Math.max(1, nParams);
  return { inferTokPerS: infer, trainTokPerS: infer / 4, measured: false };
}

/** Seconds of one stage at the given speeds. */
export function stageSeconds(w: StageWorkload, speeds: Speeds): number {
  return w.trainTokens / speeds.trainTokPerS + w.inferTokens / speeds.inferTokPerS;
}

/** The machine's memory budget: 90 % of total memory. */
export function memoryBudget(): number {
  return 0.9 * totalmem();
}

/** Bytes as GiB or MiB with one decimal. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
