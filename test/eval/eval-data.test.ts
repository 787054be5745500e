import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { InputError } from "../../src/errors.js";
import {
  assembleEvalData,
  firstWords,
  limitEvalData,
  loadQaFile,
  loadTermsFile,
  splitFewShot,
  syntheticEvalData,
  verbatimFromDocuments,
} from "../../src/eval/eval-data.js";
import { formatEvalMarkdown, formatMetric, markdownPathFor } from "../../src/eval/eval-report.js";
import { modelNames, relativeToGold } from "../../src/eval/evaluate.js";
import { generateSyntheticTestbed } from "../../src/testbed/synthetic/index.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("eval-data");
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test("firstWords keeps the text's own whitespace", () => {
  assert.equal(firstWords("  a b\n\nc d", 3), "a b\n\nc");
  assert.equal(firstWords("", 3), "");
});

test("verbatimFromDocuments splits each document into prompt and true continuation", () => {
  const items = verbatimFromDocuments(["w1 w2\nw3 w4 w5 w6", "short", "x1 x2 x3 x4"], { prefixWords: 2, continuationWords: 3 });
  assert.deepEqual(items, [
    { prompt: "w1 w2", continuation: "\nw3 w4 w5" },
    { prompt: "x1 x2", continuation: " x3 x4" },
  ]);
  // count 2 of 4 documents takes documents 0 and 2.
  const spaced = verbatimFromDocuments(["a b c", "d e f", "g h i", "j k l"], { count: 2, prefixWords: 1, continuationWords: 1 });
  assert.deepEqual(spaced.map((v) => v.prompt), ["a", "g"]);
});

test("splitFewShot sets aside the last pairs of each split; a small split spares none", () => {
  const qa = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ question: `${tag}${i}?`, answer: `${tag}${i}` }));
  const r = splitFewShot(qa(5, "f"), qa(2, "r"), 2);
  assert.deepEqual(r.forgetQa!.map((q) => q.answer), ["f0", "f1", "f2"]);
  assert.deepEqual(r.forgetFewShot!.map((q) => q.answer), ["f3", "f4"]);
  assert.deepEqual(r.retainQa!.map((q) => q.answer), ["r0", "r1"]);
  assert.deepEqual(r.retainFewShot, []);
  assert.equal(splitFewShot([], [], 3).forgetQa, undefined);
});

test("syntheticEvalData draws every set from the ground truth", () => {
  const t = generateSyntheticTestbed({ seed: 5, nCharacters: 4, nHeldOutCharacters: 1, repetitions: 1, nFamiliarityPrompts: 10 });
  const data = syntheticEvalData(t, "synthetic");
  const { truth } = t;
  // Facts become completion prompts (answer as reference) and probability prompts (answer with its space).
  const fact = truth.facts[0];
  assert.ok(data.completionPrompts!.some((p) => p.prompt === fact.prompt && p.references[0] === fact.answer));
  assert.ok(data.probabilityPrompts!.some((p) => p.prompt === fact.prompt && p.targets[0] === ` ${fact.answer}`));
  assert.ok(data.completionPrompts!.some((p) => p.prompt === truth.familiarityPrompts[0].prompt));
  assert.equal(new Set(data.completionPrompts!.map((p) => p.prompt)).size, data.completionPrompts!.length);
  for (const e of truth.entities) for (const form of e.surfaceForms) assert.ok(data.terms!.some((x) => x.term === form && x.tier === "unique"));
  const forget = truth.qa.filter((q) => q.split === "forget");
  assert.equal(data.forgetQa!.length + data.forgetFewShot!.length, forget.length);
  assert.equal(data.forgetFewShot!.length, 3);
  // PrivLeak: trained universe documents against the retold universe, never the held-out characters.
  assert.equal(data.forgetTexts!.length, t.universe.length);
  assert.ok(data.holdoutTexts!.length > 0);
  for (const text of data.holdoutTexts!) assert.ok(t.heldOut.retold.some((d) => d.startsWith(text)), text);
  assert.deepEqual(data.retainTexts, t.heldOut.generic);
  assert.deepEqual(data.relearnTexts, t.universe.slice(0, 4));
  assert.ok(data.verbatim!.length > 0 && data.contextPassages!.length > 0);
});

test("limitEvalData cuts prompt and QA sets, not texts", () => {
  const data = limitEvalData(
    { source: "s", completionPrompts: [{ prompt: "a", references: [] }, { prompt: "b", references: [] }], forgetTexts: ["x", "y"] },
    1,
  );
  assert.deepEqual(data.completionPrompts, [{ prompt: "a", references: [] }]);
  assert.deepEqual(data.forgetTexts, ["x", "y"]);
});

test("a malformed JSONL line is reported with its number and the other lines still load", async () => {
  const warnings: string[] = [];
  const path = file("qa.jsonl", '{"question":"Who?","answer":"Ozma"}\n{not json\n{"question":"Where?","answer":"Oz","split":"retain"}\n{"question":"x","answer":"y","split":"both"}\n');
  const qa = await loadQaFile(path, (w) => warnings.push(w));
  assert.deepEqual(qa.forget, [{ question: "Who?", answer: "Ozma" }]);
  assert.deepEqual(qa.retain, [{ question: "Where?", answer: "Oz" }]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /2 malformed line\(s\)/);
  assert.match(warnings[0], /qa\.jsonl:2: not valid JSON/);
  assert.match(warnings[0], /qa\.jsonl:4: "split" must be "forget" or "retain"/);
});

test("an empty prompt file is an error", async () => {
  const path = file("empty.jsonl", "\n\n");
  await assert.rejects(assembleEvalData({ prompts: path }, () => {}), (err: unknown) => err instanceof InputError && /no usable entries/.test(err.message));
});

test("terms load from JSONL, a list of strings, {term, tier} arrays and WHP dictionaries", async () => {
  const warn = () => {};
  assert.deepEqual(await loadTermsFile(file("t.jsonl", '{"term":"Ozma","tier":"unique"}\n{"term":"witch","tier":"typical"}\n'), warn), [
    { term: "Ozma", tier: "unique" },
    { term: "witch", tier: "typical" },
  ]);
  assert.deepEqual(await loadTermsFile(file("s.json", '["Ozma", "Toto"]'), warn), [
    { term: "Ozma", tier: "unique" },
    { term: "Toto", tier: "unique" },
  ]);
  assert.deepEqual(await loadTermsFile(file("o.json", '[{"term":"cyclone","tier":"weak"}]'), warn), [{ term: "cyclone", tier: "weak" }]);
  assert.deepEqual(await loadTermsFile(file("d.json", '{"Dorothy": "Jane", "Emerald City": ["the capital"]}'), warn), [
    { term: "Dorothy", tier: "unique" },
    { term: "Emerald City", tier: "unique" },
  ]);
  await assert.rejects(loadTermsFile(file("bad.json", '[{"term":"x","tier":"huge"}]'), warn), InputError);
});

test("assembleEvalData derives prompts from a forget corpus and judge terms", async () => {
  const corpus = file("forget.txt", "Far away in the land of wonder, the little girl Dorothy walked along the road.\n\nThe brave and kind tin man helped Dorothy again.\n");
  const terms = file("terms.json", '["Dorothy"]');
  const data = await assembleEvalData({ forget: [corpus], terms }, () => {});
  // Both cuts before the term, in the seeded order of the prompt generator.
  assert.deepEqual(data.completionPrompts, [
    { prompt: "The brave and kind tin man helped", references: ["Dorothy again."] },
    { prompt: "Far away in the land of wonder, the little girl", references: ["Dorothy walked along the road."] },
  ]);
  assert.deepEqual(data.probabilityPrompts![0].targets, ["Dorothy"]);
  assert.equal(data.holdoutTexts, undefined);
  assert.ok(data.relearnTexts!.length > 0 && data.contextPassages!.length > 0);
  assert.match(data.source, /forget .*forget\.txt/);
});

test("relativeToGold subtracts gold, and is null (never 0) without gold or a value", () => {
  const model = { "muse/verbmem_f": 0.5, "familiarity-completion/familiarity": null, "muse/knowmem_r": 0.9 };
  assert.deepEqual(relativeToGold(model, { "muse/verbmem_f": 0.2, "familiarity-completion/familiarity": 0.1 }), {
    "familiarity-completion/familiarity": null,
    "muse/verbmem_f": 0.3,
  });
  assert.deepEqual(relativeToGold(model, undefined), { "familiarity-completion/familiarity": null, "muse/verbmem_f": null });
});

test("modelNames disambiguates equal file names by their folder", () => {
  assert.deepEqual(modelNames(["/a/base.gguf", "/b/base.gguf", "/b/gold.gguf"]), ["a/base.gguf", "b/base.gguf", "gold.gguf"]);
  assert.deepEqual(modelNames(["/a/m.gguf", "/a/m.gguf"]), ["a/m.gguf#1", "a/m.gguf#2"]);
});

test("formatMetric and markdownPathFor", () => {
  assert.equal(formatMetric(null), "n/a");
  assert.equal(formatMetric(0), "0");
  assert.equal(formatMetric(0.123456), "0.1235");
  assert.equal(formatMetric(0.0000131), "1.310e-5");
  assert.equal(markdownPathFor("/x/eval.json"), "/x/eval.md");
  assert.equal(markdownPathFor("/x/eval"), "/x/eval.md");
});

test("the Markdown summary says n/a for missing metrics and that gold is absent", () => {
  const md = formatEvalMarkdown({
    format: "lethe-eval",
    version: 1,
    createdAt: "2025-01-01T00:00:00.000Z",
    source: "test",
    suites: ["muse"],
    settings: {} as never,
    limit: null,
    judge: null,
    gold: null,
    counts: {},
    models: [
      { name: "m.gguf", path: "/m.gguf", role: "model", vsGold: { "muse/verbmem_f": null }, results: [{ suite: "muse", model: "m.gguf", metrics: { verbmem_f: 0.25, privleak: null }, warnings: ["PrivLeak not computed: no gold"] }] },
    ],
    warnings: ["no gold model: give --gold"],
  });
  assert.match(md, /\| muse\/verbmem_f \| 0\.25 \|/);
  assert.match(md, /\| muse\/privleak \| n\/a \|/);
  assert.match(md, /gold model: none given/);
  assert.match(md, /- m\.gguf \/ muse: PrivLeak not computed: no gold/);
});
