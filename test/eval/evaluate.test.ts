// evaluate() on word-bigram fakes: the gold reference, null-not-zero without gold, and bad input.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { InputError } from "../../src/errors.js";
import type { EvalData } from "../../src/eval/eval-data.js";
import { writeEvalReport } from "../../src/eval/eval-report.js";
import { evaluate, flatMetrics, type EvaluateOptions } from "../../src/eval/evaluate.js";
import { BigramModel, TOY_CORPUS } from "./fake-model.js";
import { tempDir } from "../helpers/temp.js";

const GOLD_CORPUS = "the dog sat . the dog ran . the mat .";
const dir = tempDir("evaluate");

const data: EvalData = {
  source: "toy",
  completionPrompts: [{ prompt: "the", references: ["cat"] }],
  probabilityPrompts: [{ prompt: "the", targets: ["cat"] }],
  terms: [{ term: "cat", tier: "unique" }],
  forgetTexts: ["the cat sat on the mat .", "the cat ran ."],
  holdoutTexts: ["the dog ran on the mat .", "the mat sat ."],
};

function options(over: Partial<EvaluateOptions> = {}): EvaluateOptions & { opened: string[] } {
  const opened: string[] = [];
  return {
    model: "base",
    data,
    settings: { samples: 0, maxTokens: 4 },
    openModel: (path, name) => {
      opened.push(path);
      return Object.assign(new BigramModel(path === "gold" ? GOLD_CORPUS : TOY_CORPUS, { name }), { dispose() {} });
    },
    opened,
    ...over,
  };
}

test("with a gold model, forgetting metrics are related to it and PrivLeak uses its AUC", async () => {
  const opts = options({ gold: "gold" });
  const report = await evaluate(opts);
  assert.deepEqual(opts.opened, ["gold", "base"]); // gold first, so the others can use its AUC
  assert.deepEqual(report.models.map((m) => [m.name, m.role]), [["base", "model"], ["gold", "gold"]]);
  assert.deepEqual(report.suites, ["familiarity-completion", "familiarity-probability", "muse"]);
  assert.equal(report.gold, "gold");
  const [base, gold] = report.models.map((m) => flatMetrics(m.results));
  // base: "the" -> "cat" greedily (score 3); p(cat | the) = 2/4. gold never continues with "cat".
  assert.equal(base["familiarity-completion/familiarity"], 1);
  assert.equal(gold["familiarity-completion/familiarity"], 0);
  assert.ok(Math.abs(base["familiarity-probability/familiarity_probability"]! - 0.5) < 1e-6);
  assert.ok(Math.abs(gold["familiarity-probability/familiarity_probability"]! - 0.001) < 1e-6);
  assert.ok(Math.abs(report.models[0].vsGold["familiarity-probability/familiarity_probability"]! - 0.499) < 1e-6);
  assert.equal(report.models[0].vsGold["familiarity-completion/familiarity"], 1);
  assert.equal(gold["muse/privleak"], 0);
  const expected = (base["muse/mia_auc"]! - gold["muse/mia_auc"]!) / gold["muse/mia_auc"]!;
  assert.ok(Math.abs(base["muse/privleak"]! - expected) < 1e-12);
  assert.equal(report.warnings.length, 0);
});

test("without a gold model, PrivLeak and the gold gaps are null, never 0", async () => {
  const report = await evaluate(options({ compare: ["other"] }));
  assert.deepEqual(report.models.map((m) => m.role), ["model", "compare"]);
  assert.equal(report.gold, null);
  for (const m of report.models) {
    const metrics = flatMetrics(m.results);
    assert.equal(metrics["muse/privleak"], null);
    assert.equal(typeof metrics["muse/mia_auc"], "number");
    assert.ok(Object.keys(m.vsGold).length > 0);
    for (const v of Object.values(m.vsGold)) assert.equal(v, null);
  }
  assert.ok(report.warnings.some((w) => /no gold model/.test(w)));
});

test("an empty prompt set fails before any model is loaded", async () => {
  const opts = options({ data: { ...data, completionPrompts: [] } });
  await assert.rejects(evaluate(opts), (err: unknown) => err instanceof InputError && /familiarity prompt set is empty/.test(err.message));
  assert.deepEqual(opts.opened, []);
});

test("a named suite without its data is an error; default suites without data are skipped with a warning", async () => {
  await assert.rejects(evaluate(options({ suites: ["relearning"] })), (err: unknown) => err instanceof InputError && /relearning cannot run/.test(err.message));
  const report = await evaluate(options({ data: { source: "toy", probabilityPrompts: data.probabilityPrompts } }));
  assert.deepEqual(report.suites, ["familiarity-probability"]);
  assert.ok(report.warnings.some((w) => /familiarity-completion: no familiarity prompts/.test(w)));
});

test("the in-context and paraphrase probes run the familiarity suites on transformed prompts", async () => {
  const report = await evaluate(options({ suites: ["in-context", "paraphrase"], data: { ...data, contextPassages: ["the dog ran ."] } }));
  const base = report.models[0];
  const inContext = base.results.find((r) => r.suite === "in-context")!;
  const details = inContext.details as { completion: { completions: { completion: string }[] } };
  assert.equal(details.completion.completions.length, 1);
  // Bigram: the prompt ends in "the" either way, so the completion still names the cat.
  assert.equal(inContext.metrics.familiarity, 1);
  assert.equal(base.results.find((r) => r.suite === "paraphrase")!.metrics.familiarity, 1);
});

test("writeEvalReport writes the JSON and the Markdown summary, and no temporary files", async () => {
  const report = await evaluate(options({ gold: "gold" }));
  const out = join(dir, "eval.json");
  const written = await writeEvalReport(report, out);
  assert.equal(written.markdown, join(dir, "eval.md"));
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")).models.length, 2);
  assert.match(readFileSync(written.markdown, "utf8"), /\| familiarity-completion\/familiarity \| 1 \| 0 \|/);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")));
  assert.ok(existsSync(out));
});
