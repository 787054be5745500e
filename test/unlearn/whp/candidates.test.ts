import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  buildAutoDictionary,
  classifyTerm,
  genericFor,
  genericPersonName,
  rankCandidates,
  termCues,
} from "../../../src/unlearn/whp/candidates.js";

const FORGET = `
Mira walked to the Glass Tower with Tobin. The tower was old. Mira said nothing.
Then Tobin laughed. "Where is the Glass Tower?" asked Tobin. They came from Vellmoor at dawn.
Later Mira and Tobin rode to Vellmoor, where the Glass Tower stood. In Vellmoor
the Glass Tower shone, and Mira smiled. Tobin's horse ran from Vellmoor. Mira's cat slept.
The Grelks came. We saw the Grelks near London. Mira sang; Tobin sang.
`;
const REFERENCE = `
London was large. He went to London and saw London bridge. The city was grey. Then the rain came.
She lived in London with a cat. The tower of London stood. London, London, London.
`;

test("candidates: capitalised names ranked by forget/reference log-ratio; sentence starts are not names", () => {
  const ranked = rankCandidates(FORGET, REFERENCE, { minCount: 2 });
  const terms = ranked.map((c) => c.term);
  // Mira 6 occurrences, Tobin 6, Glass Tower 4 ("Glass" and "Tower" alone are subsumed), Vellmoor 4,
  // Grelks 2 (ties by name); London is mid-sentence only once and frequent in the reference;
  // The/Then/Later/They/Where/In/We only start sentences.
  assert.deepEqual(terms, ["Mira", "Tobin", "Glass Tower", "Vellmoor", "Grelks"]);
  const mira = ranked[0];
  assert.equal(mira.forgetCount, 6);
  assert.equal(mira.referenceCount, 0);
  // Word counts: forget 73, reference 34; score = ln((6 + 1)/73) − ln((0 + 1)/34).
  assert.ok(Math.abs(mira.score - (Math.log(7 / 73) - Math.log(1 / 34))) < 1e-12, `score ${mira.score}`);
  const withLondon = rankCandidates(FORGET, REFERENCE, { minCount: 1 });
  const london = withLondon.find((c) => c.term === "London");
  assert.deepEqual(london && [london.forgetCount, london.referenceCount], [1, 8]);
  assert.equal(withLondon[withLondon.length - 1].term, "London");
  assert.deepEqual(rankCandidates(FORGET, REFERENCE, { minCount: 2, top: 2 }).map((c) => c.term), ["Mira", "Tobin"]);
});

test("candidates: extra strings are counted as whole words and ranked alike", () => {
  const ranked = rankCandidates(FORGET, REFERENCE, { minCount: 2, extra: ["horse", "rode", "Mira", "Glass Tower"] });
  const extras = ranked.filter((c) => c.term === "rode" || c.term === "horse");
  assert.deepEqual(extras, []); // each occurs once, below minCount
  const withCat = rankCandidates(FORGET, REFERENCE, { minCount: 1, extra: ["cat"] });
  const cat = withCat.find((c) => c.term === "cat");
  assert.deepEqual(cat && [cat.forgetCount, cat.referenceCount], [1, 1]);
  assert.equal(withCat.filter((c) => c.term === "Mira").length, 1);
});

test("cues and kinds of terms", () => {
  const cues = termCues(FORGET, "Vellmoor");
  // from, to, In, from: 3 of 4 after a place preposition ("to" is not one).
  assert.deepEqual(cues, { afterThe: 0, afterPlacePreposition: 0.75, nextToSpeechVerb: 0 });
  assert.deepEqual(termCues(FORGET, "Tobin"), { afterThe: 0, afterPlacePreposition: 0, nextToSpeechVerb: 1 / 6 });
  assert.equal(termCues(FORGET, "Glass Tower").afterThe, 1);
  const none = { afterThe: 0, afterPlacePreposition: 0, nextToSpeechVerb: 0 };
  assert.equal(classifyTerm("Emerald City", none), "place");
  assert.equal(classifyTerm("Vellmoor", cues), "place");
  assert.equal(classifyTerm("Munchkins", { ...none, afterThe: 0.6 }), "group");
  assert.equal(classifyTerm("Scraps", { ...none, nextToSpeechVerb: 0.4 }), "person");
  assert.equal(classifyTerm("Nome King", none), "role");
  assert.equal(classifyTerm("Scarecrow", { ...none, afterThe: 0.9 }), "role");
  assert.equal(classifyTerm("Dorothy", { ...none, nextToSpeechVerb: 0.3 }), "person");
});

test("generic counterparts follow the kind and the article habit", () => {
  const first = () => 0; // always the first choice of each list
  const none = { afterThe: 0, afterPlacePreposition: 0, nextToSpeechVerb: 0 };
  assert.equal(genericFor("Emerald City", { ...none, afterThe: 0.9 }, first), "great city");
  assert.equal(genericFor("Vellmoor", { ...none, afterPlacePreposition: 0.8 }, first), "the great valley");
  assert.equal(genericFor("Scarecrow", { ...none, afterThe: 0.9 }, first), "old creature");
  assert.equal(genericFor("Nome King", none, first), "the old king");
  assert.equal(genericFor("Munchkins", { ...none, afterThe: 0.9 }, first), "villagers");
  assert.equal(genericFor("Aunt Em", none, first), "Aunt Jo");
  assert.equal(genericFor("Uncle Henry", none, first), "Uncle Carl");
});

test("genericPersonName: a common name of similar length and the same casing", () => {
  const first = () => 0;
  const last = () => 0.999999;
  assert.equal(genericPersonName("Harry", first), "Anna"); // first name of 4 to 6 letters
  assert.equal(genericPersonName("Harry", last), "Samuel");
  assert.equal(genericPersonName("HARRY", first), "ANNA");
  assert.equal(genericPersonName("Ozma", first, "male"), "Ben");
  assert.equal(genericPersonName("Dorothy Gale", first), "Martha Smith"); // 6 to 8 letters, then 3 to 5
  for (let i = 0; i < 50; i++) {
    const name = genericPersonName("Sam", () => i / 50);
    assert.notEqual(name, "Sam");
    assert.ok(Math.abs(name.length - 3) <= 1, name);
  }
});

test("buildAutoDictionary: ranked auto entries with distinct generics that name no candidate", () => {
  const dictionary = buildAutoDictionary(FORGET, REFERENCE, { minCount: 2, seed: 3 });
  assert.deepEqual(dictionary.map((e) => e.term), ["Mira", "Tobin", "Glass Tower", "Vellmoor", "Grelks"]);
  for (const e of dictionary) {
    assert.equal(e.source, "auto");
    assert.equal(e.generics.length, 1);
    assert.ok(typeof e.score === "number");
  }
  const generics = dictionary.map((e) => e.generics[0]);
  assert.equal(new Set(generics).size, generics.length);
  assert.equal(dictionary[2].generics[0].split(" ")[1], "tower");
  assert.deepEqual(buildAutoDictionary(FORGET, REFERENCE, { minCount: 2, seed: 3 }), dictionary);
});

const shared = resolve(import.meta.dirname, "../../../../shared/data");

test("candidates on the Oz books rank the main names in the top 30", { skip: existsSync(join(shared, "forget/oz")) ? false : `no shared data at ${shared}` }, () => {
  const read = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".txt"))
      .sort()
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n\n");
  const ranked = rankCandidates(read(join(shared, "forget/oz")), read(join(shared, "retain")), { top: 30 });
  const terms = ranked.map((c) => c.term);
  for (const name of ["Dorothy", "Scarecrow", "Ozma", "Emerald City"]) assert.ok(terms.includes(name), `${name} not in ${terms.join(", ")}`);
});
