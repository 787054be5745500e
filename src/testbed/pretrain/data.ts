/**
 * The data side of pretraining: the packed token stream, its blocks, the held-out split and the
 * order blocks are drawn in. Every choice is a pure function of the stream length and the seed, so
 * the step number alone says which blocks a step trains on, and a resumed run sees exactly the
 * batches an uninterrupted one would.
 */
import { InputError } from "../../errors.js";
import { SeededRandom } from "../../util/random.js";

/**
 * Joins documents into one stream, each as BOS, its tokens, EOS. The BOS matches inference, where
 * llama.cpp prepends one to every prompt (the tokenizer's GGUF keys set add_bos_token).
 */
export function packDocuments(docs: readonly (readonly number[])[], bosId: number, eosId: number): Uint32Array {
  const stream = new Uint32Array(docs.reduce((n, d) => n + d.length + 2, 0));
  let at = 0;
  for (const doc of docs) {
    stream[at++] = bosId;
    stream.set(doc, at);
    at += doc.length;
    stream[at++] = eosId;
  }
  return stream;
}

/**
 * How many T-token blocks a stream of `length` tokens holds. Block k starts at k·(T − 1): blocks
 * overlap by one token so that every pair of neighbouring tokens is a training target exactly once
 * (the last position of a block has no target). A tail shorter than a block is dropped.
 */
export function blockCount(length: number, T: number): number {
  return length < T ? 0 : Math.floor((length - 1) / (T - 1));
}

/** The tokens of block `k` (a view into `stream`). */
export function blockTokens(stream: Uint32Array, k: number, T: number): Uint32Array {
  const start = k * (T - 1);
  return stream.subarray(start, start + T);
}

/** The blocks trained on and the blocks held out for the eval loss, each in ascending order. */
export interface BlockSplit {
  train: Uint32Array;
  eval: Uint32Array;
}

/** A Fisher-Yates shuffle of 0..n-1 drawn from `random`. */
function permutation(n: number, random: SeededRandom): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = random.nextUint32() % (i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/**
 * Holds out round(n · fraction) blocks, at least 1 and at most `maxEval`, chosen at random by
 * `seed` so the held-out text is spread over the whole corpus. Needs at least 2 blocks.
 */
export function splitBlocks(n: number, fraction: number, maxEval: number, seed: number): BlockSplit {
  if (n < 2) {
    throw new InputError(
      `the corpus makes ${n} training block${n === 1 ? "" : "s"}; at least 2 are needed (one to train on, one to hold out)`,
      "add text to the corpus or lower the context length",
    );
  }
  const nEval = Math.min(Math.max(Math.round(n * fraction), 1), maxEval, n - 1);
  const order = permutation(n, new SeededRandom(seed));
  return {
    eval: order.slice(0, nEval).sort(),
    train: order.slice(nEval).sort(),
  };
}

/**
 * Draws training blocks epoch by epoch: each epoch visits every training block once, in an order
 * shuffled by (seed, epoch). Position p of the endless sequence is block `order(p / n)[p % n]`.
 */
export class BlockSchedule {
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  constructor(
    private readonly train: Uint32Array,
    private readonly seed: number,
  ) {
    if (train.length === 0) throw new InputError("there are no training blocks", "add text to the corpus");
  }

  /** The blocks of optimizer step `step` (0-based) with `batchSize` blocks per step. */
  blocksForStep(step: number, batchSize: number): number[] {
    const blocks: number[] = [];
    for (let p = step * batchSize; p < (step + 1) * batchSize; p++) blocks.push(this.at(p));
    return blocks;
  }

  private at(position: number): number {
    const n = this.train.length;
    const epoch = Math.floor(position / n);
    if (epoch !== this.epoch) {
      // Seeds are below 2^32, so seed + (epoch + 1)·2^32 gives every (seed, epoch) its own stream.
      this.order = permutation(n, new SeededRandom(this.seed + (epoch + 1) * 2 ** 32));
      this.epoch = epoch;
    }
    return this.train[this.order[position % n]!]!;
  }
}
