// Training blocks of a corpus (src/corpus/blocks.ts): cutting documents into blocks, the length check, the batch order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { batchIndices, checkCorpusLength, permutation, tokenBlocks } from "../../src/corpus/blocks.js";
import { InputError } from "../../src/errors.js";

test("tokenBlocks: documents joined by EOS, BOS first, cut to the block size, short tail dropped", () => {
  const encode = (t: string) => [...t].map((c) => c.charCodeAt(0) - 96);
  // "abcdef" + EOS(0), "gh" + EOS → 1 2 3 4 5 6 0 7 8 0; body 3 → [1 2 3] [4 5 6] [0 7 8] [0]
  const blocks = tokenBlocks([{ text: "abcdef" }, { text: "gh" }], encode, { bosId: 99, eosId: 0 }, 4);
  assert.deepEqual(blocks, [
    [99, 1, 2, 3],
    [99, 4, 5, 6],
    [99, 0, 7, 8],
  ]);
  const noBos = tokenBlocks([{ text: "abcde" }], encode, { bosId: -1, eosId: -1 }, 2);
  assert.deepEqual(noBos, [[1, 2], [3, 4]]);
});

test("checkCorpusLength refuses a corpus shorter than one block", () => {
  assert.throws(() => checkCorpusLength(100, 512, "forget"), (e: unknown) => e instanceof InputError && /100 tokens.*512/.test(e.message));
  checkCorpusLength(512, 512, "forget");
});

test("batchIndices visits every block once per epoch, deterministically", () => {
  const n = 10;
  const epoch0 = [0, 1, 2, 3, 4].flatMap((s) => batchIndices(n, 2, s, 7));
  assert.deepEqual([...epoch0].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(batchIndices(n, 2, 3, 7), batchIndices(n, 2, 3, 7));
  assert.notDeepEqual([...permutation(n, 7, 0)], [...permutation(n, 7, 1)]);
});
