/**
 * Where does the perplexity go? For a testbed, scores the held-out retain text with the base model,
 * the gold model and each WHP sweep variant's unlearned model, and splits the loss each one gained
 * over the base by kind of next token (line breaks, spaces, punctuation, the corpus's most frequent
 * words, names, rare words, other words; see src/eval/loss-breakdown.ts). Next to it: the variant's
 * label statistics (from its run's labels.json) and, from bench/results/whp-sweep.json, what each
 * single setting changed (every pair of variants whose overrides differ in exactly one setting).
 *
 *   node --import tsx bench/whp-diagnosis.ts [--testbed synthetic|oz] [--variants NAME,...]
 *        [--threads N] [--max-tokens 50000] [--block N] [--testbed-dir DIR] [--runs DIR]
 *        [--sweep bench/results/whp-sweep.json] [--out bench/results/whp-diagnosis.json]
 *
 * The testbed must be built (its report.json newer than its models) and the variants unlearned by
 * bench/whp-sweep.ts; nothing here trains. Defaults: the testbed folder and the variants' run folders
 * where the sweep keeps them, every variant the sweep recorded or left a run folder for, blocks as
 * long as the model's context (so with enough --max-tokens a model's perplexity is the sweep's
 * ppl_retain).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { EngineScoringModel } from "../src/eval/engine-model.js";
import {
  corpusVocabulary,
  lossBreakdown,
  oneSettingPairs,
  summariseSettings,
  topTokenLosses,
  type CorpusVocabulary,
  type ScoredToken,
  type SweepVariant,
} from "../src/eval/loss-breakdown.js";
import { batchedTokenLogprobs, splitIntoWindows } from "../src/eval/scoring.js";
import { machineInfo } from "../src/util/machine.js";

const TESTBED_FOLDERS = { synthetic: "synthetic-tiny", oz: "oz-small" } as const;
type TestbedName = keyof typeof TESTBED_FOLDERS;
/** Sweep metrics whose change is reported per one-setting pair. */
const SWEEP_METRICS = ["ppl_retain", "familiarity", "probability", "knowmem_forget", "knowmem_retain"];
/** Tokens of text before each scored token kept for the name test (it needs the last visible character). */
const PRECEDING_TOKENS = 8;
const TOP_TOKENS = 20;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const { values } = parseArgs({
  options: {
    testbed: { type: "string", default: "synthetic" },
    variants: { type: "string" },
    threads: { type: "string" },
    "max-tokens": { type: "string", default: "50000" },
    block: { type: "string" },
    "testbed-dir": { type: "string" },
    runs: { type: "string" },
    sweep: { type: "string", default: join(here, "results", "whp-sweep.json") },
    out: { type: "string", default: join(here, "results", "whp-diagnosis.json") },
  },
});
if (!(values.testbed! in TESTBED_FOLDERS)) throw new Error(`unknown testbed ${values.testbed}; known: ${Object.keys(TESTBED_FOLDERS).join(", ")}`);
const testbedName = values.testbed as TestbedName;
const threads = values.threads === undefined ? undefined : positiveInteger("threads", values.threads);
const maxTokens = positiveInteger("max-tokens", values["max-tokens"]!);
const testbedDir = resolve(values["testbed-dir"] ?? join(root, ".lethe-cache", "testbeds", TESTBED_FOLDERS[testbedName]));
const runsDir = resolve(values.runs ?? join(root, ".lethe-cache", "bench", "whp-sweep", testbedName));

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Inputs: the testbed's files, the sweep's results, the variants' runs
// ---------------------------------------------------------------------------------------------

interface TestbedFiles {
  base: string;
  gold: string;
  /** The retain text the models trained on: the corpus token counts come from it. */
  retain: string;
  heldOutRetain: string;
}

/**
 * The testbed as its report.json describes it. Read rather than rebuilt: buildTestbed would resume a
 * pretraining run that is still going, and this script must never train.
 */
function readTestbed(dir: string): TestbedFiles {
  const reportPath = join(dir, "report.json");
  if (!existsSync(reportPath)) throw new Error(`${dir} has no report.json: build the testbed first (bench/whp-sweep.ts or \`lethe testbed\`)`);
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as {
    base: { path: string };
    gold: { path: string };
    text?: { retain: string; heldOutRetain: string };
  };
  if (!report.text) throw new Error(`${reportPath} names no text folders: rebuild the testbed with this version of lethe`);
  for (const model of [report.base.path, report.gold.path]) {
    if (!existsSync(model)) throw new Error(`${reportPath} names ${model}, which does not exist`);
    if (statSync(model).mtimeMs > statSync(reportPath).mtimeMs) throw new Error(`${model} is newer than ${reportPath}: the testbed is being rebuilt; wait for it`);
  }
  return { base: report.base.path, gold: report.gold.path, retain: report.text.retain, heldOutRetain: report.text.heldOutRetain };
}

/** The non-empty .txt documents of a folder, in file-name order. */
function readDocuments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .filter((d) => d.trim() !== "");
}

interface SweepTestbed {
  reference?: { base?: Record<string, number | null>; gold?: Record<string, number | null> };
  variants: Record<string, SweepVariant>;
}

/**
 * The sweep's results for this testbed: `testbeds.<name>` in the current layout, or the top level of
 * the older single-testbed layout (`testbed.kind` names it).
 */
function readSweep(path: string, testbed: TestbedName): SweepTestbed | undefined {
  if (!existsSync(path)) return undefined;
  const sweep = JSON.parse(readFileSync(path, "utf8")) as {
    testbeds?: Record<string, SweepTestbed>;
    testbed?: { kind?: string };
    reference?: SweepTestbed["reference"];
    variants?: SweepTestbed["variants"];
  };
  if (sweep.testbeds) return sweep.testbeds[testbed];
  if (sweep.variants && sweep.testbed?.kind === testbed) return { reference: sweep.reference, variants: sweep.variants };
  return undefined;
}

/** The requested variants, or every variant the sweep recorded or left a run folder for. */
function variantNames(requested: string | undefined, sweep: SweepTestbed | undefined): string[] {
  if (requested) return requested.split(",").filter((n) => n !== "");
  const folders = existsSync(runsDir) ? readdirSync(runsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  return [...new Set([...Object.keys(sweep?.variants ?? {}), ...folders.sort()])];
}

/** The scalar label statistics of a run's labels.json, with its ten most common label changes. */
function readLabelStats(runDir: string): Record<string, unknown> | null {
  const path = join(runDir, "labels.json");
  if (!existsSync(path)) return null;
  const stats = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const scalars = Object.entries(stats).filter(([, v]) => v === null || typeof v === "number" || typeof v === "boolean");
  const topChanges = Array.isArray(stats.topChanges) ? { topChanges: stats.topChanges.slice(0, 10) } : {};
  return { ...Object.fromEntries(scalars), ...topChanges };
}

// ---------------------------------------------------------------------------------------------
// The held-out sample and the corpus counts (tokenized once, with the base model's tokenizer)
// ---------------------------------------------------------------------------------------------

interface HeldOutSample {
  documents: number;
  /** Context-sized windows overlapping by one token, as the utility suite scores perplexity. */
  windows: number[][];
  /** Per scored position, in window order: the next token's text and the text before it. */
  texts: string[];
  preceding: string[];
}

/** Caches the text of each token id (special tokens: ""). */
function tokenTexts(model: EngineScoringModel): (id: number) => string {
  const cache = new Map<number, string>();
  return (id) => {
    let text = cache.get(id);
    if (text === undefined) cache.set(id, (text = model.detokenize([id])));
    return text;
  };
}

/** The first `maxTokens` scored positions of the documents, each document starting with BOS. */
function heldOutSample(model: EngineScoringModel, documents: readonly string[], block: number, textOf: (id: number) => string): HeldOutSample {
  const sample: HeldOutSample = { documents: 0, windows: [], texts: [], preceding: [] };
  let room = maxTokens;
  for (const document of documents) {
    if (room === 0) break;
    const ids = model.tokenize(document, { addBos: true }).slice(0, room + 1);
    if (ids.length < 2) continue;
    sample.documents++;
    room -= ids.length - 1;
    sample.windows.push(...splitIntoWindows(ids, block));
    for (let j = 1; j < ids.length; j++) {
      sample.texts.push(textOf(ids[j]!));
      sample.preceding.push(ids.slice(Math.max(0, j - PRECEDING_TOKENS), j).map(textOf).join(""));
    }
  }
  return sample;
}

/** How often each token text occurs in the documents. */
function corpusCounts(model: EngineScoringModel, documents: readonly string[], textOf: (id: number) => string): Map<string, number> {
  const byId = new Map<number, number>();
  for (const document of documents) for (const id of model.tokenize(document, { addBos: false })) byId.set(id, (byId.get(id) ?? 0) + 1);
  const byText = new Map<string, number>();
  for (const [id, n] of byId) byText.set(textOf(id), (byText.get(textOf(id)) ?? 0) + n);
  return byText;
}

// ---------------------------------------------------------------------------------------------
// Scoring and the per-model diagnosis
// ---------------------------------------------------------------------------------------------

/** log p of every scored position of the sample under `model`, in the sample's order. */
async function score(model: EngineScoringModel, sample: HeldOutSample): Promise<Float32Array> {
  const started = performance.now();
  const perWindow = await batchedTokenLogprobs(model, sample.windows, {});
  const out = new Float32Array(sample.texts.length);
  let k = 0;
  for (const lp of perWindow) for (const x of lp) out[k++] = x;
  if (k !== out.length) throw new Error(`scored ${k} positions, expected ${out.length}`);
  log(`${model.name}: ${k} tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

/** Opens a model file, scores the sample and frees the model. */
async function scoreFile(path: string, name: string, sample: HeldOutSample): Promise<Float32Array> {
  const model = await EngineScoringModel.open(path, { threads, name });
  try {
    return await score(model, sample);
  } finally {
    await model.dispose();
  }
}

const perplexityOf = (logprobs: Float32Array) => Math.exp(-logprobs.reduce((s, x) => s + x, 0) / logprobs.length);

/** What a model lost against the base, by kind of next token and by token. */
function diagnose(sample: HeldOutSample, vocabulary: CorpusVocabulary, scores: { base: Float32Array; after: Float32Array; gold?: Float32Array }) {
  const tokens: ScoredToken[] = sample.texts.map((text, i) => ({
    text,
    preceding: sample.preceding[i]!,
    before: scores.base[i]!,
    after: scores.after[i]!,
    gold: scores.gold?.[i],
  }));
  const breakdown = lossBreakdown(tokens, vocabulary);
  return {
    ppl_retain_heldout: breakdown.ppl_after,
    ppl_ratio_to_base: breakdown.ppl_after !== null && breakdown.ppl_before !== null ? breakdown.ppl_after / breakdown.ppl_before : null,
    log_ppl_increase: breakdown.positions === 0 ? null : breakdown.loss_increase_nats / breakdown.positions,
    breakdown: breakdown.kinds,
    top_tokens: topTokenLosses(tokens, vocabulary, TOP_TOKENS),
  };
}

/** Which single settings moved the sweep's metrics, from pairs of variants one setting apart. */
function contributions(sweep: SweepTestbed | undefined) {
  if (!sweep) return { source: values.sweep, note: `no ${testbedName} results in ${values.sweep}`, pairs: [], by_setting: {} };
  const pairs = oneSettingPairs(sweep.variants, SWEEP_METRICS);
  return { source: values.sweep, metrics: SWEEP_METRICS, reference: sweep.reference ?? null, pairs, by_setting: summariseSettings(pairs, SWEEP_METRICS) };
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/** Six significant digits are plenty for a diagnosis and keep the file readable. */
const rounded = (_key: string, value: unknown) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value);

function writeAtomically(path: string, report: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(report, rounded, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

const files = readTestbed(testbedDir);
const sweep = readSweep(values.sweep!, testbedName);
const names = variantNames(values.variants, sweep);

log(`${testbedName}: tokenizing the held-out retain text and counting the retain corpus`);
const base = await EngineScoringModel.open(files.base, { threads, name: "base" });
const block = Math.min(values.block === undefined ? base.contextLength : positiveInteger("block", values.block), base.contextLength);
const textOf = tokenTexts(base);
const sample = heldOutSample(base, readDocuments(files.heldOutRetain), block, textOf);
if (sample.texts.length === 0) throw new Error(`no scorable held-out retain text in ${files.heldOutRetain}`);
const vocabulary = corpusVocabulary(corpusCounts(base, readDocuments(files.retain), textOf));
let baseScores: Float32Array;
try {
  baseScores = await score(base, sample);
} finally {
  await base.dispose();
}
const goldScores = await scoreFile(files.gold, "gold", sample);

const report = {
  benchmark: "whp-diagnosis",
  machine: machineInfo(threads),
  testbed: { name: testbedName, dir: testbedDir, base: files.base, gold: files.gold, held_out_retain: files.heldOutRetain, retain: files.retain },
  sample: { documents: sample.documents, tokens: sample.texts.length, block, max_tokens: maxTokens },
  kinds: {
    frequent_top: vocabulary.frequentTop,
    rare_tail_share: vocabulary.rareTailShare,
    frequent_tokens: [...vocabulary.frequent],
  },
  base: { ppl_retain_heldout: perplexityOf(baseScores), ppl_retain_sweep: sweep?.reference?.base?.ppl_retain ?? null },
  gold: { ppl_retain_sweep: sweep?.reference?.gold?.ppl_retain ?? null, ...diagnose(sample, vocabulary, { base: baseScores, after: goldScores }) },
  per_variant: {} as Record<string, unknown>,
  skipped: {} as Record<string, string>,
  contributions: contributions(sweep),
};
writeAtomically(values.out!, report);

for (const name of names) {
  const runDir = join(runsDir, name);
  const model = join(runDir, "unlearned.gguf");
  if (!existsSync(model)) {
    report.skipped[name] = existsSync(runDir) ? "no unlearned.gguf yet" : "no run folder";
    log(`${name}: skipped (${report.skipped[name]} in ${runDir})`);
    continue;
  }
  const after = await scoreFile(model, name, sample);
  report.per_variant[name] = {
    ppl_retain_sweep: sweep?.variants[name]?.metrics.ppl_retain ?? null,
    ...diagnose(sample, vocabulary, { base: baseScores, after, gold: goldScores }),
    labels: readLabelStats(runDir),
  };
  writeAtomically(values.out!, report);
}
writeAtomically(values.out!, report);
log(`wrote ${values.out}`);
