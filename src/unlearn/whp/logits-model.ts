/**
 * WHP at inference time, as MUSE evaluated it: no fine-tuning; at every position the next-token
 * logits are v_base − α·ReLU(v_reinforced − v_base) of the base and reinforced models on the same
 * text. `lethe unlearn --method whp-logits` trains the reinforced model and writes a small
 * descriptor (`whp-logits.json`: base, reinforced, α) instead of a model.
 *
 * Evaluating it: the eval suites take a {@link ScoringModel}; {@link WhpLogitsModel} is one, built
 * from two loaded models or from the descriptor:
 *
 *   const model = await WhpLogitsModel.fromDescriptor("runs/x/whp-logits.json", { threads: 2 });
 *   await runFamiliarityProbability(model, ...);   // any suite
 *   await model.dispose();
 *
 * Generation decodes token by token over the combined logits (each step re-reads the whole prefix:
 * slower than a single model, fine for eval-sized outputs).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Model } from "../../engine/model.js";
import type { GenerateOptions, ScoringModel } from "../../eval/engine-port.js";
import { FileFormatError, InputError } from "../../errors.js";
import { combineGeneric } from "../maths/generic-logits.js";

/** What `whp-logits.json` holds. */
export interface WhpLogitsDescriptor {
  method: "whp-logits";
  base: string;
  reinforced: string;
  /** A LoRA adapter that, applied to `reinforced`, gives the reinforced model (runs under --lora). */
  reinforcedLora?: string;
  alpha: number;
}

/** Writes a descriptor atomically; paths are stored absolute. */
export function writeWhpLogitsDescriptor(path: string, d: Omit<WhpLogitsDescriptor, "method">): void {
  const body: WhpLogitsDescriptor = {
    method: "whp-logits",
    base: resolve(d.base),
    reinforced: resolve(d.reinforced),
    ...(d.reinforcedLora !== undefined ? { reinforcedLora: resolve(d.reinforcedLora) } : {}),
    alpha: d.alpha,
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(body, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

/** Reads a descriptor; relative model paths are taken relative to its folder. */
export function readWhpLogitsDescriptor(path: string): WhpLogitsDescriptor {
  let d: Partial<WhpLogitsDescriptor>;
  try {
    d = JSON.parse(readFileSync(path, "utf8")) as Partial<WhpLogitsDescriptor>;
  } catch (error) {
    throw new FileFormatError(`${path} is not a readable whp-logits descriptor`, "rerun `lethe unlearn --method whp-logits` to write it again", { cause: error });
  }
  if (
    d.method !== "whp-logits" ||
    typeof d.base !== "string" ||
    typeof d.reinforced !== "string" ||
    typeof d.alpha !== "number" ||
    (d.reinforcedLora !== undefined && typeof d.reinforcedLora !== "string")
  ) {
    throw new FileFormatError(`${path} lacks method, base, reinforced or alpha`, "rerun `lethe unlearn --method whp-logits` to write it again");
  }
  const dir = dirname(path);
  return {
    method: "whp-logits",
    base: resolve(dir, d.base),
    reinforced: resolve(dir, d.reinforced),
    ...(d.reinforcedLora !== undefined ? { reinforcedLora: resolve(dir, d.reinforcedLora) } : {}),
    alpha: d.alpha,
  };
}

/**
 * Combined WHP logits of `seqs`: one Float32Array of n × vocab per sequence, where row i predicts
 * token i+1 as v_base − α·ReLU(v_reinforced − v_base).
 */
export async function whpCombinedLogits(base: Model, reinforced: Model, seqs: ArrayLike<number>[], alpha: number): Promise<Float32Array[]> {
  if (base.info.nVocab !== reinforced.info.nVocab) {
    throw new InputError(`base and reinforced models have vocabularies of ${base.info.nVocab} and ${reinforced.info.nVocab}`, "use a reinforced model fine-tuned from the base model");
  }
  const b = await base.logits(seqs);
  const r = await reinforced.logits(seqs);
  return b.map((row, i) => combineGeneric(row, r[i]!, base.info.nVocab, alpha));
}

/** log-softmax of one row, at one index. */
function logProbAt(row: Float32Array, offset: number, vocab: number, index: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, row[offset + v]!);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(row[offset + v]! - max);
  return row[offset + index]! - max - Math.log(sum);
}

/** A ScoringModel whose next-token distribution is the WHP combination of two models. */
export class WhpLogitsModel implements ScoringModel {
  readonly name: string;
  readonly contextLength: number;

  constructor(
    private readonly base: Model,
    private readonly reinforced: Model,
    readonly alpha: number,
    name?: string,
  ) {
    this.name = name ?? `whp-logits(α=${alpha})`;
    this.contextLength = Math.min(base.info.contextLength, reinforced.info.contextLength);
  }

  /** Loads both models of a descriptor; dispose the result when done. */
  static async fromDescriptor(path: string, options: { threads?: number; contextLength?: number } = {}): Promise<WhpLogitsModel> {
    const d = readWhpLogitsDescriptor(path);
    const contextLength = Math.max(256, options.contextLength ?? 512);
    const base = await Model.load(d.base, { threads: options.threads, contextLength });
    try {
      const reinforced = await Model.load(d.reinforced, { threads: options.threads, contextLength, ...(d.reinforcedLora ? { lora: d.reinforcedLora } : {}) });
      return new WhpLogitsModel(base, reinforced, d.alpha);
    } catch (error) {
      await base.dispose();
      throw error;
    }
  }

  tokenize(text: string, opts?: { addBos?: boolean }): number[] {
    return this.base.tokenize(text, opts);
  }

  detokenize(ids: number[]): string {
    return this.base.detokenize(ids);
  }

  async tokenLogprobs(seqs: number[][]): Promise<Float32Array[]> {
    const vocab = this.base.info.nVocab;
    const rows = await whpCombinedLogits(this.base, this.reinforced, seqs, this.alpha);
    return seqs.map((seq, s) => {
      const out = new Float32Array(Math.max(0, seq.length - 1));
      for (let i = 0; i + 1 < seq.length; i++) out[i] = logProbAt(rows[s]!, i * vocab, vocab, seq[i + 1]!);
      return out;
    });
  }

  async generate(prompt: string, opts: GenerateOptions): Promise<string> {
    const vocab = this.base.info.nVocab;
    const ids = this.tokenize(prompt);
    const out: number[] = [];
    let state = (opts.seed ?? 0) >>> 0;
    const uniform = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    for (let k = 0; k < opts.maxTokens && ids.length < this.contextLength; k++) {
      const [rows] = await whpCombinedLogits(this.base, this.reinforced, [ids], this.alpha);
      const row = rows!.subarray((ids.length - 1) * vocab, ids.length * vocab);
      const next = (opts.temperature ?? 0) > 0 ? sample(row, opts.temperature!, uniform) : argmax(row);
      if (next === this.base.info.eosId) break;
      ids.push(next);
      out.push(next);
    }
    return this.detokenize(out);
  }

  async topNext(prompt: string, k: number): Promise<{ token: string; prob: number }[]> {
    const vocab = this.base.info.nVocab;
    const ids = this.tokenize(prompt);
    const [rows] = await whpCombinedLogits(this.base, this.reinforced, [ids], this.alpha);
    const row = rows!.subarray((ids.length - 1) * vocab, ids.length * vocab);
    const max = Math.max(...row);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    return [...row.keys()]
      .sort((a, b) => row[b]! - row[a]!)
      .slice(0, k)
      .map((id) => ({ token: this.detokenize([id]), prob: Math.exp(row[id]! - max) / sum }));
  }

  async dispose(): Promise<void> {
    await this.base.dispose();
    await this.reinforced.dispose();
  }
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
}

function sample(row: Float32Array, temperature: number, uniform: () => number): number {
  const max = Math.max(...row);
  const p = Array.from(row, (v) => Math.exp((v - max) / temperature));
  const total = p.reduce((a, b) => a + b, 0);
  let u = uniform() * total;
  for (let v = 0; v < p.length; v++) {
    u -= p[v]!;
    if (u <= 0) return v;
  }
  return p.length - 1;
}
