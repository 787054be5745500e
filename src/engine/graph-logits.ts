/**
 * Next-token logits of whole blocks through lethe's own forward graph (the trainer's, loaded for
 * its logits only: weights in their file's types, nothing trainable, no gradients, optimizer state
 * or backward graph) instead of libllama. Where OpenBLAS runs the graph's F32 products this is the
 * faster of the two at every position: on the Oz small model (zen4, 2 threads, one process) 190 ms
 * per 4 × 256 tokens against libllama's 255, logits equal to 1e-6 of their scale and the same
 * argmax everywhere; on the tiny testbed models 52 against 76 ms (synthetic) and 61 against 82 (Oz).
 * {@link graphLogitsFaster} says where that holds.
 *
 *   const model = await GraphLogits.load("base.gguf", { blockTokens: 256 });
 *   const rows = await model.logits(blocks);   // one Float32Array of n × vocab per block
 *   await model.dispose();
 */
import { InputError } from "../errors.js";
import { inspectModelFile } from "./model.js";
import { blasLibrary, native, resolveThreads, translateNativeError, type NativeTrainer } from "./native.js";
import { NativeResource } from "./native-resource.js";
import { TRAINABLE_ARCHITECTURES } from "./trainer.js";

/** Whether {@link GraphLogits} outruns libllama on the model at `path`: see the module comment. */
export function graphLogitsFaster(path: string): boolean {
  const file = inspectModelFile(path);
  const arch = file.metadata.get("general.architecture")?.value;
  // 1-D tensors (norms) are F32 in every file; BLAS takes the products only where each matrix is.
  const f32 = file.tensors.every((t) => t.dims.filter((d) => d > 1).length < 2 || t.type === 0);
  return typeof arch === "string" && TRAINABLE_ARCHITECTURES.includes(arch) && f32 && blasLibrary() !== undefined;
}

export class GraphLogits extends NativeResource<NativeTrainer> {
  private constructor(
    handle: NativeTrainer,
    readonly path: string,
    readonly nVocab: number,
    /** The model's training context: no block may be longer. */
    readonly contextLength: number,
    /** Every call pads its blocks to at least this length, so one graph serves every call. */
    readonly blockTokens: number,
  ) {
    super(handle, `model ${path}`);
  }

  /** Loads a llama or qwen2 GGUF for logits of blocks of up to `blockTokens` tokens. */
  static async load(path: string, options: { threads?: number; blockTokens: number }): Promise<GraphLogits> {
    inspectModelFile(path);
    if (!Number.isSafeInteger(options.blockTokens) || options.blockTokens < 1) {
      throw new InputError(`blockTokens must be a positive integer, got ${options.blockTokens}`, "pass the length of the longest block");
    }
    let handle: NativeTrainer;
    try {
      handle = new (native().Trainer)(path, { threads: resolveThreads(options.threads), trainEmbeddings: false, forwardOnly: true });
    } catch (e) {
      throw translateNativeError(e, `loading ${path} for its logits`);
    }
    const { nVocab, nCtxTrain } = handle.info();
    if (options.blockTokens > nCtxTrain) {
      handle.dispose();
      throw new InputError(`blockTokens ${options.blockTokens} is longer than the model's ${nCtxTrain}-token context`, `pass at most ${nCtxTrain}`);
    }
    return new GraphLogits(handle, path, nVocab, nCtxTrain, options.blockTokens);
  }

  /**
   * Logits of each block: n × vocab, row i predicting token i + 1. The blocks run as one batch,
   * padded at their ends; causal attention keeps the padding out of every real position's logits.
   */
  async logits(seqs: ArrayLike<number>[]): Promise<Float32Array[]> {
    if (seqs.length === 0) return [];
    const V = this.nVocab;
    const T = Math.max(this.blockTokens, ...seqs.map((s) => s.length));
    if (T > this.contextLength) {
      throw new InputError(`blocks of ${T} tokens are longer than the model's ${this.contextLength}-token context`, `cut blocks to at most ${this.contextLength} tokens`);
    }
    const tokens = new Int32Array(seqs.length * T);
    seqs.forEach((s, b) => {
      if (s.length === 0) throw new InputError(`block ${b} is empty`, "pass blocks of at least one token");
      for (let i = 0; i < s.length; i++) {
        const t = s[i]!;
        if (!Number.isInteger(t) || t < 0 || t >= V) throw new InputError(`token ${t} at position ${i} of block ${b} is outside the vocabulary of ${V}`, "tokenize with this model's tokenizer");
        tokens[b * T + i] = t;
      }
    });
    const out = new Float32Array(seqs.length * T * V);
    await this.run("computing logits", (h) => h.forward(tokens, seqs.length, T, out));
    // Copies, not views: callers may hand each block's array to a worker thread.
    return seqs.map((s, b) => out.slice(b * T * V, (b * T + s.length) * V));
  }
}
