import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { parseJsonl, readJsonl, validateRecords, writeJsonlAtomic } from "../../src/eval/jsonl.js";
import {
  loadPromptFile,
  toCompletionPrompt,
  toProbabilityPrompt,
  toQaPair,
  toText,
  toVerbatimItem,
} from "../../src/eval/prompts.js";
import { withTempDir } from "../helpers/temp.js";

test("parseJsonl keeps 1-based line numbers, skips blank lines, reports bad JSON", () => {
  const { records, problems } = parseJsonl('{"a":1}\n\n  \n{oops\n[2]\n');
  assert.deepEqual(records, [
    { line: 1, value: { a: 1 } },
    { line: 5, value: [2] },
  ]);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].line, 4);
  assert.match(problems[0].message, /^not valid JSON/);
});

test("validateRecords turns shape errors into line-numbered problems", () => {
  const out = validateRecords(parseJsonl('{"prompt":"a","targets":["x"]}\n{"prompt":"b"}\nnope\n'), toProbabilityPrompt);
  assert.deepEqual(out.records, [{ line: 1, value: { prompt: "a", targets: ["x"] } }]);
  assert.deepEqual(
    out.problems.map((p) => p.line),
    [2, 3],
  );
  assert.match(out.problems[0].message, /"targets" must be an array of strings/);
});

test("record validators check each prompt-set format", () => {
  assert.deepEqual(toCompletionPrompt({ prompt: "p" }), { prompt: "p", references: [] });
  assert.deepEqual(toCompletionPrompt({ prompt: "p", references: ["r"], extra: 1 }), { prompt: "p", references: ["r"] });
  assert.throws(() => toCompletionPrompt({ prompt: "  " }), /must not be empty/);
  assert.throws(() => toCompletionPrompt({ prompt: "p", references: "r" }), /array of strings/);
  assert.throws(() => toProbabilityPrompt({ prompt: "p", targets: [] }), /at least 1/);
  assert.throws(() => toProbabilityPrompt({ prompt: "p", targets: [""] }), /empty strings/);
  assert.deepEqual(toQaPair({ question: "q", answer: "a" }), { question: "q", answer: "a" });
  assert.throws(() => toQaPair({ question: "q" }), /"answer" must be a string/);
  assert.deepEqual(toVerbatimItem({ prompt: "p", continuation: "c" }), { prompt: "p", continuation: "c" });
  assert.equal(toText({ text: "t" }), "t");
  assert.throws(() => toText("t"), /JSON object/);
});

test("loadPromptFile: good files load, bad lines fail with their numbers, empty files fail", withTempDir("prompts", async (dir) => {
  const good = join(dir, "good.jsonl");
  await writeFile(good, '{"prompt":"a","references":["x"]}\n{"prompt":"b"}\n');
  assert.deepEqual(await loadPromptFile(good, toCompletionPrompt), [
    { prompt: "a", references: ["x"] },
    { prompt: "b", references: [] },
  ]);

  const bad = join(dir, "bad.jsonl");
  await writeFile(bad, '{"prompt":"a"}\n{"prompt":3}\n\n{bad\n');
  await assert.rejects(loadPromptFile(bad, toCompletionPrompt), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /2 unusable line\(s\)/);
    assert.match(err.message, /bad\.jsonl:2: "prompt" must be a string/);
    assert.match(err.message, /bad\.jsonl:4: not valid JSON/);
    return true;
  });

  const empty = join(dir, "empty.jsonl");
  await writeFile(empty, "\n\n");
  await assert.rejects(loadPromptFile(empty, toCompletionPrompt), /holds no entries/);
  await assert.rejects(readJsonl(join(dir, "missing.jsonl")), (err: unknown) => err instanceof InputError && /does not exist/.test(err.message));
}));

test("writeJsonlAtomic writes one record per line and leaves no temporary file", withTempDir("prompts", async (dir) => {
  const path = join(dir, "out.jsonl");
  await writeJsonlAtomic(path, [{ prompt: "a" }, { prompt: "b\nc" }]);
  assert.equal(await readFile(path, "utf8"), '{"prompt":"a"}\n{"prompt":"b\\nc"}\n');
  assert.deepEqual(await readdir(dir), ["out.jsonl"]);
}));
