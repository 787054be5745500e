// Byte-level BPE training on a table of pre-token word counts. Each step merges the most frequent
// adjacent token pair. Pair counts are kept up to date incrementally: an index from each pair to
// the words containing it means a merge only revisits the words it changes, never the corpus.

import { bytesToTokenString } from "./byte-unicode.js";
import { MinHeap } from "./heap.js";

/** One learned merge: tokens `left` and `right` (adjacent, in that order) become token `result`. */
export interface Merge {
  left: number;
  right: number;
  result: number;
}

export interface LearnMergesOptions {
  /** Stop once there are this many tokens, counting the 256 byte tokens. */
  maxTokens: number;
  /** Stop once the most frequent pair occurs fewer times than this. */
  minFrequency: number;
  /** Token strings (byte-level form) that must not be created, e.g. the special tokens' texts. */
  forbidden: ReadonlySet<string>;
  onProgress?: (done: number, total: number) => void;
}

export interface LearnedMerges {
  /** The bytes of every token: ids 0..255 are the single bytes, then the learned tokens. */
  tokens: Uint8Array[];
  /** In rank order (the order they were learned, which is the order encoding applies them). */
  merges: Merge[];
}

interface PairEntry {
  count: number;
  key: number;
}

/**
 * Learn merges from `wordCounts` (pre-token word -> occurrences). Ties between equally frequent
 * pairs go to the pair with the smaller left id, then the smaller right id, so the result depends
 * only on the counts, never on iteration order.
 *
 * Two different pairs can spell the same string ("ab"+"c" and "a"+"bc"); the second one is kept
 * as a merge but reuses the existing token, because llama.cpp needs every token string unique.
 */
export function learnMerges(wordCounts: ReadonlyMap<string, number>, opts: LearnMergesOptions): LearnedMerges {
  const tokens: Uint8Array[] = [];
  for (let byte = 0; byte < 256; byte++) tokens.push(Uint8Array.of(byte));
  const idOfString = new Map<string, number>(tokens.map((bytes, id) => [bytesToTokenString(bytes), id]));
  const merges: Merge[] = [];
  const target = Math.max(opts.maxTokens, 256);
  const table = countPairs(wordCounts, target);
  const heap = pairHeap(table.pairCount);
  const blocked = new Set<number>();
  const visited = new Int32Array(table.words.length).fill(-1);
  const total = target - 256;

  while (tokens.length < target) {
    const top = popCurrentPair(heap, table.pairCount, blocked);
    if (!top || top.count < opts.minFrequency) break;
    const a = Math.floor(top.key / target);
    const b = top.key % target;
    const c = mergedToken(tokens, idOfString, a, b, opts.forbidden);
    if (c === undefined) {
      blocked.add(top.key);
      continue;
    }
    merges.push({ left: a, right: b, result: c });
    const delta = rewriteWords(table, top.key, a, b, c, visited, merges.length);
    applyCountChanges(table, heap, top.key, delta);
    opts.onProgress?.(tokens.length - 256, total);
  }
  return { tokens, merges };
}

/** The corpus as token-id sequences, with the count of every adjacent pair and the words holding it. */
interface PairTable {
  /** Pair (a, b) of ids below `stride` is the number a * stride + b: its order is (a, b)'s order. */
  stride: number;
  /** Per word, its tokens; only the first `wordLength[w]` are current, merges shorten it in place. */
  words: Int32Array[];
  wordLength: number[];
  wordFreq: number[];
  pairCount: Map<number, number>;
  /** Words that contain (or once contained) each pair; may hold duplicates and stale entries. */
  pairWords: Map<number, number[]>;
}

function pairKey(table: PairTable, a: number, b: number): number {
  return a * table.stride + b;
}

function noteWord(table: PairTable, key: number, word: number): void {
  const list = table.pairWords.get(key);
  if (list) list.push(word);
  else table.pairWords.set(key, [word]);
}

function addCount(delta: Map<number, number>, key: number, by: number): void {
  delta.set(key, (delta.get(key) ?? 0) + by);
}

/** Splits every word into its bytes and counts the adjacent pairs, weighted by word frequency. */
function countPairs(wordCounts: ReadonlyMap<string, number>, stride: number): PairTable {
  const encoder = new TextEncoder();
  const table: PairTable = { stride, words: [], wordLength: [], wordFreq: [], pairCount: new Map(), pairWords: new Map() };
  for (const [word, freq] of wordCounts) {
    const bytes = encoder.encode(word);
    if (bytes.length < 2) continue; // a single byte has no pair to merge
    table.words.push(Int32Array.from(bytes));
    table.wordLength.push(bytes.length);
    table.wordFreq.push(freq);
  }
  for (let w = 0; w < table.words.length; w++) {
    const syms = table.words[w];
    for (let i = 0; i + 1 < table.wordLength[w]; i++) {
      const key = pairKey(table, syms[i], syms[i + 1]);
      table.pairCount.set(key, (table.pairCount.get(key) ?? 0) + table.wordFreq[w]);
      noteWord(table, key, w);
    }
  }
  return table;
}

/**
 * The pairs, most frequent first. Lazy deletion: every count change pushes a fresh entry; an entry
 * whose count no longer matches the pair's current count is stale and skipped when popped.
 */
function pairHeap(pairCount: ReadonlyMap<number, number>): MinHeap<PairEntry> {
  const heap = new MinHeap<PairEntry>((x, y) => x.count > y.count || (x.count === y.count && x.key < y.key));
  for (const [key, count] of pairCount) heap.push({ count, key });
  return heap;
}

/** The most frequent pair that is neither stale nor blocked, or undefined when none is left. */
function popCurrentPair(heap: MinHeap<PairEntry>, pairCount: ReadonlyMap<number, number>, blocked: ReadonlySet<number>): PairEntry | undefined {
  for (let top = heap.pop(); top; top = heap.pop()) {
    if (pairCount.get(top.key) === top.count && !blocked.has(top.key)) return top;
  }
  return undefined;
}

/** The id of the token `a` + `b`, added to the vocabulary if new; undefined when its string is forbidden. */
function mergedToken(tokens: Uint8Array[], idOfString: Map<string, number>, a: number, b: number, forbidden: ReadonlySet<string>): number | undefined {
  const bytes = new Uint8Array(tokens[a].length + tokens[b].length);
  bytes.set(tokens[a]);
  bytes.set(tokens[b], tokens[a].length);
  const text = bytesToTokenString(bytes);
  if (forbidden.has(text)) return undefined;
  let c = idOfString.get(text);
  if (c === undefined) {
    c = tokens.length;
    tokens.push(bytes);
    idOfString.set(text, c);
  }
  return c;
}

/**
 * Replaces the pair (a, b) by `c` in every word holding it and returns the resulting change of each
 * neighbouring pair's count. `stamp`, unique to this merge, marks the words already rewritten, since
 * a word can be listed twice.
 */
function rewriteWords(table: PairTable, key: number, a: number, b: number, c: number, visited: Int32Array, stamp: number): Map<number, number> {
  const delta = new Map<number, number>();
  for (const w of table.pairWords.get(key) ?? []) {
    if (visited[w] === stamp) continue;
    visited[w] = stamp;
    table.wordLength[w] = rewriteWord(table, w, a, b, c, delta);
  }
  return delta;
}

/** Rewrites word `w` in place and returns its new length. */
function rewriteWord(table: PairTable, w: number, a: number, b: number, c: number, delta: Map<number, number>): number {
  const syms = table.words[w];
  const len = table.wordLength[w];
  const freq = table.wordFreq[w];
  let out = 0;
  for (let i = 0; i < len; ) {
    if (syms[i] === a && i + 1 < len && syms[i + 1] === b) {
      // syms[out - 1] is the already rewritten left neighbour (possibly a fresh `c`), and
      // syms[i + 2] the not yet rewritten right one: exactly the pairs that change.
      if (out > 0) {
        addCount(delta, pairKey(table, syms[out - 1], a), -freq);
        addCount(delta, pairKey(table, syms[out - 1], c), freq);
        noteWord(table, pairKey(table, syms[out - 1], c), w);
      }
      if (i + 2 < len) {
        addCount(delta, pairKey(table, b, syms[i + 2]), -freq);
        addCount(delta, pairKey(table, c, syms[i + 2]), freq);
        noteWord(table, pairKey(table, c, syms[i + 2]), w);
      }
      syms[out++] = c;
      i += 2;
    } else {
      syms[out++] = syms[i++];
    }
  }
  return out;
}

/** Drops the merged pair and applies `delta` to the other counts, pushing each changed count. */
function applyCountChanges(table: PairTable, heap: MinHeap<PairEntry>, merged: number, delta: ReadonlyMap<number, number>): void {
  table.pairCount.delete(merged);
  table.pairWords.delete(merged);
  for (const [key, by] of delta) {
    if (by === 0 || key === merged) continue;
    const count = (table.pairCount.get(key) ?? 0) + by;
    if (count > 0) {
      table.pairCount.set(key, count);
      heap.push({ count, key });
    } else {
      table.pairCount.delete(key);
      table.pairWords.delete(key);
    }
  }
}
