// One model that crashes llama.cpp never takes down a multi-model evaluation (issue 13): every model
// is first loaded in a child process; one that aborts it is reported as failed, with the abort's
// message, and the others are measured and written. Here the probe skips lethe's header checks, so
// that llama.cpp really aborts on the duplicate-token vocabulary (the checks would refuse it first).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";

import { probeModelFile } from "../../src/engine/probe.js";
import { EngineError, InputError } from "../../src/errors.js";
import type { EvalData } from "../../src/eval/eval-data.js";
import { writeEvalReport } from "../../src/eval/eval-report.js";
import { evaluate, type EvalEvent } from "../../src/eval/evaluate.js";
import { makeBadModel } from "../fixtures/bad-models.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("eval-isolation");

const good = makeTinyModel(dir);
const other = makeTinyModel(dir, { seed: 2 });
const data: EvalData = { source: "test", probabilityPrompts: [{ prompt: "Tallwyn went to", targets: [" Ololesk"] }] };
const unchecked = (path: string) => probeModelFile(path, { checks: false });

test("a model that aborts llama.cpp is reported as failed, and the models before and after it are measured and written", async () => {
  const crashing = makeBadModel(dir, "duplicate-token");
  const report = await evaluate({ model: good, compare: [crashing, other], data, suites: ["familiarity-probability"], threads: 1, probeModel: unchecked });
  assert.deepEqual(report.models.map((m) => m.path), [good, other]);
  for (const m of report.models) assert.equal(typeof m.results[0]!.metrics.familiarity_probability, "number");
  assert.equal(report.failed?.length, 1);
  const [failed] = report.failed!;
  assert.equal(failed!.path, crashing);
  assert.equal(failed!.role, "compare");
  assert.equal(failed!.kind, "EngineError");
  assert.match(failed!.error, /aborted the process \(SIGABRT\).*GGML_ASSERT\(id_to_token\.size\(\) == token_to_id\.size\(\)\)/);

  const written = await writeEvalReport(report, join(dir, "eval.json"));
  assert.equal(JSON.parse(readFileSync(written.json, "utf8")).failed[0].name, basename(crashing));
  assert.match(readFileSync(written.markdown, "utf8"), /## Failed models[\s\S]*bad-duplicate-token\.gguf \(compare/);
});

test("a crashing gold model leaves the others measured, with a warning that gold-relative metrics are missing", async () => {
  const crashing = makeBadModel(dir, "f16-norm");
  const report = await evaluate({ model: good, gold: crashing, data, suites: ["familiarity-probability"], threads: 1, probeModel: unchecked });
  assert.deepEqual(report.models.map((m) => m.role), ["model"]);
  assert.equal(report.failed?.[0]?.role, "gold");
  assert.equal(report.gold, null);
  assert.ok(report.warnings.some((w) => /gold model bad-f16-norm\.gguf could not be evaluated/.test(w)), report.warnings.join("\n"));
});

test("when every model crashes there is nothing to write: the first crash is thrown", async () => {
  const crashing = makeBadModel(dir, "nan-eps");
  await assert.rejects(
    evaluate({ model: crashing, compare: [makeBadModel(dir, "duplicate-token")], data, suites: ["familiarity-probability"], threads: 1, probeModel: unchecked }),
    (e: unknown) => e instanceof EngineError && e.message.includes(crashing) && /GGML_ASSERT\(eps >= 0\.0f\)/.test(e.message),
  );
});

test("with the checks on (the default), a bad compare model is an InputError before any model is measured", async () => {
  const events: EvalEvent[] = [];
  const bad = makeBadModel(dir, "nan-eps");
  await assert.rejects(
    evaluate({ model: good, compare: [bad], data, suites: ["familiarity-probability"], threads: 1, onEvent: (e) => events.push(e) }),
    (e: unknown) => e instanceof InputError && e.message.startsWith(bad) && /layer_norm_rms_epsilon/.test(e.message),
  );
  assert.deepEqual(events, []);
});
