/**
 * Utility benchmark: the full utility suite (every lm-evaluation-harness-style task of
 * ../shared/data/eval, first N documents each) on one model, with timings.
 *
 *   node --import tsx bench/utility.ts [--model M.gguf] [--limit 200] [--threads 1] [--out bench/results/utility.json]
 *
 * Without --model it uses the micro synthetic testbed's base model (built and cached by the test
 * fixture). Tiny models score near chance; the point is that the harness runs on the real files.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { EngineScoringModel } from "../src/eval/engine-model.js";
import { TASKS } from "../src/eval/tasks.js";
import { runUtility } from "../src/eval/utility.js";
import { machineInfo } from "../src/util/machine.js";
import { microTestbed } from "../test/fixtures/micro-testbed.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    limit: { type: "string", default: "200" },
    threads: { type: "string", default: "1" },
    data: { type: "string", default: resolve(here, "../../shared/data/eval") },
    out: { type: "string", default: join(here, "results", "utility.json") },
  },
});

const modelPath = values.model ?? (await microTestbed()).basePath;
const limit = Number(values.limit);
const model = await EngineScoringModel.open(modelPath, { threads: Number(values.threads) });
const started = performance.now();
let lastShown = 0;
const result = await runUtility(model, {
  dataDir: values.data!,
  limit,
  onProgress: (done, total) => {
    if (performance.now() - lastShown > 5000 || done === total) {
      lastShown = performance.now();
      process.stderr.write(`${done}/${total} requests\n`);
    }
  },
});
const seconds = (performance.now() - started) / 1000;
await model.dispose();

const report = {
  model: modelPath,
  contextLength: model.contextLength,
  limit,
  machine: machineInfo(Number(values.threads)),
  seconds: Number(seconds.toFixed(1)),
  tasks: TASKS.map((t) => t.name),
  metrics: result.metrics,
  details: result.details,
  warnings: result.warnings,
  createdAt: new Date().toISOString(),
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(`${values.out}.tmp`, JSON.stringify(report, null, 1) + "\n");
renameSync(`${values.out}.tmp`, values.out!);
for (const [k, v] of Object.entries(result.metrics)) if (!k.endsWith("_stderr")) console.log(`${k.padEnd(28)} ${v === null ? "n/a" : v.toFixed(4)}`);
console.log(`${seconds.toFixed(1)} s; wrote ${values.out}`);
