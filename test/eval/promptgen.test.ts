import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import {
  CLOZE_BLANK,
  generateClozeQa,
  generateFamiliarityPrompts,
  generateVerbatimItems,
  idiosyncraticTerms,
  judgeTermsOf,
  samplePassages,
  splitSentences,
} from "../../src/eval/promptgen.js";

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

test("idiosyncratic terms: words far more frequent in the forget text, ranked by smoothed log ratio", () => {
  const retain = ["The farmer of the valley walked to the market with his apples and sold them at the gate to the baker. ".repeat(20) + "Once he saw a lantern. "];
  const forget = [
    "Velloran walked to the tower of Quist with the lantern. ".repeat(12) +
      "The lantern of velloran glowed. ".repeat(3) +
      "Quist was cold. ".repeat(2) +
      "The Tik-Tak rang at Quist's gate. ".repeat(9) +
      "A rare Zumber word. ".repeat(2),
  ];
  const terms = idiosyncraticTerms(forget, retain);
  const byTerm = new Map(terms.map((t) => [t.term, t]));
  // Case is merged for counting and the most frequent spelling is kept; hyphenated words stay whole;
  // "Quist's" counts as Quist.
  assert.equal(byTerm.get("Velloran")!.forgetCount, 15);
  assert.equal(byTerm.get("Quist")!.forgetCount, 23);
  assert.ok(byTerm.has("Tik-Tak"));
  // Words the retain text uses as often are out, however frequent; so are words below minCount.
  for (const common of ["the", "The", "walked", "of", "with", "Zumber"]) assert.ok(!byTerm.has(common), common);
  // A word the retain text uses once is still ten times more frequent here, but ranks below words it never uses.
  assert.ok(byTerm.get("lantern")!.retainCount === 1);
  assert.deepEqual(terms.slice(0, 2).map((t) => t.term), ["Quist", "Velloran"]);
  assert.ok(terms.indexOf(byTerm.get("lantern")!) > terms.indexOf(byTerm.get("Tik-Tak")!));
  assert.deepEqual(
    judgeTermsOf(terms).filter((t) => t.term === "lantern" || t.term === "Quist"),
    [{ term: "Quist", tier: "unique" }, { term: "lantern", tier: "typical" }],
  );
  assert.equal(idiosyncraticTerms(forget, retain, { top: 1 }).length, 1);
  assert.deepEqual(idiosyncraticTerms(retain, retain), []);
});

test("cloze questions blank the first mention, answer it as written, and skip giveaways", () => {
  const text = [
    "Every morning the old keeper of the tower fed the Vellorans by the gate.",
    "Nobody in the whole valley knew Quist as well as Quist knew himself.",
    "Short Quist line.",
    "At dawn the riders of the northern hills came down to Quist and rested there.",
  ].join(" ");
  const qa = generateClozeQa(text, ["Velloran", "Quist"]);
  assert.deepEqual(qa, [
    { question: `Fill in the blank: Every morning the old keeper of the tower fed the ${CLOZE_BLANK} by the gate.`, answer: "Vellorans" },
    { question: `Fill in the blank: At dawn the riders of the northern hills came down to ${CLOZE_BLANK} and rested there.`, answer: "Quist" },
  ]);
  assert.deepEqual(generateClozeQa(text, ["Quist"], { maxWords: 10 }), []);
  assert.equal(generateClozeQa(text, ["Velloran", "Quist"], { maxQuestions: 1 }).length, 1);
});
