// End to end on the micro synthetic testbed: eval separates the base model (which learned the
// invented universe) from the gold model (which never saw it) on every forgetting metric, the
// relearning probe trains and re-measures, and `lethe eval` writes eval.json and eval.md.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { EngineScoringModel } from "../../src/eval/engine-model.js";
import { loadSyntheticEvalData } from "../../src/eval/eval-data.js";
import { evaluate, flatMetrics, type EvalReport } from "../../src/eval/evaluate.js";
import { writeSyntheticTestbed } from "../../src/testbed/synthetic/index.js";
import { microTestbed, type MicroTestbed } from "../fixtures/micro-testbed.js";
import { tempDir } from "../helpers/temp.js";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "lethe.js");
const dir = tempDir("micro-eval");
const testbedDir = join(dir, "testbed");
let tb: MicroTestbed;
// One thread: the machine's cores are shared, and llama.cpp's spinning thread pool slows down
// badly when another process holds a core.
const THREADS = 1;

before(async () => {
  tb = await microTestbed();
  writeSyntheticTestbed(testbedDir, tb.text);
});

function metricsOf(report: EvalReport, role: "model" | "gold"): Record<string, number | null> {
  return flatMetrics(report.models.find((m) => m.role === role)!.results);
}

test("the engine adapter decodes exactly, reports next-token probabilities and stays in the trained context", async () => {
  const m = await EngineScoringModel.open(tb.basePath, { threads: THREADS });
  try {
    assert.equal(m.contextLength, 128); // llama.cpp pads its allocation to 256, but decodes 128 at most
    assert.ok(m.exactDecoding);
    // llama.cpp's own detokenizer would drop the spaces before the punctuation.
    assert.equal(m.detokenize(m.tokenize("Hello , world !", { addBos: true })), "Hello , world !");
    const top = await m.topNext("Stusix", 3);
    assert.equal(top[0].token, " Sleirkane");
    assert.ok(top[0].prob > 0.5 && top[0].prob >= top[1].prob && top[1].prob >= top[2].prob);
    // A prompt far longer than the context keeps its end instead of aborting llama.cpp.
    const out = await m.generate("word ".repeat(400) + "Stusix", { maxTokens: 4 });
    assert.equal(typeof out, "string");
    const [lp] = await m.tokenLogprobs([m.tokenize("Stusix Sleirkane", { addBos: true })]);
    assert.ok(lp.every((x) => x <= 0));
  } finally {
    await m.dispose();
  }
});

test("base and gold are clearly apart on every forgetting metric", async () => {
  const report = await evaluate({
    model: tb.basePath,
    gold: tb.goldPath,
    data: loadSyntheticEvalData(testbedDir),
    suites: ["familiarity-completion", "familiarity-probability", "muse"],
    limit: 30,
    threads: THREADS,
  });
  const base = metricsOf(report, "model");
  const gold = metricsOf(report, "gold");
  const apart = (key: string, margin: number) => {
    const b = base[key]!;
    const g = gold[key]!;
    assert.ok(typeof b === "number" && typeof g === "number", `${key}: ${b} vs ${g}`);
    assert.ok(b - g >= margin, `${key}: base ${b} should exceed gold ${g} by ${margin}`);
  };
  apart("familiarity-completion/familiarity", 0.4);
  apart("familiarity-completion/share_ge2", 0.4);
  apart("familiarity-probability/familiarity_probability", 0.3);
  apart("muse/verbmem_f", 0.1);
  apart("muse/knowmem_f", 0.15);
  // Members and non-members are renderings of the same saga, so the gold model, which read neither,
  // cannot tell them apart; the base model recognises the renderings it trained on.
  assert.ok(Math.abs(gold["muse/mia_auc"]! - 0.5) < 0.15, `gold AUC ${gold["muse/mia_auc"]}`);
  assert.ok(base["muse/mia_auc"]! < gold["muse/mia_auc"]!);
  assert.ok(base["muse/privleak"]! < -0.15, `privleak ${base["muse/privleak"]}`);
  assert.equal(gold["muse/privleak"], 0);
  const gaps = report.models.find((m) => m.role === "model")!.vsGold;
  assert.ok(gaps["familiarity-completion/familiarity"]! > 0.4);
  assert.equal(report.judge, `terms(${loadSyntheticEvalData(testbedDir).terms!.length})`);
});

test("the relearning probe fine-tunes each model and re-measures familiarity", async () => {
  const report = await evaluate({
    model: tb.basePath,
    gold: tb.goldPath,
    data: loadSyntheticEvalData(testbedDir, { relearnDocuments: 2 }),
    suites: ["relearning"],
    limit: 8,
    settings: { relearnSteps: 6, relearnLr: 1e-3, relearnBatchSize: 2, samples: 0 },
    threads: THREADS,
  });
  const base = metricsOf(report, "model");
  const gold = metricsOf(report, "gold");
  for (const m of [base, gold]) {
    assert.equal(m["relearning/steps"], 6);
    for (const k of ["familiarity_before", "familiarity_after", "familiarity_probability_before", "familiarity_probability_after"]) {
      assert.equal(typeof m[`relearning/${k}`], "number", k);
    }
  }
  // Gold meets the slice for the first time: its loss falls and it starts to know the names.
  assert.ok(gold["relearning/loss_end"]! < gold["relearning/loss_start"]!);
  assert.ok(gold["relearning/familiarity_probability_after"]! > gold["relearning/familiarity_probability_before"]!);
  // The base model already knows the slice: it starts from a far lower loss.
  assert.ok(base["relearning/loss_start"]! < gold["relearning/loss_start"]!);
  assert.equal(typeof report.models[0].vsGold["relearning/familiarity_after"], "number");
});

test("lethe eval writes eval.json and eval.md; without --gold PrivLeak is null", () => {
  const out = join(dir, "cli", "eval.json");
  const r0 = spawnSync(process.execPath, [bin, "eval", "-m", tb.basePath, "--testbed", testbedDir, "--out", out], { encoding: "utf8" });
  assert.notEqual(r0.status, 0); // the folder of --out does not exist
  assert.match(r0.stderr, /cannot write/);

  const cliOut = join(dir, "eval.json");
  const r = spawnSync(
    process.execPath,
    [bin, "eval", "--threads", String(THREADS), "-m", tb.basePath, "--testbed", testbedDir, "--suite", "familiarity-probability,muse", "--limit", "6", "--out", cliOut, "--json"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { out: string; markdown: string; gold: null; models: { metrics: Record<string, number | null> }[] };
  assert.equal(result.out, cliOut);
  assert.equal(result.gold, null);
  assert.equal(result.models[0].metrics["muse/privleak"], null);
  const report = JSON.parse(readFileSync(cliOut, "utf8")) as EvalReport;
  assert.equal(report.format, "lethe-eval");
  assert.equal(report.counts.probabilityPrompts, 6);
  assert.equal(flatMetrics(report.models[0].results)["muse/privleak"], null);
  const md = readFileSync(join(dir, "eval.md"), "utf8");
  assert.match(md, /\| muse\/privleak \| n\/a \|/);
  assert.match(md, /gold model: none given/);
  assert.ok(!existsSync(cliOut + ".tmp"));
});

test("lethe eval reports malformed prompt lines by number and runs the rest", () => {
  const prompts = join(dir, "prompts.jsonl");
  const fact = tb.text.truth.facts[0];
  writeFileSync(prompts, `${JSON.stringify({ prompt: fact.prompt, targets: [` ${fact.answer}`] })}\n{"prompt": 3}\n`);
  const out = join(dir, "p.json");
  const r = spawnSync(
    process.execPath,
    [bin, "eval", "--threads", String(THREADS), "-m", tb.basePath, "--prompts", prompts, "--suite", "familiarity-probability", "--out", out],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /prompts\.jsonl:2: "prompt" must be a string/);
  const report = JSON.parse(readFileSync(out, "utf8")) as EvalReport;
  assert.equal(flatMetrics(report.models[0].results)["familiarity-probability/scored_prompts"], 1);
  assert.ok(report.warnings.some((w) => /prompts\.jsonl:2/.test(w)));
});
