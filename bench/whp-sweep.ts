/**
 * WHP settings sweep on both testbeds: the synthetic saga (tiny Llama) and the Oz books (small
 * Llama against public-domain novels; `oz-tiny` is the same corpus with tiny models). Each variant
 * unlearns the testbed's base model and is measured as the demo measures it (familiarity,
 * probability, MUSE VerbMem/KnowMem/PrivLeak, perplexity on held-out retain text, the probability
 * after 50 relearning steps), next to the base and gold models. This is how the defaults of
 * src/unlearn/config.ts are chosen, and every variant is one point of the forgetting-versus-perplexity
 * frontier.
 *
 *   node --import tsx bench/whp-sweep.ts [--testbed synthetic,oz,oz-tiny] [--only NAME,...] [--limit 120]
 *        [--data ../shared/data] [--threads N] [--out bench/results/whp-sweep.json] [--reinforced FILE]
 *
 * Each variant keeps its run folder under .lethe-cache/bench/whp-sweep/<testbed>/, so a rerun only
 * re-measures; results of variants not rerun are kept while the testbed's base model is unchanged.
 * The variants with the default reinforce settings share one reinforced model, so its time is
 * counted in the first such variant's unlearn_s only; `--reinforced` gives one made with the default
 * reinforce settings elsewhere (the demo run's `unlearn/reinforced.gguf`), so none is trained. A
 * variant that changes how the reinforced model is trained trains its own, and a variant may take another's (see
 * OWN_REINFORCED and REINFORCED_FROM). Each row keeps the wall seconds of every stage that
 * ran (`stages_s`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { demoWorld } from "../src/demo/demo.js";
import { evaluate } from "../src/eval/index.js";
import { privLeak } from "../src/eval/muse.js";
import { buildTestbed } from "../src/testbed/build.js";
import { DEFAULT_CONFIG, unlearn, type UnlearnConfigInput } from "../src/unlearn/index.js";
import { machineInfo } from "../src/util/machine.js";

/**
 * The variants. Each spells out every swept setting, so a result keeps its meaning when the
 * defaults move. The reference point is the paper's argmax labels with lethe's anchor suppression,
 * α 5, 150 steps at lr 1e-3 and next-token training on retain text.
 */
const REFERENCE = {
  labels: { alpha: 5, suppressAnchors: true, topK: 1, tail: 0, temperature: 1, keepOriginalAbove: 0, riseBaseline: "zero" as "zero" | "retain" },
  finetune: { steps: 150, lr: 1e-3, retainWeight: 1, retainLoss: "nll" as "nll" | "kl", trainEmbeddings: true, validateEvery: 0, maxRetainRise: 0.05 },
};
type Delta = { labels?: Partial<typeof REFERENCE.labels>; finetune?: Partial<typeof REFERENCE.finetune> };
const variant = (delta: Delta): UnlearnConfigInput => ({
  labels: { ...REFERENCE.labels, ...delta.labels },
  finetune: { ...REFERENCE.finetune, ...delta.finetune },
});
const SOFT = { topK: 16, tail: 16 };
const VARIANTS: Record<string, UnlearnConfigInput> = {
  "paper-rules": variant({ labels: { suppressAnchors: false } }),
  argmax: variant({}),
  "argmax-no-retain": variant({ finetune: { retainWeight: 0 } }),
  "argmax-kl": variant({ finetune: { retainLoss: "kl" } }),
  "keep-0.05": variant({ labels: { keepOriginalAbove: 0.05 } }),
  "keep-0.2": variant({ labels: { keepOriginalAbove: 0.2 } }),
  "soft-renorm-16": variant({ labels: { topK: 16 } }),
  "dist-16+16": variant({ labels: SOFT }),
  "dist-16+16-kl": variant({ labels: SOFT, finetune: { retainLoss: "kl" } }),
  "dist-16+16-rise-retain": variant({ labels: { ...SOFT, riseBaseline: "retain" } }),
  "argmax-rise-retain": variant({ labels: { riseBaseline: "retain" } }),
  "dist-16+16-kl-frozen-emb": variant({ labels: SOFT, finetune: { retainLoss: "kl", trainEmbeddings: false } }),
  "dist-16+16-kl-lr-3e-3": variant({ labels: SOFT, finetune: { retainLoss: "kl", lr: 3e-3 } }),
  "dist-16+16-kl-steps-300": variant({ labels: SOFT, finetune: { retainLoss: "kl", steps: 300 } }),
  "dist-16+16-kl-validated": variant({ labels: SOFT, finetune: { retainLoss: "kl", validateEvery: 25 } }),
  "dist-16+16-no-retain": variant({ labels: SOFT, finetune: { retainWeight: 0 } }),
  "dist-16+16-kl-T2": variant({ labels: { ...SOFT, temperature: 2 }, finetune: { retainLoss: "kl" } }),
  "dist-16+16-kl-alpha-20": variant({ labels: { ...SOFT, alpha: 20 }, finetune: { retainLoss: "kl" } }),
  // Limiting what trains: the fine-tune as a rank-16 LoRA adapter (merged, so it is measured like the rest).
  "dist-16+16-lora-16": { ...variant({ labels: SOFT }), lora: { rank: 16, merge: true } },
  "dist-16+16-lora-16-lr-3e-3": { ...variant({ labels: SOFT, finetune: { lr: 3e-3 } }), lora: { rank: 16, merge: true } },
  // The cost of the pipeline: one reinforce epoch instead of two (each epoch is a pass over the corpus).
  "dist-16+16-reinforce-1-epoch": { ...variant({ labels: SOFT }), reinforce: { epochs: 1 } },
  // One epoch at twice the learning rate: the same summed step size as the default's two epochs.
  "dist-16+16-reinforce-1-epoch-lr-2e-3": { ...variant({ labels: SOFT }), reinforce: { epochs: 1, lr: 2e-3 } },
  // Mixed precision: every training stage's matrix products in BF16 (F32 weights and optimizer).
  "dist-16+16-bf16": { ...variant({ labels: SOFT }), precision: "bf16" },
  // Which stage BF16 changes the result in: its reinforced model with an F32 fine-tune.
  "dist-16+16-bf16-reinforce-only": variant({ labels: SOFT }),
  // The spread between runs: the F32 default with another seed (data order, tail samples), its own
  // reinforced model, against which a variant's difference from dist-16+16 is read.
  "dist-16+16-seed-2": { ...variant({ labels: SOFT }), seed: 2 },
  // The F32 default again from scratch, its products on OpenBLAS (another rounding than ggml's):
  // the time WHP takes now, and the spread that rounding alone makes.
  "dist-16+16-blas": variant({ labels: SOFT }),
  // The F32 default from scratch once more, its labels' logits from lethe's own graph (GraphLogits)
  // and AdamW in AVX2 registers: the time WHP takes now.
  "dist-16+16-graph-labels": variant({ labels: SOFT }),
};

/** Variants that train their own reinforced model, and those that take another variant's. */
const OWN_REINFORCED = new Set(["dist-16+16-reinforce-1-epoch", "dist-16+16-reinforce-1-epoch-lr-2e-3", "dist-16+16-bf16", "dist-16+16-seed-2", "dist-16+16-blas", "dist-16+16-graph-labels"]);
const REINFORCED_FROM: Record<string, string> = { "dist-16+16-bf16-reinforce-only": "dist-16+16-bf16" };

/** Where each measured metric comes from in the eval report (`suite/metric`). */
const METRICS: Record<string, string> = {
  familiarity: "familiarity-completion/familiarity",
  probability: "familiarity-probability/familiarity_probability",
  verbmem: "muse/verbmem_f",
  knowmem_forget: "muse/knowmem_f",
  knowmem_retain: "muse/knowmem_r",
  mia_auc: "muse/mia_auc",
  ppl_retain: "utility/perplexity",
  relearned_probability: "relearning/familiarity_probability_after",
};
/** oz-tiny is the Oz testbed at the tiny size: the realistic corpus at the cost of the synthetic one. */
const TESTBEDS = ["synthetic", "oz", "oz-tiny"] as const;
type TestbedName = (typeof TESTBEDS)[number];
/** Each testbed's model size and cache folder, as `lethe demo` names them. */
const TESTBED_MODELS: Record<TestbedName, { dir: string; size: "tiny" | "small" }> = {
  synthetic: { dir: "synthetic-tiny", size: "tiny" },
  oz: { dir: "oz-small", size: "small" },
  "oz-tiny": { dir: "oz-tiny", size: "tiny" },
};

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    testbed: { type: "string", default: "synthetic" },
    only: { type: "string" },
    limit: { type: "string", default: "120" },
    data: { type: "string", default: join(here, "..", "..", "shared", "data") },
    threads: { type: "string" },
    out: { type: "string", default: join(here, "results", "whp-sweep.json") },
    reinforced: { type: "string" },
  },
});
const testbeds = values.testbed!.split(",") as TestbedName[];
for (const t of testbeds) if (!TESTBEDS.includes(t)) throw new Error(`unknown testbed ${t}; known: ${TESTBEDS.join(", ")}`);
const names = values.only ? values.only.split(",") : Object.keys(VARIANTS);
for (const name of names) if (!VARIANTS[name]) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(", ")}`);
const limit = Number(values.limit);
const threads = values.threads === undefined ? undefined : Number(values.threads);
const root = resolve(here, "..");

const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
type Metrics = Record<string, number | null>;
type VariantResult = { overrides: UnlearnConfigInput; unlearn_s: number; stages_s?: Record<string, number>; labels?: unknown; metrics: Metrics };
interface TestbedResult {
  testbed: { base: string; gold: string; base_modified: string };
  reference: { base: Metrics; gold: Metrics };
  variants: Record<string, VariantResult>;
}
const previous = existsSync(values.out!) ? (JSON.parse(readFileSync(values.out!, "utf8")) as { testbeds?: Partial<Record<TestbedName, TestbedResult>> }) : {};
const results: Partial<Record<TestbedName, TestbedResult>> = { ...previous.testbeds };

function write(): void {
  const report = { benchmark: "whp-sweep", machine: machineInfo(), defaults_when_run: DEFAULT_CONFIG, eval_limit: limit, testbeds: results };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(`${values.out}.tmp`, JSON.stringify(report, null, 2) + "\n");
  renameSync(`${values.out}.tmp`, values.out!);
}

for (const name of testbeds) {
  const { dir, size } = TESTBED_MODELS[name];
  const world = demoWorld({
    data: name === "synthetic" ? undefined : values.data,
    testbedDir: join(root, ".lethe-cache", "testbeds", dir),
    scale: { size },
    threads,
  });
  const testbed = await buildTestbed(world.spec);
  const data = await world.evalData(testbed);
  const workDir = join(root, ".lethe-cache", "bench", "whp-sweep", name);
  mkdirSync(workDir, { recursive: true });
  const dictionary = join(workDir, "dictionary.json");
  writeFileSync(dictionary, world.dictionary());
  const measure = async (path: string): Promise<Metrics> => {
    const report = await evaluate({
      model: path,
      suites: ["familiarity-completion", "familiarity-probability", "muse", "utility", "relearning"],
      data,
      limit,
      settings: { relearnSteps: 50 },
      threads,
    });
    const flat: Metrics = {};
    for (const r of report.models[0]!.results) for (const [k, v] of Object.entries(r.metrics)) flat[`${r.suite}/${k}`] = v;
    return Object.fromEntries(Object.entries(METRICS).map(([k, source]) => [k, flat[source] ?? null]));
  };
  const baseModified = new Date(statSync(testbed.base.path).mtimeMs).toISOString();
  const kept = results[name]?.testbed.base_modified === baseModified ? results[name] : undefined;
  log(`${name}: measuring base and gold`);
  const reference = kept?.reference ?? { gold: await measure(testbed.gold.path), base: await measure(testbed.base.path) };
  // PrivLeak relates each model's MIA AUC to the gold model's, measured once.
  const withPrivLeak = (m: Metrics): Metrics => {
    const gold = reference.gold.mia_auc;
    return { ...m, privleak: typeof m.mia_auc === "number" && typeof gold === "number" && gold > 0 ? privLeak(m.mia_auc, gold) : null };
  };
  reference.base = withPrivLeak(reference.base);
  reference.gold = withPrivLeak(reference.gold);
  const entry: TestbedResult = {
    testbed: { base: testbed.base.path, gold: testbed.gold.path, base_modified: baseModified },
    reference,
    variants: { ...kept?.variants },
  };
  results[name] = entry;
  write();
  for (const variantName of names) {
    log(`${name} / ${variantName}: ${JSON.stringify(VARIANTS[variantName])}`);
    const runDir = join(workDir, variantName);
    mkdirSync(runDir, { recursive: true });
    const started = performance.now();
    // The other variants share any one of theirs' reinforced model (made with the default settings).
    const shared = (n: string) => !OWN_REINFORCED.has(n) && REINFORCED_FROM[n] === undefined;
    const from = REINFORCED_FROM[variantName];
    const reinforced = from !== undefined
      ? join(workDir, from, "reinforced.gguf")
      : !shared(variantName)
        ? undefined
        : values.reinforced !== undefined
          ? resolve(values.reinforced)
          : Object.keys(VARIANTS).filter(shared).map((n) => join(workDir, n, "reinforced.gguf")).find((p) => existsSync(p));
    if (from !== undefined && !existsSync(reinforced!)) throw new Error(`${variantName} needs the reinforced model of ${from}: run that variant first`);
    const result = await unlearn({
      reinforced,
      model: testbed.base.path,
      forget: [testbed.text.forget],
      retain: [testbed.text.retain],
      out: join(runDir, "unlearned.gguf"),
      runDir,
      dictionary,
      method: "whp",
      config: VARIANTS[variantName],
      threads,
    });
    const unlearnS = Math.round((performance.now() - started) / 1000);
    const labelsJson = join(runDir, "labels.json");
    const labels = existsSync(labelsJson) ? pickLabelStats(JSON.parse(readFileSync(labelsJson, "utf8")) as Record<string, unknown>) : undefined;
    const stagesS = Object.fromEntries(result.stages.filter((st) => st.ran).map((st) => [st.name, Math.round(st.wallS)]));
    entry.variants[variantName] = { overrides: VARIANTS[variantName]!, unlearn_s: unlearnS, stages_s: stagesS, labels, metrics: withPrivLeak(await measure(join(runDir, "unlearned.gguf"))) };
    log(`${name} / ${variantName}: ${JSON.stringify(entry.variants[variantName]!.metrics)}`);
    write();
  }
}
log(`wrote ${values.out}`);

function pickLabelStats(s: Record<string, unknown>): Record<string, unknown> {
  const keys = ["changedShare", "sameAsTextShare", "frequentTokenShare", "meanGenericEntropy", "meanGenericProbabilityOfText", "riseBaseline"];
  return Object.fromEntries(keys.filter((k) => k in s).map((k) => [k, s[k]]));
}
