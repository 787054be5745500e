import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { TASKS, type TaskSpec } from "../../src/eval/tasks.js";
import { runUtility } from "../../src/eval/utility.js";
import { SHARED_DATA_SKIP, SHARED_EVAL_DIR } from "./data-dir.js";
import { BigramModel, TOY_CORPUS } from "./fake-model.js";
import { withTempDir } from "../helpers/temp.js";

const close = (actual: number | null | undefined, expected: number, eps = 1e-6) =>
  assert.ok(typeof actual === "number" && Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

const toyTasks: TaskSpec[] = [
  { name: "toy_mc", file: "toy_mc.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 2 },
  { name: "toy_wino", file: "toy_wino.jsonl", format: "partial-context", metrics: ["acc"], delimiter: " ", expectedDocs: 1 },
  { name: "toy_lambada", file: "toy_lambada.jsonl", format: "last-word", metrics: ["ppl", "acc"], delimiter: " ", expectedDocs: 2 },
];

/** A test function given a fresh folder holding the toy task files, removed when the test finishes. */
function withToyData(fn: (dir: string) => Promise<void>): (t: TestContext) => Promise<void> {
  return withTempDir("utility", async (dir) => {
    await writeFile(
      join(dir, "toy_mc.jsonl"),
      [
        // p(cat|the) = 1/2 beats p(dog|the) = 1/4: acc 1, acc_norm 1 (equal lengths).
        JSON.stringify({ query: "the", choices: ["cat", "dog"], gold: 0 }),
        "{broken",
        // "dog sat on" = 1/4·1·1/2 = 1/8 loses to "mat" = 1/4 raw (acc 0) but wins per character
        // (ln(1/8)/10 = -0.208 > ln(1/4)/3 = -0.462): acc_norm 1.
        JSON.stringify({ query: "the", choices: ["dog sat on", "mat"], gold: 0 }),
        JSON.stringify({ query: "the", choices: ["cat", "dog"], gold: 5 }),
        "",
      ].join("\n"),
    );
    // p(sat|cat) = 1/2 < p(sat|dog) = 1: option 1 wins.
    await writeFile(join(dir, "toy_wino.jsonl"), JSON.stringify({ context_options: ["the cat", "the dog"], continuation: "sat", gold: 1 }) + "\n");
    await writeFile(
      join(dir, "toy_lambada.jsonl"),
      [
        // p(mat|the) = 1/4; greedy after "the" is "cat": miss.
        JSON.stringify({ context: "the cat sat on the", continuation: "mat" }),
        // p(sat|dog) = 1; greedy after "dog" is "sat": hit.
        JSON.stringify({ context: "the dog", continuation: "sat" }),
      ].join("\n"),
    );
    await fn(dir);
  });
}

test("utility runs task specs as data and computes acc, acc_norm, ppl by hand-checked values", withToyData(async (dir) => {
  const model = new BigramModel(TOY_CORPUS);
  const r = await runUtility(model, { dataDir: dir, tasks: toyTasks });
  assert.equal(r.suite, "utility");
  assert.equal(r.model, "bigram");
  close(r.metrics["toy_mc/acc"], 0.5);
  close(r.metrics["toy_mc/acc_norm"], 1);
  close(r.metrics["toy_mc/acc_stderr"], 0.5); // sqrt(0.5 / 2)
  close(r.metrics["toy_mc/acc_norm_stderr"], 0);
  close(r.metrics["toy_wino/acc"], 1);
  assert.equal(r.metrics["toy_wino/acc_stderr"], null); // one document
  close(r.metrics["toy_lambada/ppl"], 2); // exp(-(ln 1/4 + ln 1) / 2)
  close(r.metrics["toy_lambada/acc"], 0.5);
  assert.deepEqual(r.details!.tasks.toy_mc, { file: "toy_mc.jsonl", scored: 2, skipped: 0, malformedLines: [2, 4] });
}));

test("utility reports malformed lines with their line numbers and runs the rest", withToyData(async (dir) => {
  const r = await runUtility(new BigramModel(TOY_CORPUS), { dataDir: dir, tasks: [toyTasks[0]] });
  const warning = r.warnings.find((w) => w.includes("unusable line"));
  assert.ok(warning, r.warnings.join("\n"));
  assert.match(warning, /toy_mc\.jsonl: 2 unusable line\(s\) skipped/);
  assert.match(warning, /toy_mc\.jsonl:2: not valid JSON/);
  assert.match(warning, /toy_mc\.jsonl:4: "gold" must be an integer from 0 to 1/);
}));

test("utility limit keeps the first N usable documents", withToyData(async (dir) => {
  const r = await runUtility(new BigramModel(TOY_CORPUS), { dataDir: dir, tasks: [toyTasks[0]], limit: 1 });
  close(r.metrics["toy_mc/acc"], 1);
  assert.equal(r.details!.tasks.toy_mc.scored, 1);
  await assert.rejects(runUtility(new BigramModel(TOY_CORPUS), { dataDir: dir, limit: 0 }), InputError);
}));

test("utility truncates over-long prompts from the left with a warning", withToyData(async (dir) => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 4 });
  const r = await runUtility(model, { dataDir: dir, tasks: [toyTasks[2]] });
  assert.ok(r.warnings.some((w) => /truncated from the left.*toy_lambada\.jsonl line 1/.test(w)), r.warnings.join("\n"));
  // Truncation keeps "the" before "mat", so its probability is unchanged.
  close(r.metrics["toy_lambada/ppl"], 2);
}));

test("utility: missing files, unknown tasks and empty sets are input errors", withToyData(async (dir) => {
  const model = new BigramModel(TOY_CORPUS);
  await assert.rejects(runUtility(model, { dataDir: join(dir, "nope"), tasks: [toyTasks[0]] }), /does not exist/);
  await assert.rejects(runUtility(model, { dataDir: dir, tasks: ["mmlu"] }), InputError);
  await assert.rejects(runUtility(model, { dataDir: dir, tasks: [] }), InputError);
  await writeFile(join(dir, "empty.jsonl"), "\n");
  const empty: TaskSpec = { ...toyTasks[0], name: "empty", file: "empty.jsonl" };
  await assert.rejects(runUtility(model, { dataDir: dir, tasks: [empty] }), /no usable benchmark document/);
  const partly = await runUtility(model, { dataDir: dir, tasks: [empty, toyTasks[1]] });
  assert.equal(partly.metrics["empty/acc"], null);
  assert.ok(partly.warnings.some((w) => w.startsWith("empty: no usable document")));
}));

test("utility held-out perplexity and bits per byte", async () => {
  // <s> the cat sat on the mat: 1 · 1/2 · 1/2 · 1/2 · 1 · 1/4 = 1/32 over 6 tokens and 22 bytes.
  for (const contextLength of [64, 3]) {
    const model = new BigramModel(TOY_CORPUS, { contextLength });
    const r = await runUtility(model, { dataDir: "/nonexistent", tasks: [], heldOutTexts: ["the cat sat on the mat"] });
    close(r.metrics.perplexity, 32 ** (1 / 6));
    close(r.metrics.bits_per_byte, 5 / 22);
    assert.deepEqual(r.details!.heldOut, { texts: 1, tokens: 6 });
  }
});

test("utility runs every shipped benchmark end to end on a few documents", { skip: SHARED_DATA_SKIP }, async () => {
  const model = new BigramModel(TOY_CORPUS, { contextLength: 512 });
  const r = await runUtility(model, { dataDir: SHARED_EVAL_DIR, limit: 3 });
  for (const task of TASKS) {
    for (const m of task.metrics) {
      const v = r.metrics[`${task.name}/${m}`];
      assert.equal(typeof v, "number", `${task.name}/${m}`);
    }
    assert.equal(r.details!.tasks[task.name].scored, 3);
  }
});
