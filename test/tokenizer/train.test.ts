import assert from "node:assert/strict";
import { test } from "node:test";
import { pretokenize } from "../../src/tokenizer/pretokenize.js";
import { learnMerges, type Merge } from "../../src/tokenizer/train.js";

const A = 0x61;
const B = 0x62;
const C = 0x63;
const D = 0x64;

function learn(words: [string, number][], maxTokens = 300, minFrequency = 1, forbidden: string[] = []) {
  return learnMerges(new Map(words), { maxTokens, minFrequency, forbidden: new Set(forbidden) });
}

test("merges the most frequent pair first and keeps merging the new tokens", () => {
  // (a,b) occurs 5 + 3 = 8 times, (b,c) 3 + 1 = 4. After a+b -> 256: (256,c) 3 times, (b,c) once.
  const { tokens, merges } = learn([["ab", 5], ["abc", 3], ["bc", 1]]);
  assert.deepEqual(merges, [
    { left: A, right: B, result: 256 },
    { left: 256, right: C, result: 257 },
    { left: B, right: C, result: 258 },
  ]);
  assert.deepEqual(tokens.slice(256).map((t) => new TextDecoder().decode(t)), ["ab", "abc", "bc"]);
  assert.deepEqual(tokens[0x41], Uint8Array.of(0x41));
});

test("stops at minFrequency and at maxTokens", () => {
  assert.equal(learn([["ab", 5], ["abc", 3], ["bc", 1]], 300, 2).merges.length, 2);
  assert.equal(learn([["ab", 5], ["abc", 3], ["bc", 1]], 257, 1).merges.length, 1);
  assert.equal(learn([["a", 100]], 300, 1).merges.length, 0); // single bytes have no pairs
});

test("ties go to the smaller left id, then the smaller right id", () => {
  const { merges } = learn([["cd", 2], ["ab", 2], ["ad", 2]]);
  assert.deepEqual(
    merges.map((m) => [m.left, m.right]),
    [[A, B], [A, D], [C, D]],
  );
});

test("overlapping pairs merge left to right and the counts stay exact", () => {
  // "aaaaa": (a,a) merges to [aa, aa, a]; then (aa,aa) and (aa,a) occur once each and the smaller
  // right id (a = 0x61 < aa = 256) wins: [aa, aaa]; last (aa, aaa).
  const { merges } = learn([["aaaaa", 1]]);
  assert.deepEqual(merges, [
    { left: A, right: A, result: 256 },
    { left: 256, right: A, result: 257 },
    { left: 256, right: 257, result: 258 },
  ]);
});

test("never creates a forbidden token string", () => {
  const { merges, tokens } = learn([["<|x|>", 10]], 300, 1, ["<|x|>"]);
  const texts = tokens.map((t) => new TextDecoder().decode(t));
  assert.ok(!texts.includes("<|x|>"));
  assert.ok(merges.length >= 2); // the smaller pieces are still learned
});

test("reports progress after every merge", () => {
  const calls: [number, number][] = [];
  learnMerges(new Map([["abcd", 3]]), { maxTokens: 262, minFrequency: 1, forbidden: new Set(), onProgress: (d, t) => calls.push([d, t]) });
  assert.deepEqual(calls, [[1, 6], [2, 6], [3, 6]]);
});

/** Textbook BPE: recount every pair of every word before each merge. */
function referenceMerges(wordCounts: Map<string, number>, maxTokens: number, minFrequency: number): Merge[] {
  const words = [...wordCounts].map(([w, freq]) => ({ syms: [...new TextEncoder().encode(w)], freq }));
  const strings: string[] = [];
  for (let b = 0; b < 256; b++) strings.push(String.fromCharCode(b));
  const merges: Merge[] = [];
  while (strings.length < maxTokens) {
    const counts = new Map<string, number>();
    for (const { syms, freq } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]},${syms[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + freq);
      }
    }
    let best: number[] | undefined;
    let bestCount = 0;
    for (const [k, count] of counts) {
      const pair = k.split(",").map(Number);
      if (count > bestCount || (count === bestCount && (pair[0] < best![0] || (pair[0] === best![0] && pair[1] < best![1])))) {
        best = pair;
        bestCount = count;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const s = strings[best[0]] + strings[best[1]];
    let id = strings.indexOf(s);
    if (id < 0) id = strings.push(s) - 1;
    merges.push({ left: best[0], right: best[1], result: id });
    for (const word of words) {
      const out: number[] = [];
      for (let i = 0; i < word.syms.length; ) {
        if (i + 1 < word.syms.length && word.syms[i] === best[0] && word.syms[i + 1] === best[1]) {
          out.push(id);
          i += 2;
        } else out.push(word.syms[i++]);
      }
      word.syms = out;
    }
  }
  return merges;
}

test("the incremental counts give exactly the merges of textbook BPE", () => {
  const sentences = [
    "The Scarecrow and the Tin Woodman walked along the yellow brick road, talking of brains and hearts. ",
    "“I shall ask Oz for a heart,” said the Woodman; “and I for brains,” said the Scarecrow, “aaa aaaa!” ",
    "Numbers 1234 and 12,345 and 3.14159; ümlauts, café, 東京 and emoji 🙂🙂 too. ",
  ];
  let text = "";
  for (let i = 0; i < 30; i++) text += sentences[i % 3].replaceAll("the", i % 2 ? "the" : "thee");
  const counts = new Map<string, number>();
  for (const word of pretokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const fast = learnMerges(counts, { maxTokens: 420, minFrequency: 2, forbidden: new Set() }).merges;
  assert.ok(fast.length > 100);
  assert.deepEqual(fast, referenceMerges(counts, 420, 2));
});
