import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  formatDictionaryJson,
  loadDictionary,
  mergeDictionaries,
  parseDictionaryCsv,
  parseDictionaryJson,
  saveDictionary,
  validateDictionary,
  type AnchorEntry,
} from "../../../src/unlearn/whp/dictionary.js";
import { InputError } from "../../../src/errors.js";
import { testTempDir } from "../../helpers/temp.js";

/** Asserts that `fn` throws an InputError whose message matches every pattern. */
function throwsInput(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    for (const p of patterns) assert.match(error.message, p);
    assert.ok(error.fix.length > 0);
    return true;
  });
}

test("JSON object form: strings and arrays of generics, in file order", () => {
  const text = '{\n  "Hogwarts": "Mystic Academy",\n  "Harry": ["Jon", "Tom"],\n  "1984": "that year"\n}';
  assert.deepEqual(parseDictionaryJson(text, "d.json"), [
    { term: "Hogwarts", generics: ["Mystic Academy"], source: "user" },
    { term: "Harry", generics: ["Jon", "Tom"], source: "user" },
    { term: "1984", generics: ["that year"], source: "user" },
  ]);
  assert.equal(parseDictionaryJson('{"Oz": "the land"}', "d.json", "llm")[0].source, "llm");
});

test("JSON array form keeps source, score and ignoreCase; normalises whitespace", () => {
  const text = `[
  {"term": "Dorothy", "generics": ["Mary"], "source": "auto", "score": 8.5},
  {"term": "  Emerald   City ", "generics": " the city ", "ignoreCase": true}
]`;
  assert.deepEqual(parseDictionaryJson(text, "d.json"), [
    { term: "Dorothy", generics: ["Mary"], source: "auto", score: 8.5 },
    { term: "Emerald City", generics: ["the city"], source: "user", ignoreCase: true },
  ]);
});

test("terms differing only in case are separate entries", () => {
  const entries = parseDictionaryJson('{"Harry": "Jon", "harry": "hasty", "HARRY": "JON"}', "d.json");
  assert.deepEqual(entries.map((e) => e.term), ["Harry", "harry", "HARRY"]);
});

test("malformed JSON names the file and the line", () => {
  throwsInput(() => parseDictionaryJson('{\n  "Harry": "Jon",\n}\n', "words.json"), /words\.json/, /not valid JSON at line 3/);
  throwsInput(() => parseDictionaryJson('{\n  "Harry": "Jon",\n  "Ron": ""\n}', "words.json"), /words\.json line 3/, /empty generic/);
  throwsInput(() => parseDictionaryJson('{\n  "Harry": "Jon",\n  "": "x"\n}', "w.json"), /line 3/, /term is empty/);
  throwsInput(() => parseDictionaryJson('{\n  "Harry": "Harry"\n}', "w.json"), /line 2/, /is the term itself/);
  throwsInput(() => parseDictionaryJson('{\n  "Harry": "Jon",\n\n  "Harry": "Tom"\n}', "w.json"), /line 4/, /already defined on line 2/);
  throwsInput(() => parseDictionaryJson('{"Harry": 3}', "w.json"), /generics of "Harry"/);
  throwsInput(() => parseDictionaryJson('{"Harry": []}', "w.json"), /no generic/);
  throwsInput(() => parseDictionaryJson('"Harry"', "w.json"), /object or array/);
  throwsInput(() => parseDictionaryJson('[\n  {"term": "A", "generics": "B"},\n  {"term": "C", "generic": "D"}\n]', "w.json"), /line 3/, /unknown key "generic"/);
  throwsInput(() => parseDictionaryJson('[\n  {"term": "A", "generics": "B", "source": "me"}\n]', "w.json"), /line 2/, /source "me"/);
  throwsInput(() => parseDictionaryJson('[{"term": "A", "generics": "B", "score": "high"}]', "w.json"), /score/);
  throwsInput(() => parseDictionaryJson('[\n  "Harry"\n]', "w.json"), /line 2/, /must be an object/);
  throwsInput(
    () => parseDictionaryJson('[\n {"term": "Harry", "generics": "Jon", "ignoreCase": true},\n {"term": "harry", "generics": "x", "ignoreCase": true}\n]', "w.json"),
    /line 3/,
    /both ignore case/,
  );
  throwsInput(() => parseDictionaryJson('[{"term": "harry", "generics": "HARRY", "ignoreCase": true}]', "w.json"), /is the term itself/);
});

test("CSV: header, quotes, commas and newlines inside quotes, comments, padding, CRLF", () => {
  const text = [
    "\uFEFFterm,generic",
    "# a comment",
    "Hogwarts,Mystic Academy",
    "",
    '"Harry, the boy",Jon,Tom,,',
    '"The ""Wizard""","the old\nman"',
    " Ozma , the princess \r",
    "Oz,the land",
  ].join("\n");
  assert.deepEqual(parseDictionaryCsv(text, "d.csv"), [
    { term: "Hogwarts", generics: ["Mystic Academy"], source: "user" },
    { term: "Harry, the boy", generics: ["Jon", "Tom"], source: "user" },
    { term: 'The "Wizard"', generics: ["the old\nman"], source: "user" },
    { term: "Ozma", generics: ["the princess"], source: "user" },
    { term: "Oz", generics: ["the land"], source: "user" },
  ]);
});

test("malformed CSV names the file and the line", () => {
  throwsInput(() => parseDictionaryCsv("Hogwarts,school\nHarry\n", "d.csv"), /d\.csv line 2/, /no generic/);
  throwsInput(() => parseDictionaryCsv('A,B\n"C\nD,E\n', "d.csv"), /line 2/, /never closed/);
  throwsInput(() => parseDictionaryCsv('A,"B\nb"\nC,D\nC,E\n', "d.csv"), /line 4/, /already defined at line 3/);
  throwsInput(() => parseDictionaryCsv("A,B\n,C\n", "d.csv"), /line 2/, /term is empty/);
  throwsInput(() => parseDictionaryCsv("A,B\nC,,D\n", "d.csv"), /line 2/, /empty generic/);
  throwsInput(() => parseDictionaryCsv('A,B\nC,"D"x\n', "d.csv"), /line 2/, /after a quoted field/);
  throwsInput(() => parseDictionaryCsv('A,B\nC,D"x"\n', "d.csv"), /line 2/, /quote inside an unquoted field/);
  throwsInput(() => parseDictionaryCsv("A,B\nHarry,Harry\n", "d.csv"), /line 2/, /is the term itself/);
  // "term" is a header only on the first record.
  assert.deepEqual(parseDictionaryCsv("A,B\nterm,word\n", "d.csv")[1], { term: "term", generics: ["word"], source: "user" });
});

test("validateDictionary without line numbers names the entry number", () => {
  throwsInput(() => validateDictionary([{ term: "A", generics: ["B"], source: "user" }, { term: "C", generics: [], source: "user" }], "mem"), /mem entry 2/);
  assert.deepEqual(validateDictionary([{ term: "A", generics: ["B", " B", "C"], source: "auto" }], "mem")[0].generics, ["B", "C"]);
});

test("mergeDictionaries: the user wins, then llm, then auto; case-insensitive winners cover other casings", () => {
  const auto: AnchorEntry[] = [
    { term: "Harry", generics: ["Jon"], source: "auto", score: 3 },
    { term: "Hogwarts", generics: ["the school"], source: "auto", score: 2 },
    { term: "POTTER", generics: ["SMITH"], source: "auto" },
    { term: "Ron", generics: ["Bob"], source: "auto" },
  ];
  const llm: AnchorEntry[] = [{ term: "Ron", generics: ["Rob"], source: "llm" }];
  const user: AnchorEntry[] = [
    { term: "Harry", generics: ["Tom"], source: "user" },
    { term: "potter", generics: ["maker"], source: "user", ignoreCase: true },
  ];
  const merged = mergeDictionaries(auto, llm, user);
  assert.deepEqual(merged, [
    { term: "Harry", generics: ["Tom"], source: "user" },
    { term: "potter", generics: ["maker"], source: "user", ignoreCase: true },
    { term: "Ron", generics: ["Rob"], source: "llm" },
    { term: "Hogwarts", generics: ["the school"], source: "auto", score: 2 },
  ]);
  // An exact user entry does not hide other casings proposed elsewhere.
  const kept = mergeDictionaries([{ term: "harry", generics: ["x"], source: "auto", ignoreCase: true }], [{ term: "Harry", generics: ["Jon"], source: "user" }]);
  assert.deepEqual(kept.map((e) => e.term), ["Harry", "harry"]);
});

test("save writes editable JSON atomically and loads back; load checks path and extension", async (t) => {
  const dir = testTempDir(t, "whp");
  const entries: AnchorEntry[] = [
    { term: "Dorothy", generics: ["Mary"], source: "auto", score: 8.123456 },
    { term: "Emerald City", generics: ["the city", "the town"], source: "user", ignoreCase: true },
  ];
  const path = join(dir, "anchors.json");
  await saveDictionary(path, entries);
  assert.deepEqual(await readdir(dir), ["anchors.json"]);
  const text = await readFile(path, "utf8");
  assert.equal(
    text,
    '[\n  {"term":"Dorothy","generics":["Mary"],"source":"auto","score":8.1235},\n' +
      '  {"term":"Emerald City","generics":["the city","the town"],"source":"user","ignoreCase":true}\n]\n',
  );
  assert.deepEqual(await loadDictionary(path), [{ ...entries[0], score: 8.1235 }, entries[1]]);
  assert.equal(formatDictionaryJson([]), "[]\n");

  const csv = join(dir, "anchors.csv");
  await writeFile(csv, "Harry,Jon\n");
  assert.deepEqual(await loadDictionary(csv, "llm"), [{ term: "Harry", generics: ["Jon"], source: "llm" }]);
  await assert.rejects(loadDictionary(join(dir, "missing.json")), (e: unknown) => e instanceof InputError && /does not exist/.test(e.message));
  await assert.rejects(loadDictionary(join(dir, "anchors.txt")), (e: unknown) => e instanceof InputError && /\.json or \.csv/.test(e.message));
});
