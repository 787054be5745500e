import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError, InputError } from "../../src/errors.js";
import { buildReport, writeReport } from "../../src/report/index.js";
import { loadReportInputs, sourceName } from "../../src/report/load.js";
import { ozEval, pretrainHistory, unlearnLosses } from "./fixture.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("report-load");

const write = (path: string, value: unknown) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
};

test("sourceName prefixes generic file names with their folder", () => {
  assert.equal(sourceName("/r/gold.gguf.run/history.json"), "gold.gguf.run · history");
  assert.equal(sourceName("/r/whp-results.json"), "whp-results");
});

test("a run directory: manifest curves first, then JSON files in it and its subfolders; junk skipped with notes", async () => {
  const run = join(dir, "run");
  write(join(run, "manifest.json"), { version: 1, kind: "unlearn", createdAt: "", updatedAt: "", stages: [{ name: "finetune", stats: { losses: [2, 1] } }] });
  write(join(run, "eval", "eval.json"), ozEval());
  write(join(run, "broken.json"), "{ nope");
  write(join(run, "tokenizer.json"), { vocab: { a: 1 } });
  write(join(run, "checkpoints", "state.json"), { loss: [9, 9] });
  write(join(run, ".tmp", "partial.json"), { loss: [9, 9] });
  const { collected, sources } = await loadReportInputs([run]);
  assert.deepEqual(sources, [join(run, "manifest.json"), join(run, "eval", "eval.json")]);
  assert.deepEqual(
    collected.flatMap((c) => c.losses.map((l) => l.name)),
    ["unlearn · finetune"],
  );
  assert.equal(collected.flatMap((c) => c.suites).length, 20);
  assert.ok(collected.some((c) => c.notes.some((n) => n.includes("broken.json skipped"))));
});

test("a file given directly must be JSON; a missing path and inputs with nothing to report are input errors", async () => {
  write(join(dir, "bad.json"), "");
  await assert.rejects(loadReportInputs([join(dir, "bad.json")]), (e: unknown) => e instanceof FileFormatError && /bad\.json is not valid JSON: it is empty/.test(e.message));
  await assert.rejects(loadReportInputs([join(dir, "missing.json")]), (e: unknown) => e instanceof InputError && /missing\.json does not exist/.test(e.message));
  write(join(dir, "other.json"), { hello: "world" });
  await assert.rejects(loadReportInputs([join(dir, "other.json")]), (e: unknown) => e instanceof InputError && /hold no evaluation results/.test(e.message));
  await assert.rejects(loadReportInputs([]), InputError);
});

test("writeReport writes the page atomically from eval, loss history and pretrain history inputs", async () => {
  write(join(dir, "in", "eval.json"), ozEval());
  write(join(dir, "in", "losses.json"), unlearnLosses());
  write(join(dir, "in", "gold.gguf.run", "history.json"), pretrainHistory());
  const out = join(dir, "out", "report.html");
  const r = await writeReport([join(dir, "in", "eval.json"), join(dir, "in", "losses.json"), join(dir, "in", "gold.gguf.run")], out, { generator: "lethe test" });
  assert.deepEqual(r.sections, { metrics: true, familiarity: true, tradeoff: true, losses: 2, nextTokens: 4, completions: 9 });
  assert.deepEqual(
    r.data.losses.map((l) => l.name),
    ["unlearn (WHP, α = 2)", "gold.gguf.run · history"],
  );
  assert.deepEqual(readdirSync(join(dir, "out")), ["report.html"]);
  const html = readFileSync(out, "utf8");
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(html.includes("Chart.js v4.6.1"));
  assert.ok(existsSync(out));
});

test("buildReport works on a bare array of suite results with roles guessed from names", async () => {
  const results = (ozEval() as { results: { model: string }[] }).results.map((r) => ({ ...r, model: `${r.model.replace("oz-whp", "whp")}.gguf` }));
  write(join(dir, "flat.json"), results);
  const r = await buildReport([join(dir, "flat.json")]);
  assert.deepEqual(
    r.data.models.map((m) => [m.label, m.role]),
    [
      ["oz-base", "base"],
      ["whp-alpha0.5", "unlearned"],
      ["whp-alpha5", "unlearned"],
      ["whp", "unlearned"],
      ["oz-gold", "gold"],
    ],
  );
  assert.equal(r.data.title, "Unlearning report");
  const named = await buildReport([join(dir, "flat.json")], { roles: { unlearned: ["whp.gguf"] } });
  assert.deepEqual(
    named.data.models.map((m) => [m.label, m.role]),
    [
      ["oz-base", "base"],
      ["whp", "unlearned"],
      ["whp-alpha0.5", "other"],
      ["whp-alpha5", "other"],
      ["oz-gold", "gold"],
    ],
  );
});
