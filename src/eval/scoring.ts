/**
 * Log-likelihood scoring over the model's `tokenLogprobs`, with lm-evaluation-harness conventions for
 * joining and tokenizing context and continuation, so that every suite scores text the same way and
 * the benchmark numbers match lm-eval's.
 */
import { EngineError } from "../errors.js";
import type { ScoringModel } from "./engine-port.js";
import { throwIfCancelled, type WarningLog } from "./result.js";

/** A continuation to score given a context: log p(continuation | context). */
export interface ContinuationRequest {
  context: string;
  continuation: string;
}

/** The log-likelihood of one continuation. */
export interface ContinuationScore {
  /** Natural-log probability of the whole continuation (sum over its tokens). */
  logprob: number;
  /** Continuation length in tokens. */
  tokens: number;
  /** The context was cut from the left to fit the model's context window. */
  truncated: boolean;
}

/** Settings shared by the batched scoring helpers. */
export interface ScoringOptions {
  /** Sequences per `tokenLogprobs` call. */
  batchSize?: number;
  warnings: WarningLog;
  /** Names request `i` in warnings, e.g. "arc_easy.jsonl line 12". */
  describe?: (index: number) => string;
  signal?: AbortSignal;
  /** Called after every batch with sequences done and total. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_BATCH_SIZE = 16;

/**
 * Joins a context and a continuation the way lm-evaluation-harness does: `delimiter` (a space)
 * goes between them unless whitespace is already at the seam (hellaswag choices start with a space,
 * piqa queries end with a newline), and trailing whitespace of the context moves to the
 * continuation so tokenizers that glue a space to the next word see it there.
 */
export function joinAtSeam(context: string, continuation: string, delimiter = " "): ContinuationRequest {
  const needsDelimiter = context.length > 0 && !/\s$/.test(context) && !/^\s/.test(continuation);
  const trimmed = context.trimEnd();
  return {
    context: trimmed,
    continuation: context.slice(trimmed.length) + (needsDelimiter ? delimiter : "") + continuation,
  };
}

/**
 * Scores whole token sequences in batches: returns, per sequence, the log-probs of tokens 1..n-1.
 * Sequences are batched longest first (similar lengths pad least) and results put back in order.
 * A reply of the wrong shape is an engine bug and throws {@link EngineError}.
 */
export async function batchedTokenLogprobs(
  model: ScoringModel,
  seqs: readonly number[][],
  opts: Omit<ScoringOptions, "warnings" | "describe">,
): Promise<Float32Array[]> {
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[b].length - seqs[a].length);
  const out = new Array<Float32Array>(seqs.length);
  for (let start = 0; start < order.length; start += batchSize) {
    throwIfCancelled(opts.signal, "scoring");
    const idx = order.slice(start, start + batchSize);
    const batch = idx.map((i) => seqs[i]);
    const scored = await model.tokenLogprobs(batch);
    if (scored.length !== batch.length) {
      throw new EngineError(
        `${model.name}: tokenLogprobs returned ${scored.length} results for ${batch.length} sequences`,
        "report this as a bug in the engine",
      );
    }
    idx.forEach((seqIndex, j) => {
      const expected = Math.max(0, seqs[seqIndex].length - 1);
      if (scored[j].length !== expected) {
        throw new EngineError(
          `${model.name}: tokenLogprobs returned ${scored[j].length} log-probs for a ${seqs[seqIndex].length}-token sequence (expected ${expected})`,
          "report this as a bug in the engine",
        );
      }
      out[seqIndex] = scored[j];
    });
    opts.onProgress?.(Math.min(start + batchSize, order.length), order.length);
  }
  return out;
}

/**
 * log p(continuation | context) for many requests, batched. Tokenization follows lm-eval: the
 * continuation's tokens are those the joined text has beyond the context's own tokens. A sequence
 * longer than the context window loses tokens from the left (with a warning); requests that cannot
 * be scored at all (continuation adds no tokens or is itself too long) come back `null` with a warning.
 */
export async function scoreContinuations(
  model: ScoringModel,
  requests: readonly ContinuationRequest[],
  opts: ScoringOptions,
): Promise<(ContinuationScore | null)[]> {
  const describe = opts.describe ?? ((i: number) => `request ${i + 1}`);
  const prepared: { seq: number[]; contTokens: number; truncated: boolean }[] = [];
  const slot: (number | null)[] = [];
  // Multiple-choice requests repeat one context per choice; tokenize it once.
  const contextIds = new Map<string, number[]>();
  requests.forEach((req, i) => {
    let ctx = contextIds.get(req.context);
    if (!ctx) {
      ctx = model.tokenize(req.context, { addBos: true });
      contextIds.set(req.context, ctx);
    }
    const whole = model.tokenize(req.context + req.continuation, { addBos: true });
    const contTokens = whole.length - ctx.length;
    if (contTokens <= 0) {
      opts.warnings.add("continuation adds no tokens, skipped", describe(i));
      slot.push(null);
      return;
    }
    if (ctx.length === 0) {
      opts.warnings.add("empty context and the model adds no BOS token, so the first token cannot be scored; skipped", describe(i));
      slot.push(null);
      return;
    }
    if (contTokens >= model.contextLength) {
      opts.warnings.add(`continuation alone fills the ${model.contextLength}-token context, skipped`, describe(i));
      slot.push(null);
      return;
    }
    const truncated = whole.length > model.contextLength;
    if (truncated) {
      opts.warnings.add(`longer than the ${model.contextLength}-token context, truncated from the left`, describe(i));
    }
    slot.push(prepared.length);
    prepared.push({ seq: truncated ? whole.slice(whole.length - model.contextLength) : whole, contTokens, truncated });
  });

  const logprobs = await batchedTokenLogprobs(
    model,
    prepared.map((p) => p.seq),
    opts,
  );
  return slot.map((k) => {
    if (k === null) return null;
    const { contTokens, truncated } = prepared[k];
    const lp = logprobs[k];
    let sum = 0;
    for (let i = lp.length - contTokens; i < lp.length; i++) sum += lp[i];
    return { logprob: sum, tokens: contTokens, truncated };
  });
}

/**
 * Cuts a long token sequence into windows of at most `length` tokens that overlap by exactly one
 * token, so that scoring every window scores each token after the first exactly once (each window's
 * first token is only context).
 */
export function splitIntoWindows(ids: readonly number[], length: number): number[][] {
  if (length < 2) throw new EngineError(`a ${length}-token context cannot score anything`, "use a model with a longer context");
  const windows: number[][] = [];
  for (let start = 0; start < ids.length - 1; start += length - 1) {
    windows.push(ids.slice(start, start + length));
  }
  return windows;
}
