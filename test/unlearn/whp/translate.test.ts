import { test } from "node:test";
import assert from "node:assert/strict";
import type { AnchorEntry } from "../../../src/unlearn/whp/dictionary.js";
import { AnchorMatcher, pickGeneric, splitIntoBlocks, translateBlock } from "../../../src/unlearn/whp/translate.js";
import { InputError } from "../../../src/errors.js";
import { FakeTokenizer } from "./fake-tokenizer.js";

function entry(term: string, generics: string | string[], extra: Partial<AnchorEntry> = {}): AnchorEntry {
  return { term, generics: typeof generics === "string" ? [generics] : generics, source: "user", ...extra };
}

function run(text: string, dictionary: AnchorEntry[], seed = 0) {
  const tok = new FakeTokenizer();
  const alignment = translateBlock(text, new AnchorMatcher(dictionary), tok.encode, { seed });
  return {
    ...alignment,
    originalPieces: alignment.original.map(tok.decode),
    translatedPieces: alignment.translated.map(tok.decode),
    map: [...alignment.map],
  };
}

test("single-token anchor: tokens agree outside the anchor and the map is the identity", () => {
  const r = run("Then Harry left.", [entry("Harry", "Jon")]);
  assert.deepEqual(r.originalPieces, ["Then", " Harry", " left", "."]);
  assert.deepEqual(r.translatedPieces, ["Then", " Jon", " left", "."]);
  assert.deepEqual(r.anchors, [{ term: "Harry", generic: "Jon", origStart: 1, origEnd: 2, transStart: 1, transEnd: 2, firstOccurrence: true }]);
  assert.deepEqual(r.map, [0, 1, 2, 3]);
  assert.equal(r.translatedText, "Then Jon left.");
});

test("multi-token anchor translated to a longer generic", () => {
  const r = run("He went to Hogwarts today.", [entry("Hogwarts", "Mystic Academy")]);
  assert.deepEqual(r.originalPieces, ["He", " went", " to", " Hog", "war", "ts", " today", "."]);
  assert.deepEqual(r.translatedPieces, ["He", " went", " to", " Mys", "tic", " Aca", "dem", "y", " today", "."]);
  assert.deepEqual(r.anchors[0], { term: "Hogwarts", generic: "Mystic Academy", origStart: 3, origEnd: 6, transStart: 3, transEnd: 8, firstOccurrence: true });
  // " to" predicts the anchor from " to" of the translation; "ts" (last anchor token) from "y".
  assert.deepEqual(r.map, [0, 1, 2, -1, -1, 7, 8, 9]);
});

test("multi-token anchor translated to a shorter generic", () => {
  const r = run("I love Hogwarts so much", [entry("Hogwarts", "Bo")]);
  assert.deepEqual(r.originalPieces, ["I", " love", " Hog", "war", "ts", " so", " much"]);
  assert.deepEqual(r.translatedPieces, ["I", " love", " Bo", " so", " much"]);
  assert.deepEqual(r.map, [0, 1, -1, -1, 2, 3, 4]);
});

test("a multi-token term maps to a multi-token generic of another length", () => {
  const r = run("At Emerald City gates", [entry("Emerald City", "great town")]);
  assert.deepEqual(r.originalPieces, ["At", " Eme", "ral", "d", " City", " gates"]);
  assert.deepEqual(r.translatedPieces, ["At", " great", " town", " gates"]);
  assert.deepEqual(r.map, [0, -1, -1, -1, 2, 3]);
});

test("leading space travels with the anchor; at the block start there is none", () => {
  const atStart = run("Harry ran.", [entry("Harry", "Jon")]);
  assert.deepEqual(atStart.originalPieces, ["Harry", " ran", "."]);
  assert.deepEqual(atStart.translatedPieces, ["Jon", " ran", "."]);
  const spaced = run(" Harry ran.", [entry("Harry", "Jon")]);
  assert.deepEqual(spaced.originalPieces, [" Harry", " ran", "."]);
  assert.deepEqual(spaced.translatedPieces, [" Jon", " ran", "."]);
  assert.deepEqual(spaced.anchors[0].origStart, 0);
  const afterNewline = run("ran.\nHarry", [entry("Harry", "Jon")]);
  assert.deepEqual(afterNewline.translatedPieces, ["ran", ".", "\n", "Jon"]);
  assert.deepEqual(afterNewline.map, [0, 1, 2, 3]);
});

test("case: exact entries match their casing only, case-insensitive entries match any", () => {
  const exact = run("Harry and harry and HARRY", [entry("Harry", "Jon")]);
  assert.equal(exact.translatedText, "Jon and harry and HARRY");
  const separate = run("Harry and harry", [entry("Harry", "Jon"), entry("harry", "hasty")]);
  assert.equal(separate.translatedText, "Jon and hasty");
  const folded = run("Potter, potter and POTTER", [entry("Potter", "Smith", { ignoreCase: true })]);
  assert.equal(folded.translatedText, "Smith, Smith and SMITH");
  assert.deepEqual(folded.anchors.map((a) => a.firstOccurrence), [true, false, false]);
  // An exact entry wins over a case-insensitive one for its own casing.
  const both = run("Potter potter", [entry("potter", "maker", { ignoreCase: true }), entry("Potter", "Smith")]);
  assert.equal(both.translatedText, "Smith maker");
});

test("a lower-case generic is capitalised at a sentence start", () => {
  const r = run("Emerald City rose. In the Emerald City. \"Emerald City!\"", [entry("Emerald City", "great city")]);
  assert.equal(r.translatedText, "Great city rose. In the great city. \"Great city!\"");
});

test("overlapping keys: the longest match at a position wins, leftmost first", () => {
  const r = run("the Tin Woodman and the Tin can", [entry("Tin", "metal"), entry("Tin Woodman", "woodcutter")]);
  assert.equal(r.translatedText, "the woodcutter and the metal can");
  assert.deepEqual(r.anchors.map((a) => a.term), ["Tin Woodman", "Tin"]);
  const leftmost = run("the Emerald City Gate", [entry("Emerald City", "town"), entry("City Gate", "door")]);
  assert.equal(leftmost.translatedText, "the town Gate");
});

test("matches only at word boundaries; whitespace inside a term matches line breaks", () => {
  const r = run("Ozma of Oz's land, OzOz and Oz", [entry("Oz", "the land")]);
  assert.equal(r.translatedText, "Ozma of the land's land, OzOz and the land");
  const wrapped = run("to the Emerald\nCity.", [entry("Emerald City", "town")]);
  assert.equal(wrapped.translatedText, "to the town.");
  assert.deepEqual(wrapped.originalPieces, ["to", " the", " Eme", "ral", "d", "\n", "City", "."]);
  assert.deepEqual(wrapped.map, [0, 1, -1, -1, -1, -1, 2, 3]);
});

test("repeated anchors keep one generic per block, chosen by the seed", () => {
  const dictionary = [entry("Harry", ["Jon", "Tom", "Ben", "Sam"])];
  const r = run("Harry saw Harry. Harry!", dictionary, 7);
  const generics = new Set(r.anchors.map((a) => a.generic));
  assert.equal(generics.size, 1);
  assert.deepEqual(r.anchors.map((a) => a.firstOccurrence), [true, false, false]);
  assert.equal(run("Harry saw Harry.", dictionary, 7).anchors[0].generic, r.anchors[0].generic);
  const chosen = new Set(Array.from({ length: 20 }, (_, seed) => pickGeneric(dictionary[0], seed)));
  assert.ok(chosen.size >= 2, `20 seeds chose only ${[...chosen].join(", ")}`);
  assert.equal(pickGeneric(entry("Ron", "Bob"), 123), "Bob");
});

test("adjacent anchors: the last token of the first predicts the second from its generic", () => {
  const r = run("Aunt Em came", [entry("Aunt", "Mrs"), entry("Em", "Lee")]);
  assert.deepEqual(r.translatedPieces, ["Mrs", " Lee", " came"]);
  assert.deepEqual(r.map, [0, 1, 2]);
});

test("an empty dictionary leaves the text alone", () => {
  const r = run("None to see.", []);
  assert.deepEqual(r.original, r.translated);
  assert.deepEqual(r.anchors, []);
  assert.deepEqual(r.map, [0, 1, 2, 3]);
});

test("splitIntoBlocks never cuts an anchor and respects the budget on both sides", () => {
  const tok = new FakeTokenizer();
  const matcher = new AnchorMatcher([entry("Hogwarts", "Bo")]);
  // "a b" costs 2 tokens; " Hogwarts" 3: a 4-token block cannot take "a b" and the anchor.
  assert.deepEqual(splitIntoBlocks("a b Hogwarts c", tok.encode, 4, matcher), ["a b", " Hogwarts c"]);
  const block = translateBlock(" Hogwarts c", matcher, tok.encode);
  assert.deepEqual(block.original.map(tok.decode), [" Hog", "war", "ts", " c"]);

  const longer = new AnchorMatcher([entry("Harry", "Mystic Academy"), entry("Hogwarts", ["Bo", "Castle Of Many Rooms"])]);
  const text = "Harry went to Hogwarts. There Harry met a friend at Hogwarts, and Harry stayed.\nThe end of it all.";
  for (const size of [5, 6, 8, 13, 40]) {
    const blocks = splitIntoBlocks(text, tok.encode, size, longer);
    assert.equal(blocks.join(""), text);
    let anchors = 0;
    for (const [index, piece] of blocks.entries()) {
      for (const seed of [0, 1, 2, 3]) {
        const a = translateBlock(piece, longer, tok.encode, { seed: seed + index });
        assert.ok(a.original.length <= size, `block ${JSON.stringify(piece)} has ${a.original.length} > ${size} tokens`);
        assert.ok(a.translated.length <= size, `translation of ${JSON.stringify(piece)} has ${a.translated.length} > ${size} tokens`);
        if (seed === 0) anchors += a.anchors.length;
      }
    }
    assert.equal(anchors, longer.find(text).length);
  }
});

test("splitIntoBlocks cuts a word longer than a block by characters", () => {
  const tok = new FakeTokenizer();
  const matcher = new AnchorMatcher([]);
  const word = "abcdefghijklmnopqrstuvwxyz"; // 9 three-letter pieces
  const blocks = splitIntoBlocks(`go ${word}`, tok.encode, 4, matcher);
  assert.equal(blocks.join(""), `go ${word}`);
  for (const b of blocks) assert.ok(tok.encode(b).length <= 4, `${b} is too long`);
  assert.equal(blocks[0], "go");
});

test("splitIntoBlocks rejects a block size an anchor cannot fit", () => {
  const tok = new FakeTokenizer();
  const matcher = new AnchorMatcher([entry("Hogwarts", "Mystic Academy")]);
  assert.throws(() => splitIntoBlocks("to Hogwarts", tok.encode, 4, matcher), (e: unknown) => e instanceof InputError && /Hogwarts/.test(e.message));
  assert.throws(() => splitIntoBlocks("x", tok.encode, 0, matcher), InputError);
});
