/**
 * The main job on a built-in default: build (or reuse) a testbed, make the base model forget its
 * universe with WHP, measure base, unlearned and gold the same way, and write a report. The default
 * testbed is the synthetic saga; with a data folder it is the Oz books, measured with lethe's
 * hand-written Oz evaluation set (data/oz). Every step is cached, so a repeat run only reads
 * results back.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { EngineError } from "../errors.js";
import type { EvalData } from "../eval/eval-data.js";
import { buildTestbed, type TestbedReport, type TestbedSpec } from "../testbed/build.js";
import { ozTestbed, syntheticSaga, syntheticTestbed } from "../testbed/testbeds.js";
import { packageRoot } from "../util/package-root.js";
import type { PretrainEvent, PretrainPreset } from "../testbed/pretrain/index.js";
import type { SyntheticOptions } from "../testbed/synthetic/index.js";
import type { UnlearnConfigInput } from "../unlearn/index.js";

export const DEMO_METRICS = ["familiarity", "probability", "verbmem", "knowmem_forget", "knowmem_retain", "ppl_retain"] as const;
export type DemoMetric = (typeof DEMO_METRICS)[number];
export type DemoRole = "base" | "unlearned" | "gold";

/** Where each demo metric comes from in the eval report (`suite/metric`). */
const SOURCES: Record<DemoMetric, string> = {
  familiarity: "familiarity-completion/familiarity",
  probability: "familiarity-probability/familiarity_probability",
  verbmem: "muse/verbmem_f",
  knowmem_forget: "muse/knowmem_f",
  knowmem_retain: "muse/knowmem_r",
  ppl_retain: "utility/perplexity",
};

export interface DemoOptions {
  /** Run folder for the unlearning run, eval and report; default `runs/demo` (`runs/demo-oz` with `data`). */
  runDir?: string;
  /** Cache of testbed models; default `.lethe-cache/testbeds/synthetic-tiny` (`oz-small` with `data`). */
  testbedDir?: string;
  /** The shared data folder (`forget/oz`, `retain/`): run on the Oz testbed instead of the saga. */
  data?: string;
  /** A smaller world for tests: the saga, model size and unlearning settings. Default: the demo's. */
  scale?: {
    saga?: SyntheticOptions;
    size?: string | PretrainPreset;
    overrides?: Partial<PretrainPreset>;
    unlearn?: UnlearnConfigInput;
    limit?: number;
    /** Steps of the relearning probe (default 50). */
    relearnSteps?: number;
  };
  threads?: number;
  signal?: AbortSignal;
  /** Progress of the long steps, for bars. */
  onStep?: (step: DemoStep) => void;
}

export type DemoStep =
  | { step: "testbed"; model: "base" | "gold"; event: PretrainEvent }
  | { step: "unlearn"; event: unknown }
  | { step: "eval"; event: unknown }
  | { step: "info"; message: string };

export interface DemoResult {
  report: string;
  eval: string;
  models: Record<DemoRole, Record<DemoMetric, number | null>>;
  /** Familiarity after relearning on a slice of the forget text (50 steps by default), per model. */
  relearning: Record<DemoRole, { probability_after: number | null; familiarity_after: number | null }>;
  /** Wall seconds of each stage as it first ran (a cached stage keeps its original time). */
  stagesS: Record<string, number | null>;
  testbed: TestbedReport;
  unlearnedModel: string;
  wallS: number;
}

/** Steps of the relearning probe the demo runs on every model. */
const RELEARN_STEPS = 50;

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const runDir = resolve(options.runDir ?? join("runs", options.data === undefined ? "demo" : "demo-oz"));
  mkdirSync(runDir, { recursive: true });
  const note = (message: string) => options.onStep?.({ step: "info", message });

  const world = demoWorld(options);
  note(`1/4 testbed: a base model that knows ${world.subject}, and a gold model that never read it`);
  const testbed = await buildTestbed(world.spec);

  note(`2/4 unlearn: Who's Harry Potter on ${world.subject}`);
  const { unlearn } = await import("../unlearn/index.js");
  // Rewritten only when the world's dictionary changed, so the unlearning run's stages stay cached.
  const dictionary = join(runDir, "dictionary.json");
  const dictionaryText = world.dictionary();
  if (!existsSync(dictionary) || readFileSync(dictionary, "utf8") !== dictionaryText) {
    writeFileSync(`${dictionary}.tmp`, dictionaryText);
    renameSync(`${dictionary}.tmp`, dictionary);
  }
  const unlearned = join(runDir, "unlearned.gguf");
  const run = await unlearn({
    model: testbed.base.path,
    forget: [testbed.text.forget],
    retain: [testbed.text.retain],
    out: unlearned,
    runDir: join(runDir, "unlearn"),
    dictionary,
    method: "whp",
    config: options.scale?.unlearn,
    threads: options.threads,
    signal: options.signal,
    onEvent: (event) => options.onStep?.({ step: "unlearn", event }),
  });

  note("3/4 eval: base, unlearned and gold on the same yardsticks");
  const evalPath = join(runDir, "eval.json");
  const { evaluate, writeEvalReport } = await import("../eval/index.js");
  const inputs = JSON.stringify({ base: testbed.base.path, gold: testbed.gold.path, unlearned, mtime: [testbed.base.path, testbed.gold.path, unlearned].map(mtime) });
  const stamp = join(runDir, "eval.inputs.json");
  const evalSecondsFile = join(runDir, "eval.seconds");
  if (!existsSync(evalPath) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== inputs) {
    const evalStart = performance.now();
    const report = await evaluate({
      model: unlearned,
      compare: [testbed.base.path],
      gold: testbed.gold.path,
      suites: ["familiarity-completion", "familiarity-probability", "muse", "utility", "relearning"],
      data: await world.evalData(testbed),
      limit: options.scale?.limit,
      settings: { relearnSteps: options.scale?.relearnSteps ?? RELEARN_STEPS },
      threads: options.threads,
      signal: options.signal,
      onEvent: (event) => options.onStep?.({ step: "eval", event }),
    });
    // The demo's table needs all three models; one that crashed llama.cpp is a failure, not a gap.
    const [failed] = report.failed ?? [];
    if (failed) throw new EngineError(`the demo could not evaluate ${failed.name} (${failed.role}): ${failed.error}`, failed.fix);
    await writeEvalReport(report, evalPath);
    writeFileSync(evalSecondsFile, String(Math.round((performance.now() - evalStart) / 1000)));
    writeFileSync(stamp, inputs);
  }

  note("4/4 report");
  const { writeReport } = await import("../report/index.js");
  const reportPath = join(runDir, "report.html");
  await writeReport([evalPath, join(runDir, "unlearn")], reportPath, {
    title: `lethe demo: forgetting ${world.subject}`,
    subject: world.subject,
    // Eval names models by file name.
    roles: { base: "base.gguf", gold: "gold.gguf", unlearned: ["unlearned.gguf"] },
  });

  const evalReport = JSON.parse(readFileSync(evalPath, "utf8")) as { models: { path: string; results: { suite: string; metrics: Record<string, number | null> }[] }[] };
  const metricsOf = (path: string): Record<DemoMetric, number | null> => {
    const m = evalReport.models.find((x) => resolve(x.path) === resolve(path));
    const flat: Record<string, number | null> = {};
    for (const r of m?.results ?? []) for (const [k, v] of Object.entries(r.metrics)) flat[`${r.suite}/${k}`] = v;
    return Object.fromEntries(DEMO_METRICS.map((k) => [k, flat[SOURCES[k]] ?? null])) as Record<DemoMetric, number | null>;
  };
  const relearningOf = (path: string) => {
    const m = evalReport.models.find((x) => resolve(x.path) === resolve(path));
    const r = m?.results.find((x) => x.suite === "relearning")?.metrics ?? {};
    return { probability_after: r.familiarity_probability_after ?? null, familiarity_after: r.familiarity_after ?? null };
  };
  return {
    report: reportPath,
    eval: evalPath,
    models: { base: metricsOf(testbed.base.path), unlearned: metricsOf(unlearned), gold: metricsOf(testbed.gold.path) },
    relearning: { base: relearningOf(testbed.base.path), unlearned: relearningOf(unlearned), gold: relearningOf(testbed.gold.path) },
    stagesS: {
      testbed: testbed.wall_s,
      ...unlearnStageSeconds(join(runDir, "unlearn"), run.stages.map((st) => st.name)),
      eval: existsSync(evalSecondsFile) ? Number(readFileSync(evalSecondsFile, "utf8")) : null,
    },
    testbed,
    unlearnedModel: unlearned,
    wallS: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** The demo's world: the synthetic saga, or the Oz books when `options.data` is given. */
export function demoWorld(options: DemoOptions): DemoWorld {
  return options.data === undefined ? syntheticWorld(options) : ozWorld(options.data, options);
}

/** What the demo needs of a testbed besides its models: words, the dictionary and the eval data. */
export interface DemoWorld {
  spec: TestbedSpec;
  subject: string;
  /** The anchored-term dictionary, as the text of a JSON file. */
  dictionary(): string;
  evalData(testbed: TestbedReport): Promise<EvalData>;
}

function syntheticWorld(options: DemoOptions): DemoWorld {
  const truth = syntheticSaga(options.scale?.saga);
  return {
    spec: syntheticTestbed({
      dir: options.testbedDir ?? resolve(".lethe-cache", "testbeds", "synthetic-tiny"),
      size: options.scale?.size ?? "tiny",
      overrides: options.scale?.overrides,
      saga: options.scale?.saga,
      threads: options.threads,
      signal: options.signal,
      onEvent: (model, event) => options.onStep?.({ step: "testbed", model, event }),
    }),
    subject: "an invented saga",
    dictionary: () => JSON.stringify(truth.truth.genericDictionary, null, 1) + "\n",
    evalData: async () => (await import("../eval/index.js")).syntheticEvalData(truth, "synthetic testbed"),
  };
}

/** lethe's hand-written Oz evaluation set and anchored-term dictionary. */
export function ozEvalDir(): string {
  return join(packageRoot(), "data", "oz");
}

function ozWorld(data: string, options: DemoOptions): DemoWorld {
  const dir = ozEvalDir();
  return {
    spec: ozTestbed({
      data,
      dir: options.testbedDir ?? resolve(".lethe-cache", "testbeds", "oz-small"),
      size: options.scale?.size ?? "small",
      overrides: options.scale?.overrides,
      threads: options.threads,
      signal: options.signal,
      onEvent: (model, event) => options.onStep?.({ step: "testbed", model, event }),
    }),
    subject: "the Oz books",
    dictionary: () => readFileSync(join(dir, "dictionary.json"), "utf8"),
    evalData: async (testbed) => {
      const { assembleEvalData, loadPromptRecords } = await import("../eval/eval-data.js");
      const warn = (message: string) => options.onStep?.({ step: "info", message: `warning: ${message}` });
      // The testbed gives PrivLeak's members and non-members (passages of the same documents) and the
      // held-out text; lethe's hand-written Oz files give the prompts, questions and terms.
      const evalData = await assembleEvalData(
        {
          testbed: dirname(testbed.base.path),
          prompts: join(dir, "familiarity.jsonl"),
          qa: join(dir, "qa.jsonl"),
          terms: join(dir, "dictionary.json"),
        },
        warn,
      );
      evalData.probabilityPrompts = (await loadPromptRecords(join(dir, "probability.jsonl"), warn)).probability;
      return evalData;
    },
  };
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/**
 * Wall seconds of the stages `names` of an unlearning run, from its manifest (which also keeps
 * records of stages that earlier settings ran).
 */
function unlearnStageSeconds(runDir: string, names: readonly string[]): Record<string, number | null> {
  const path = join(runDir, "manifest.json");
  const manifest = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { stages?: { name: string; wallS?: number }[] }) : {};
  const wall = (name: string) => manifest.stages?.find((st) => st.name === name)?.wallS;
  return Object.fromEntries(names.map((name) => [name, wall(name) === undefined ? null : Math.round(wall(name)!)]));
}
