import assert from "node:assert/strict";
import { test } from "node:test";

import { InputError } from "../../src/errors.js";
import {
  paraphrasePrompt,
  paraphraseProbabilityPrompts,
  passagesFromDocuments,
  pickContextPassage,
  splitPromptRecords,
  toParaphraseRecord,
  withContext,
} from "../../src/eval/probes.js";
import { blocksForStep, relearnBlocks } from "../../src/eval/relearn.js";
import { RecordShapeError } from "../../src/eval/jsonl.js";

const FRAMES = ["In the story, ", "As the tale goes, ", "The narrator writes: ", "Continue the passage: "];

function splitFrame(text: string): { frame: string; body: string } {
  const frame = FRAMES.find((f) => text.startsWith(f));
  assert.ok(frame, `no known frame in ${JSON.stringify(text)}`);
  return { frame, body: text.slice(frame.length) };
}

test("paraphrasePrompt swaps everyday words, lower-cases a plain opener and frames the prompt", () => {
  const out = paraphrasePrompt("After supper, Tallwyn went looking for his best friend,");
  assert.equal(splitFrame(out).body, "following supper, Tallwyn headed looking for his best companion,");
});

test("paraphrasePrompt leaves names alone, even capitalised dictionary words inside a sentence", () => {
  assert.equal(splitFrame(paraphrasePrompt("Stusix Sleirkane whistled, and her pet")).body, "Stusix Sleirkane whistled, and her pet");
  assert.equal(splitFrame(paraphrasePrompt("She said the Little house was small")).body, "she remarked the Little home was little");
});

test("paraphrasePrompt is deterministic and always changes the prompt", () => {
  const prompts = ["Kendix packed her bags and travelled home to", "Stusix", "Tembenna reached for his ring, the one called"];
  for (const p of prompts) {
    assert.equal(paraphrasePrompt(p), paraphrasePrompt(p));
    assert.notEqual(paraphrasePrompt(p), p);
  }
  assert.equal(splitFrame(paraphrasePrompt(prompts[0])).body, "Kendix packed her bags and journeyed back home to");
});

test("paraphraseProbabilityPrompts keeps the targets", () => {
  const [p] = paraphraseProbabilityPrompts([{ prompt: "Stusix", targets: [" Sleirkane"] }]);
  assert.deepEqual(p.targets, [" Sleirkane"]);
  assert.equal(splitFrame(p.prompt).body, "Stusix");
});

test("passagesFromDocuments cuts word windows with the original whitespace and drops short tails", () => {
  const doc = "one two\nthree four  five six seven";
  assert.deepEqual(passagesFromDocuments([doc], 3), ["one two\nthree", "four  five six"]);
  // A first piece is kept even when short; a later piece of 1 word (< 3/2 rounded up = 2) is dropped.
  assert.deepEqual(passagesFromDocuments(["a b", "c d e f"], 3), ["a b", "c d e"]);
});

test("pickContextPassage skips passages that contain the answer", () => {
  const passages = ["Dorothy met Toto.", "The road was long.", "Toto barked."];
  assert.deepEqual(pickContextPassage(passages, ["Toto"], 0), { passage: "The road was long.", clean: true });
  assert.deepEqual(pickContextPassage(passages, ["Toto"], 2), { passage: "The road was long.", clean: true });
  assert.deepEqual(pickContextPassage(passages, ["o"], 1), { passage: "The road was long.", clean: false });
  // Blank answers are ignored rather than matching everything.
  assert.deepEqual(pickContextPassage(passages, [" ", ""], 0), { passage: "Dorothy met Toto.", clean: true });
});

test("withContext puts the passage, a blank line, then the prompt", () => {
  assert.equal(withContext("Once upon a time.\n", "Then"), "Once upon a time.\n\nThen");
});

test("prompt records: references, targets, or both; each completion prompt gets references", () => {
  assert.deepEqual(toParaphraseRecord({ prompt: "p", references: ["r"] }), { prompt: "p", references: ["r"] });
  assert.deepEqual(toParaphraseRecord({ prompt: "p", targets: ["t"] }), { prompt: "p", references: [], targets: ["t"] });
  assert.throws(() => toParaphraseRecord({ prompt: "p" }), RecordShapeError);
  assert.throws(() => toParaphraseRecord({ prompt: "", references: [] }), RecordShapeError);
  assert.throws(() => toParaphraseRecord({ prompt: "p", targets: [] }), RecordShapeError);
  const split = splitPromptRecords([
    { prompt: "a", references: ["x"] },
    { prompt: "b", references: [], targets: ["y"] },
  ]);
  assert.deepEqual(split.completion, [
    { prompt: "a", references: ["x"] },
    { prompt: "b", references: ["y"] },
  ]);
  assert.deepEqual(split.probability, [{ prompt: "b", targets: ["y"] }]);
});

test("relearnBlocks starts every block with BOS and never crosses documents", () => {
  const bos = 0;
  assert.deepEqual(relearnBlocks([[0, 1, 2, 3, 4, 5], [7, 8]], 3, bos), [
    [0, 1, 2],
    [0, 3, 4],
    [0, 5],
    [0, 7, 8],
  ]);
  // A document that is only BOS teaches nothing.
  assert.deepEqual(relearnBlocks([[0]], 4, bos), []);
  assert.throws(() => relearnBlocks([[0, 1]], 1, bos), InputError);
});

test("blocksForStep walks the blocks in order and wraps around", () => {
  assert.deepEqual(blocksForStep(5, 2, 0), [0, 1]);
  assert.deepEqual(blocksForStep(5, 2, 2), [4, 0]);
  assert.deepEqual(blocksForStep(3, 4, 1), [1, 2, 0, 1]);
});
