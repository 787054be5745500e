/**
 * The forget and retain corpora as the unlearning stages need them: documents read from files and
 * directories, and fixed-length token blocks for training, tokenized with the model's own tokenizer.
 */
import { InputError } from "../errors.js";
import { readCorpus, type CorpusText } from "./read.js";
import { SeededRandom } from "../util/random.js";

/** Tokenizes a fragment (no BOS, no added prefix space), as the model's tokenizer does. */
export type FragmentEncoder = (text: string) => readonly number[];

/** Special tokens the block builder needs. */
export interface BlockTokens {
  /** Prepended to every block when >= 0 (models that add BOS). */
  bosId: number;
  /** Appended after every document when >= 0, so documents do not run into each other. */
  eosId: number;
}

/**
 * Reads a corpus for role `role` ("forget", "retain"). Throws InputError when nothing but
 * whitespace is found, naming the paths.
 */
export function loadCorpus(paths: readonly string[], role: string): CorpusText[] {
  if (paths.length === 0) throw new InputError(`no ${role} corpus given`, `pass --${role} with text files or directories`);
  let docs: CorpusText[];
  try {
    docs = readCorpus([...paths]);
  } catch (error) {
    if (error instanceof InputError && /is empty|only whitespace/.test(error.message)) {
      throw new InputError(`the ${role} corpus is empty: ${error.message}`, `put text into the ${role} files or pass other --${role} paths`, { cause: error });
    }
    throw error;
  }
  const kept = docs.filter((d) => d.text.trim() !== "");
  if (kept.length === 0) {
    throw new InputError(`the ${role} corpus (${paths.join(", ")}) holds no text`, `put text into the ${role} files or pass other --${role} paths`);
  }
  return kept;
}

/**
 * Cuts documents into training blocks of exactly `blockTokens` tokens (BOS first when the model
 * uses one): each document's tokens followed by EOS, concatenated, then cut. A trailing remainder of
 * at least a quarter block is kept as a shorter block; a shorter one is dropped.
 */
export function tokenBlocks(docs: readonly { text: string }[], encode: FragmentEncoder, special: BlockTokens, blockTokens: number): number[][] {
  const stream: number[] = [];
  for (const doc of docs) {
    for (const t of encode(doc.text)) stream.push(t);
    if (special.eosId >= 0) stream.push(special.eosId);
  }
  const body = special.bosId >= 0 ? blockTokens - 1 : blockTokens;
  const head = special.bosId >= 0 ? [special.bosId] : [];
  const blocks: number[][] = [];
  for (let i = 0; i < stream.length; i += body) {
    const piece = stream.slice(i, i + body);
    if (piece.length < body && piece.length < Math.max(2, body / 4)) break;
    blocks.push([...head, ...piece]);
  }
  return blocks;
}

/**
 * Total tokens of documents (without special tokens). With `upTo`, counting stops once that many
 * are found (enough to know a corpus fills a block, without tokenizing all of a large one).
 */
export function countTokens(docs: readonly { text: string }[], encode: FragmentEncoder, upTo = Infinity): number {
  let n = 0;
  for (const doc of docs) {
    if (n >= upTo) break;
    n += encode(doc.text).length;
  }
  return n;
}

/** The shortest block the config accepts (the lower bound of `blockTokens` in config.ts). */
export const MIN_BLOCK_TOKENS = 8;

/**
 * Refuses a corpus shorter than one block: its labels and training would rest on a fragment,
 * which is almost always a wrong path or a wrong setting. Shorter blocks are suggested only when
 * the corpus would fill the shortest one the config accepts.
 */
export function checkCorpusLength(tokens: number, blockTokens: number, role: string): void {
  if (tokens < blockTokens) {
    throw new InputError(
      `the ${role} corpus has ${tokens} tokens, shorter than one block of ${blockTokens} tokens`,
      tokens >= MIN_BLOCK_TOKENS
        ? `add ${role} text, or set "blockTokens" in --config to at most ${tokens}`
        : `add ${role} text: a block holds at least ${MIN_BLOCK_TOKENS} tokens`,
    );
  }
}

/**
 * The order in which step `step` visits blocks: a seeded permutation per epoch, so the blocks of
 * any step are a pure function of (seed, step) and a resumed run trains on exactly the same data.
 */
export function batchIndices(nBlocks: number, batchSize: number, step: number, seed: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < batchSize; b++) {
    const k = step * batchSize + b;
    const epoch = Math.floor(k / nBlocks);
    out.push(permutation(nBlocks, seed, epoch)[k % nBlocks]!);
  }
  return out;
}

const permutations = new Map<string, Uint32Array>();

/** A Fisher–Yates permutation of 0..n-1 from (seed, epoch), with a small cache. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const key = `${n}:${seed}:${epoch}`;
  const cached = permutations.get(key);
  if (cached) return cached;
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new SeededRandom(seed * 100_003 + epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    const tmp = p[i]!;
    p[i] = p[j]!;
    p[j] = tmp;
  }
  if (permutations.size > 64) permutations.clear();
  permutations.set(key, p);
  return p;
}
