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
  // Pair (a, b) of ids below `target` is the number a * target + b: its order is (a, b)'s order.
  const pairKey = (a: number, b: number): number => a * target + b;

  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const wordLength: number[] = [];
  const wordFreq: number[] = [];
  for (const [word, freq] of wordCounts) {
    const bytes = encoder.encode(word);
    if (bytes.length < 2) continue; // a single byte has no pair to merge
    words.push(Int32Array.from(bytes));
    wordLength.push(bytes.length);
    wordFreq.push(freq);
  }

  const pairCount = new Map<number, number>();
  // Words that contain (or once contained) each pair; may hold duplicates and stale entries.
  const pairWords = new Map<number, number[]>();
  const noteWord = (key: number, word: number): void => {
    const list = pairWords.get(key);
    if (list) list.push(word);
    else pairWords.set(key, [word]);
  };
  for (let w = 0; w < words.length; w++) {
    const syms = words[w];
    for (let i = 0; i + 1 < wordLength[w]; i++) {
      const key = pairKey(syms[i], syms[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + wordFreq[w]);
      noteWord(key, w);
    }
  }

  // Lazy deletion: every count change pushes a fresh entry; an entry whose count no longer
  // matches the pair's current count is stale and skipped when popped.
  const heap = new MinHeap<PairEntry>((x, y) => x.count > y.count || (x.count === y.count && x.key < y.key));
  for (const [key, count] of pairCount) heap.push({ count, key });

  const blocked = new Set<number>();
  const visited = new Int32Array(words.length).fill(-1);
  const total = target - 256;

  while (tokens.length < target) {
    const top = heap.pop();
    if (!top) break;
    if (pairCount.get(top.key) !== top.count || blocked.has(top.key)) continue;
    if (top.count < opts.minFrequency) break;

    const a = Math.floor(top.key / target);
    const b = top.key % target;
    const bytes = new Uint8Array(tokens[a].length + tokens[b].length);
    bytes.set(tokens[a]);
    bytes.set(tokens[b], tokens[a].length);
    const text = bytesToTokenString(bytes);
    if (opts.forbidden.has(text)) {
      blocked.add(top.key);
      continue;
    }
    let c = idOfString.get(text);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(bytes);
      idOfString.set(text, c);
    }
    merges.push({ left: a, right: b, result: c });

    const delta = new Map<number, number>();
    const change = (key: number, by: number): void => {
      delta.set(key, (delta.get(key) ?? 0) + by);
    };
    const stamp = merges.length;
    for (const w of pairWords.get(top.key) ?? []) {
      if (visited[w] === stamp) continue;
      visited[w] = stamp;
      const syms = words[w];
      const len = wordLength[w];
      const freq = wordFreq[w];
      let out = 0;
      for (let i = 0; i < len; ) {
        if (syms[i] === a && i + 1 < len && syms[i + 1] === b) {
          // syms[out - 1] is the already rewritten left neighbour (possibly a fresh `c`), and
          // syms[i + 2] the not yet rewritten right one: exactly the pairs that change.
          if (out > 0) {
            change(pairKey(syms[out - 1], a), -freq);
            change(pairKey(syms[out - 1], c), freq);
            noteWord(pairKey(syms[out - 1], c), w);
          }
          if (i + 2 < len) {
            change(pairKey(b, syms[i + 2]), -freq);
            change(pairKey(c, syms[i + 2]), freq);
            noteWord(pairKey(c, syms[i + 2]), w);
          }
          syms[out++] = c;
          i += 2;
        } else {
          syms[out++] = syms[i++];
        }
      }
      wordLength[w] = out;
    }

    pairCount.delete(top.key);
    pairWords.delete(top.key);
    for (const [key, by] of delta) {
      if (by === 0 || key === top.key) continue;
      const count = (pairCount.get(key) ?? 0) + by;
      if (count > 0) {
        pairCount.set(key, count);
        heap.push({ count, key });
      } else {
        pairCount.delete(key);
        pairWords.delete(key);
      }
    }
    opts.onProgress?.(tokens.length - 256, total);
  }
  return { tokens, merges };
}
