/**
 * WHP settings sweep on the demo testbed: the synthetic saga's tiny base model is unlearned with
 * each variant below and measured like the demo measures (familiarity, probability, MUSE KnowMem,
 * retain perplexity), next to the base and gold models. This is how the defaults of
 * src/unlearn/config.ts were chosen.
 *
 *   node --import tsx bench/whp-sweep.ts [--only NAME,...] [--limit 120] [--out bench/results/whp-sweep.json]
 *
 * Each variant keeps its run folder under .lethe-cache/bench/whp-sweep/, so a rerun only
 * re-measures; roughly 4 minutes per variant on 2 cores. Results of variants not rerun are kept.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { evaluate, syntheticEvalData } from "../src/eval/index.js";
import { buildTestbed } from "../src/testbed/build.js";
import { syntheticSaga, syntheticTestbed } from "../src/testbed/testbeds.js";
import { DEFAULT_CONFIG, unlearn, type UnlearnConfigInput } from "../src/unlearn/index.js";
import { machineInfo } from "../src/util/machine.js";

/**
 * The variants. Each spells out every swept setting, so a result keeps its meaning when the
 * defaults move: the reference point is α 5, anchors suppressed, argmax labels, 150 steps at lr 3e-3,
 * retain weight 1.
 */
const REFERENCE = { labels: { alpha: 5, suppressAnchors: true, topK: 1 }, finetune: { steps: 150, lr: 3e-3, retainWeight: 1 } };
const variant = (delta: { labels?: Partial<typeof REFERENCE.labels>; finetune?: Partial<typeof REFERENCE.finetune> }): UnlearnConfigInput => ({
  labels: { ...REFERENCE.labels, ...delta.labels },
  finetune: { ...REFERENCE.finetune, ...delta.finetune },
});
const VARIANTS: Record<string, UnlearnConfigInput> = {
  "paper-rules": variant({ labels: { suppressAnchors: false } }),
  "suppress-anchors": variant({}),
  "alpha-2": variant({ labels: { alpha: 2 } }),
  "alpha-0.5": variant({ labels: { alpha: 0.5 } }),
  "alpha-10": variant({ labels: { alpha: 10 } }),
  "lr-1e-3": variant({ finetune: { lr: 1e-3 } }),
  "lr-3e-4": variant({ finetune: { lr: 3e-4 } }),
  "steps-300": variant({ finetune: { steps: 300 } }),
  "retain-3": variant({ finetune: { retainWeight: 3 } }),
  "lr-1e-3-soft-8": variant({ labels: { topK: 8 }, finetune: { lr: 1e-3 } }),
  "lr-1e-3-retain-3": variant({ finetune: { lr: 1e-3, retainWeight: 3 } }),
};

const METRICS: Record<string, string> = {
  familiarity: "familiarity-completion/familiarity",
  probability: "familiarity-probability/familiarity_probability",
  knowmem_forget: "muse/knowmem_f",
  knowmem_retain: "muse/knowmem_r",
  ppl_retain: "utility/perplexity",
};

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    only: { type: "string" },
    limit: { type: "string", default: "120" },
    out: { type: "string", default: join(here, "results", "whp-sweep.json") },
  },
});
const names = values.only ? values.only.split(",") : Object.keys(VARIANTS);
for (const name of names) if (!VARIANTS[name]) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(", ")}`);
const limit = Number(values.limit);
const root = resolve(here, "..");
const workDir = join(root, ".lethe-cache", "bench", "whp-sweep");
mkdirSync(workDir, { recursive: true });

const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
const testbed = await buildTestbed(syntheticTestbed({ dir: join(root, ".lethe-cache", "testbeds", "synthetic-tiny"), size: "tiny" }));
const truth = syntheticSaga();
const dictionary = join(workDir, "dictionary.json");
writeFileSync(dictionary, JSON.stringify(truth.truth.genericDictionary, null, 1) + "\n");
const data = syntheticEvalData(truth, "synthetic testbed");
const suites = ["familiarity-completion", "familiarity-probability", "muse", "utility"] as const;

async function measure(path: string): Promise<Record<string, number | null>> {
  const report = await evaluate({ model: path, suites, data, limit });
  const flat: Record<string, number | null> = {};
  for (const r of report.models[0]!.results) for (const [k, v] of Object.entries(r.metrics)) flat[`${r.suite}/${k}`] = v;
  return Object.fromEntries(Object.entries(METRICS).map(([k, source]) => [k, flat[source] ?? null]));
}

log("measuring base and gold");
const reference = { base: await measure(testbed.base.path), gold: await measure(testbed.gold.path) };
type VariantResult = { overrides: UnlearnConfigInput; unlearn_s: number; metrics: Record<string, number | null> };
// Variants measured by an earlier run on the same testbed stay in the results; --only adds to them.
const baseModified = new Date(statSync(testbed.base.path).mtimeMs).toISOString();
const previous = existsSync(values.out!) ? (JSON.parse(readFileSync(values.out!, "utf8")) as { testbed?: { base_modified?: string }; variants?: Record<string, VariantResult> }) : undefined;
const variants: Record<string, VariantResult> = previous?.testbed?.base_modified === baseModified ? { ...previous.variants } : {};
for (const name of names) {
  log(`variant ${name}: ${JSON.stringify(VARIANTS[name])}`);
  const runDir = join(workDir, name);
  mkdirSync(runDir, { recursive: true });
  const started = performance.now();
  await unlearn({
    model: testbed.base.path,
    forget: [testbed.text.forget],
    retain: [testbed.text.retain],
    out: join(runDir, "unlearned.gguf"),
    runDir,
    dictionary,
    method: "whp",
    config: VARIANTS[name],
  });
  const unlearnS = Math.round((performance.now() - started) / 1000);
  variants[name] = { overrides: VARIANTS[name]!, unlearn_s: unlearnS, metrics: await measure(join(runDir, "unlearned.gguf")) };
  log(`${name}: ${JSON.stringify(variants[name]!.metrics)}`);
}

const report = {
  benchmark: "whp-sweep",
  machine: machineInfo(),
  testbed: { kind: "synthetic", size: "tiny", base: testbed.base.path, gold: testbed.gold.path, base_modified: baseModified },
  defaults_when_run: DEFAULT_CONFIG,
  eval_limit: limit,
  reference,
  variants,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(`${values.out}.tmp`, JSON.stringify(report, null, 2) + "\n");
renameSync(`${values.out}.tmp`, values.out!);
log(`wrote ${values.out}`);
