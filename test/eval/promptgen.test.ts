import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { generateFamiliarityPrompts, generateVerbatimItems, samplePassages, splitSentences } from "../../src/eval/promptgen.js";

const corpus = [
  "Dorothy lived in the middle of the great Kansas prairies,",
  "with Uncle Henry.",
  "",
  "The little dog that ran beside her was called Toto by everyone. Nobody in",
  "the whole wide world loved Toto more than she did.",
].join("\n");

test("sentences split after . ! ? and closing quotes", () => {
  assert.deepEqual(splitSentences('He said, "Go home." Then he left! Why? "Because."'), [
    'He said, "Go home."',
    "Then he left!",
    "Why?",
    '"Because."',
  ]);
  assert.deepEqual(splitSentences("one. two"), ["one. two"]);
});

test("prompts are cut right before the first anchored term, with the rest as reference", () => {
  const prompts = generateFamiliarityPrompts(corpus, ["Dorothy", "Toto", "Kansas"], { minPrefixWords: 3 });
  // The first sentence starts with Dorothy: nothing before it, so it yields no prompt.
  assert.deepEqual(
    prompts.map((p) => p.prompt).sort(),
    ["Nobody in the whole wide world loved", "The little dog that ran beside her was called"],
  );
  const called = prompts.find((p) => p.prompt.endsWith("called"))!;
  assert.deepEqual(called.targets, ["Toto"]);
  assert.deepEqual(called.references, ["Toto by everyone."]);
});

test("prompts are balanced across terms and capped", () => {
  const text = [
    "We all know that the dog was called Toto.",
    "Everyone in the town said hello to Toto.",
    "The farmer over the hill waved at Toto.",
    "The small girl from the farm was Dorothy.",
  ].join(" ");
  const perTerm = generateFamiliarityPrompts(text, ["Toto", "Dorothy"], { perTerm: 1, minPrefixWords: 3 });
  assert.deepEqual(perTerm.map((p) => p.targets[0]), ["Toto", "Dorothy"]);
  const roundRobin = generateFamiliarityPrompts(text, ["Toto", "Dorothy"], { perTerm: 5, maxPrompts: 3, minPrefixWords: 3 });
  assert.deepEqual(roundRobin.map((p) => p.targets[0]), ["Toto", "Dorothy", "Toto"]);
  const again = generateFamiliarityPrompts(text, ["Toto", "Dorothy"], { perTerm: 5, maxPrompts: 3, minPrefixWords: 3 });
  assert.deepEqual(again, roundRobin);
});

test("identical prompts are merged and their targets pooled", () => {
  const text = "They all agreed that it was Toto. They all agreed that it was Dorothy.";
  const prompts = generateFamiliarityPrompts(text, ["Toto", "Dorothy"], { minPrefixWords: 3 });
  assert.equal(prompts.length, 1);
  assert.equal(prompts[0].prompt, "They all agreed that it was");
  assert.deepEqual(prompts[0].targets, ["Toto", "Dorothy"]);
  assert.deepEqual(prompts[0].references, ["Toto.", "Dorothy."]);
});

test("the earliest mention wins; at the same place the longest term", () => {
  const text = "At the very end of the road stood the Tin Woodman and Dorothy.";
  const prompts = generateFamiliarityPrompts(text, ["Tin", "Tin Woodman", "Dorothy"], { minPrefixWords: 3 });
  assert.deepEqual(prompts[0].targets, ["Tin Woodman"]);
  assert.equal(prompts[0].prompt, "At the very end of the road stood the");
  assert.throws(() => generateFamiliarityPrompts(text, [" "]), InputError);
});

test("passages are evenly spaced; verbatim items split them into prompt and continuation", () => {
  assert.deepEqual(samplePassages("a b c d e f g h i j", 2, 3), ["a b c", "f g h"]);
  assert.deepEqual(samplePassages("a b", 2, 3), []);
  assert.deepEqual(generateVerbatimItems("a b c d e f g h i j", { count: 2, prefixWords: 1, continuationWords: 2 }), [
    { prompt: "a", continuation: "b c" },
    { prompt: "f", continuation: "g h" },
  ]);
});
