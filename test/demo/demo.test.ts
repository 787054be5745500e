// The demo pipeline end to end at micro scale (testbed, WHP, eval, report), and its report in a
// real browser. The full-size demo is the same code with the default scale.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";

import { runDemo } from "../../src/demo/demo.js";
import { openReport } from "../report/browser.js";
import { tempDir } from "../helpers/temp.js";

const MICRO = {
  saga: { seed: 3, nCharacters: 6, nHeldOutCharacters: 2, nHouses: 2, nPlaces: 3, nSpecies: 2, nSpells: 3, repetitions: 3, nFamiliarityPrompts: 30 },
  size: "tiny",
  overrides: { nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, nFf: 256, context: 128, vocab: 512, steps: 400, batchSize: 8, microBatch: 8, lr: 3e-3, evalEvery: 400, checkpointEvery: 400 },
  unlearn: { reinforce: { epochs: 1 }, finetune: { steps: 60, lr: 3e-3 } },
  limit: 24,
  relearnSteps: 5,
};

test("the demo makes the base model forget the saga, measures all three models and writes a report", { timeout: 15 * 60 * 1000 }, async () => {
  const runDir = tempDir("demo");
  const testbedDir = resolve(".lethe-cache", "test-fixtures", "demo-micro-testbed");
  const first = await runDemo({ runDir, testbedDir, scale: MICRO, threads: 2 });
  const { base, unlearned, gold } = first.models;
  for (const m of [base, unlearned, gold]) {
    for (const [k, v] of Object.entries(m)) assert.ok(v !== null && Number.isFinite(v), `${k} is ${v}`);
  }
  // Forgetting: the unlearned model's probability of the saga's idiosyncratic continuations drops
  // far below the base model's, towards the gold model's.
  assert.ok(unlearned.probability! < base.probability! / 3, `probability ${base.probability} -> ${unlearned.probability}`);
  assert.ok(gold.probability! < base.probability!);
  assert.ok(unlearned.familiarity! < base.familiarity!, `familiarity ${base.familiarity} -> ${unlearned.familiarity}`);
  // Utility: perplexity on held-out generic text stays in the base model's range.
  assert.ok(unlearned.ppl_retain! < base.ppl_retain! * 1.5, `ppl ${base.ppl_retain} -> ${unlearned.ppl_retain}`);
  assert.ok(existsSync(first.report));
  // The relearning probe ran on every model, and every stage's time is recorded.
  for (const role of ["base", "unlearned", "gold"] as const) assert.ok(Number.isFinite(first.relearning[role].probability_after), `${role} relearning`);
  for (const stage of ["testbed", "reinforce", "anchors", "labels", "finetune", "eval"]) assert.equal(typeof first.stagesS[stage], "number", stage);

  // A repeat run reads everything back.
  const t0 = performance.now();
  const again = await runDemo({ runDir, testbedDir, scale: MICRO, threads: 2 });
  assert.deepEqual(again.models, first.models);
  assert.ok(performance.now() - t0 < 60_000);

  const opened = await openReport(first.report);
  if (!opened) {
    test.skip?.("Chromium not installed at /usr/bin/chromium");
    return;
  }
  try {
    const { page, consoleErrors, requests } = opened;
    const text = await page.textContent("body");
    for (const name of ["base", "unlearned", "gold"]) assert.match(text ?? "", new RegExp(name));
    assert.ok((await page.locator("table").count()) >= 1);
    assert.ok((await page.locator("canvas").count()) >= 2);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(requests, []);
  } finally {
    await opened.browser.close();
  }
});
