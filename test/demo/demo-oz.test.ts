// `lethe demo --data` wiring at micro scale: the Oz testbed from a data folder, lethe's Oz dictionary
// and hand-written evaluation set, and the report. A tiny stand-in for the books keeps it fast;
// the real run is `lethe demo --data ../shared/data`.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ozEvalDir, runDemo } from "../../src/demo/demo.js";
import { tempDir } from "../helpers/temp.js";

const OZ_LINES = [
  "Dorothy lived in the midst of the great Kansas prairies, with Uncle Henry, who was a farmer, and Aunt Em.",
  "Toto was a little black dog, and Dorothy loved him dearly.",
  "The Scarecrow wanted brains, the Tin Woodman wanted a heart, and the Cowardly Lion wanted courage.",
  "They walked along the road of yellow brick to the Emerald City, where the Wizard of Oz lived.",
  "The Munchkins were glad that the Wicked Witch of the East was dead.",
  "Ozma ruled the Land of Oz from her palace in the Emerald City.",
];
const RETAIN_LINES = [
  "The farmer walked to the market with his wife and sold the apples he had grown.",
  "It was a cold morning, and the children ran down the lane to the old school.",
  "The captain looked out over the sea and spoke quietly to the sailors.",
  "She wrote a long letter to her brother and sent it with the evening post.",
];

function book(lines: string[], paragraphs: number, seed: number): string {
  const out: string[] = [];
  for (let i = 0; i < paragraphs; i++) out.push([0, 1, 2].map((k) => lines[(i * 7 + k * 3 + seed) % lines.length]).join(" "));
  return out.join("\n\n");
}

test("demo --data runs the Oz testbed with the Oz dictionary and evaluation set", { timeout: 10 * 60 * 1000 }, async () => {
  const root = tempDir("demo-oz");
  const data = join(root, "data");
  mkdirSync(join(data, "forget", "oz"), { recursive: true });
  mkdirSync(join(data, "retain"), { recursive: true });
  for (let b = 0; b < 2; b++) writeFileSync(join(data, "forget", "oz", `book${b}.txt`), book(OZ_LINES, 120, b));
  for (let b = 0; b < 2; b++) writeFileSync(join(data, "retain", `novel${b}.txt`), book(RETAIN_LINES, 120, b));

  const runDir = join(root, "run");
  const result = await runDemo({
    data,
    runDir,
    testbedDir: join(root, "testbed"),
    threads: 2,
    scale: {
      size: "tiny",
      overrides: { nLayer: 1, nEmbd: 64, nHead: 2, nHeadKv: 2, nFf: 128, context: 64, vocab: 400, steps: 40, batchSize: 4, microBatch: 4, evalEvery: 40, checkpointEvery: 40 },
      unlearn: { reinforce: { epochs: 1 }, finetune: { steps: 4 } },
      limit: 4,
      relearnSteps: 2,
    },
  });
  // The run used lethe's Oz dictionary and wrote the report about the Oz books.
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, "dictionary.json"), "utf8")), JSON.parse(readFileSync(join(ozEvalDir(), "dictionary.json"), "utf8")));
  assert.ok(existsSync(result.report));
  assert.match(readFileSync(result.report, "utf8"), /the Oz books/);
  assert.equal(result.testbed.testbed, "oz");
  // Every metric is measured for all three models; the Oz set has no retain questions, so cloze
  // questions are generated from the testbed's held-out retain text.
  for (const role of ["base", "unlearned", "gold"] as const) {
    const m = result.models[role];
    for (const k of ["familiarity", "probability", "verbmem", "knowmem_forget", "knowmem_retain", "ppl_retain"] as const) {
      assert.ok(m[k] !== null && Number.isFinite(m[k]), `${role} ${k} is ${m[k]}`);
    }
  }
  assert.match(readFileSync(result.eval, "utf8"), /generated from the testbed's text[^"]*retain/);
  // The familiarity prompts are lethe's hand-written Oz prompts.
  const evalReport = JSON.parse(readFileSync(result.eval, "utf8")) as { models: { results: { suite: string; details: { prompts?: string[] } }[] }[] };
  const prompts = evalReport.models[0]!.results.find((r) => r.suite === "familiarity-completion")!.details.prompts!;
  assert.equal(prompts[0], "Dorothy lived in the midst of the great Kansas");
});
