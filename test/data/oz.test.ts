// Checks the hand-written Oz evaluation set under data/oz/: shape and counts always; against the
// books (terms occur, nothing copied verbatim) when the shared corpus is present.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toCompletionPrompt, toProbabilityPrompt, toQaPair } from "../../src/eval/prompts.js";
import { parseDictionaryJson } from "../../src/unlearn/whp/dictionary.js";
import { containsTerm, copiedRun, normaliseSpace, readJsonLines, termMatcher, wordIndex, words, type JsonLine } from "./text-checks.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OZ_DIR = join(ROOT, "data/oz");
const CORPUS_DIR = resolve(ROOT, "../shared/data/forget/oz");
const CORPUS_SKIP: string | false = existsSync(CORPUS_DIR)
  ? false
  : `Oz corpus not found at ${CORPUS_DIR} (a fresh clone has none); skipping the checks against the books`;

/** Longest run of words a prompt may share with the books: longer runs would be copied sentences. */
const MAX_SHARED_WORDS = 12;

/** Parses every line with `validate` after checking it has exactly `keys`, naming the line on failure. */
function loadStrict<T>(file: string, keys: readonly string[], validate: (value: unknown) => T): T[] {
  const path = join(OZ_DIR, file);
  return readJsonLines(path).map(({ line, value }: JsonLine) => {
    const actual = value !== null && typeof value === "object" ? Object.keys(value).sort() : [];
    assert.deepEqual(actual, [...keys].sort(), `${file} line ${line} must have exactly the keys ${keys.join(", ")}`);
    try {
      return validate(value);
    } catch (error) {
      throw new Error(`${file} line ${line}: ${(error as Error).message}`);
    }
  });
}

const familiarity = loadStrict("familiarity.jsonl", ["prompt", "references"], toCompletionPrompt);
const qa = loadStrict("qa.jsonl", ["question", "answer"], toQaPair);
const probability = loadStrict("probability.jsonl", ["prompt", "targets"], toProbabilityPrompt);
const dictionaryPath = join(OZ_DIR, "dictionary.json");
const dictionary = parseDictionaryJson(readFileSync(dictionaryPath, "utf8"), dictionaryPath);

/** Every piece of prose written for the set, to be checked against the books. */
const ownWriting = [
  ...familiarity.map((p, i) => ({ where: `familiarity.jsonl line ${i + 1}`, text: p.prompt })),
  ...qa.map((p, i) => ({ where: `qa.jsonl line ${i + 1}`, text: p.question })),
  ...probability.map((p, i) => ({ where: `probability.jsonl line ${i + 1}`, text: p.prompt })),
];

/** Every term the set claims is Oz text. */
const claimedTerms = [
  ...familiarity.flatMap((p, i) => p.references.map((term) => ({ where: `familiarity.jsonl line ${i + 1}`, term }))),
  ...qa.map((p, i) => ({ where: `qa.jsonl line ${i + 1}`, term: p.answer })),
  ...probability.flatMap((p, i) => p.targets.map((term) => ({ where: `probability.jsonl line ${i + 1}`, term }))),
  ...dictionary.map((entry) => ({ where: "dictionary.json", term: entry.term })),
];

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const value of values) {
    const key = normaliseSpace(value).toLowerCase();
    if (seen.has(key)) repeated.add(value);
    seen.add(key);
  }
  return [...repeated];
}

test("each file holds the agreed number of entries", () => {
  assert.ok(familiarity.length >= 130 && familiarity.length <= 170, `familiarity.jsonl has ${familiarity.length} prompts, expected about 150`);
  assert.equal(qa.length, 100, "qa.jsonl must hold 100 pairs");
  assert.ok(probability.length >= 50 && probability.length <= 70, `probability.jsonl has ${probability.length} prompts, expected about 60`);
  assert.ok(dictionary.length >= 70 && dictionary.length <= 110, `dictionary.json has ${dictionary.length} entries, expected about 80-100`);
});

test("entries are well formed", () => {
  const problems: string[] = [];
  familiarity.forEach((p, i) => {
    if (p.references.length === 0) problems.push(`familiarity.jsonl line ${i + 1}: no references`);
    if (p.references.some((r) => r.trim() === "")) problems.push(`familiarity.jsonl line ${i + 1}: empty reference`);
  });
  qa.forEach((p, i) => {
    const count = p.answer.trim().split(/\s+/).length;
    if (count > 4) problems.push(`qa.jsonl line ${i + 1}: answer "${p.answer}" has ${count} words, at most 4 allowed`);
  });
  probability.forEach((p, i) => {
    // The scorer inserts the space at the seam itself; stray whitespace would double it.
    if (p.prompt !== p.prompt.trimEnd()) problems.push(`probability.jsonl line ${i + 1}: prompt ends in whitespace`);
    for (const t of p.targets) {
      if (t !== t.trim()) problems.push(`probability.jsonl line ${i + 1}: target "${t}" has surrounding whitespace`);
      // A target that begins another would be counted twice and the sum clamped.
      if (p.targets.some((other) => other !== t && other.startsWith(t))) problems.push(`probability.jsonl line ${i + 1}: target "${t}" is a prefix of another`);
    }
  });
  const keys = new Set(dictionary.map((e) => e.term));
  for (const entry of dictionary) {
    for (const generic of entry.generics) {
      if (keys.has(generic)) problems.push(`dictionary.json: generic "${generic}" of "${entry.term}" is itself an anchored term`);
    }
  }
  assert.deepEqual(problems, []);
});

test("no prompt, question or reference is repeated", () => {
  assert.deepEqual(duplicates(familiarity.map((p) => p.prompt)), [], "repeated familiarity prompts");
  assert.deepEqual(duplicates(qa.map((p) => p.question)), [], "repeated questions");
  assert.deepEqual(duplicates(probability.map((p) => p.prompt)), [], "repeated probability prompts");
  const repeatedWithin = familiarity.flatMap((p, i) => duplicates(p.references).map((r) => `familiarity.jsonl line ${i + 1}: "${r}"`));
  assert.deepEqual(repeatedWithin, [], "references repeated within a prompt");
});

test("prompts do not give away their own answers", () => {
  const leaks: string[] = [];
  familiarity.forEach((p, i) => {
    for (const r of p.references) if (containsTerm(p.prompt, r, { ignoreCase: true })) leaks.push(`familiarity.jsonl line ${i + 1}: "${r}"`);
  });
  qa.forEach((p, i) => {
    // "a heart" should not leak through "heart" either, so the answer is also tried without its article.
    const bare = p.answer.replace(/^(a|an|the|his|her) /i, "");
    if (containsTerm(p.question, bare, { ignoreCase: true })) leaks.push(`qa.jsonl line ${i + 1}: "${p.answer}"`);
  });
  probability.forEach((p, i) => {
    for (const t of p.targets) if (containsTerm(p.prompt, t, { ignoreCase: true })) leaks.push(`probability.jsonl line ${i + 1}: "${t}"`);
  });
  assert.deepEqual(leaks, []);
});

test("against the books", { skip: CORPUS_SKIP }, async (t) => {
  const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith(".txt"));
  assert.equal(files.length, 11, `expected the eleven Oz books in ${CORPUS_DIR}`);
  const corpus = normaliseSpace(files.map((f) => readFileSync(join(CORPUS_DIR, f), "utf8")).join("\n"));

  await t.test("every reference, answer, target and dictionary term occurs in the books", () => {
    const occurs = termMatcher(corpus);
    const missing = claimedTerms.filter(({ term }) => !occurs(term)).map(({ where, term }) => `${where}: "${term}"`);
    assert.deepEqual(missing, []);
  });

  await t.test(`no prompt or question copies more than ${MAX_SHARED_WORDS} words in a row from the books`, () => {
    const index = wordIndex(corpus);
    const copied = ownWriting.flatMap(({ where, text }) => {
      if (words(text).length <= MAX_SHARED_WORDS) return [];
      const run = copiedRun(text, index, MAX_SHARED_WORDS + 1);
      return run === null ? [] : [`${where}: "${run}"`];
    });
    assert.deepEqual(copied, []);
  });
});
