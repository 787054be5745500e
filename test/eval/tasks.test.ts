import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { RecordShapeError } from "../../src/eval/jsonl.js";
import { findTask, loadTask, TASKS, toTaskDoc, type TaskSpec } from "../../src/eval/tasks.js";
import { SHARED_DATA_SKIP, SHARED_EVAL_DIR } from "./data-dir.js";

const spec = (format: TaskSpec["format"]): TaskSpec => ({
  name: "t",
  file: "t.jsonl",
  format,
  metrics: ["acc"],
  delimiter: " ",
  expectedDocs: 0,
});

test("choices format: one request per choice, lengths in code points", () => {
  const doc = toTaskDoc(spec("choices"), { query: "Q: sky?", choices: ["blue", "gréén"], gold: 1 }, 4);
  assert.deepEqual(doc, {
    line: 4,
    requests: [
      { context: "Q: sky?", continuation: " blue" },
      { context: "Q: sky?", continuation: " gréén" },
    ],
    gold: 1,
    choiceLengths: [4, 5],
  });
});

test("partial-context format scores the same continuation after each option", () => {
  const doc = toTaskDoc(spec("partial-context"), { context_options: ["A so Sarah", "A so Maria"], continuation: "won.", gold: 0 }, 1);
  assert.deepEqual(doc.requests, [
    { context: "A so Sarah", continuation: " won." },
    { context: "A so Maria", continuation: " won." },
  ]);
  assert.deepEqual(doc.choiceLengths, [4, 4]);
});

test("last-word format scores the final word after the passage", () => {
  const doc = toTaskDoc(spec("last-word"), { context: "he said to", continuation: "Hastin" }, 2);
  assert.deepEqual(doc.requests, [{ context: "he said to", continuation: " Hastin" }]);
  assert.equal(doc.gold, 0);
});

test("malformed documents raise shape errors naming the field", () => {
  assert.throws(() => toTaskDoc(spec("choices"), { query: "q", choices: ["a"], gold: 0 }, 1), RecordShapeError);
  assert.throws(() => toTaskDoc(spec("choices"), { query: "q", choices: ["a", "b"], gold: 2 }, 1), /"gold" must be an integer from 0 to 1/);
  assert.throws(() => toTaskDoc(spec("partial-context"), { context_options: ["a", "b"], gold: 0 }, 1), /"continuation"/);
  assert.throws(() => toTaskDoc(spec("last-word"), [1, 2], 1), /JSON object/);
});

test("findTask knows the shipped benchmarks and rejects others", () => {
  assert.equal(findTask("piqa").file, "piqa.jsonl");
  assert.throws(() => findTask("mmlu"), (e: unknown) => e instanceof InputError && /arc_easy/.test(e.fix));
});

test("every shipped benchmark file loads completely with the expected count", { skip: SHARED_DATA_SKIP }, async () => {
  for (const task of TASKS) {
    const loaded = await loadTask(task, SHARED_EVAL_DIR);
    assert.deepEqual(loaded.problems, [], `${task.file} has unusable lines`);
    assert.equal(loaded.docs.length, task.expectedDocs, `${task.file} document count`);
    for (const doc of loaded.docs) {
      assert.ok(doc.requests.length >= 1 && doc.gold < doc.requests.length, `${task.file} line ${doc.line}`);
      for (const r of doc.requests) {
        assert.ok(r.continuation.trim().length > 0, `${task.file} line ${doc.line} has an empty continuation`);
        assert.ok(!/\s\s$/.test(r.context + r.continuation.slice(0, 1)), `${task.file} line ${doc.line} doubles whitespace`);
      }
    }
  }
});

test("shipped benchmark seams: hellaswag keeps its own space, piqa its newline", { skip: SHARED_DATA_SKIP }, async () => {
  const hellaswag = await loadTask(findTask("hellaswag"), SHARED_EVAL_DIR, 1);
  assert.equal(hellaswag.docs.length, 1);
  assert.match(hellaswag.docs[0].requests[0].continuation, /^ \S/);
  const piqa = await loadTask(findTask("piqa"), SHARED_EVAL_DIR, 2);
  assert.equal(piqa.docs.length, 2);
  assert.match(piqa.docs[0].requests[0].continuation, /^\n\S/);
  const winogrande = await loadTask(findTask("winogrande"), SHARED_EVAL_DIR, 1);
  assert.deepEqual(winogrande.docs[0].requests.map((r) => r.continuation), [" always got the easier cases.", " always got the easier cases."]);
  assert.equal(winogrande.docs[0].gold, 1);
});
