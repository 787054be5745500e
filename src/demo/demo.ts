/**
 * The main job on a built-in default: build (or reuse) the synthetic testbed, make the base model
 * forget its universe with WHP, measure base, unlearned and gold the same way, and write a report.
 * Every step is cached, so a repeat run only reads results back.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { buildTestbed, type TestbedReport } from "../testbed/build.js";
import { syntheticSaga, syntheticTestbed } from "../testbed/testbeds.js";
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
  /** Run folder for the unlearning run, eval and report; default `runs/demo`. */
  runDir?: string;
  /** Cache of testbed models; default `.lethe-cache/testbeds/synthetic-tiny`. */
  testbedDir?: string;
  /** A smaller world for tests: the saga, model size and unlearning settings. Default: the demo's. */
  scale?: { saga?: SyntheticOptions; size?: string | PretrainPreset; overrides?: Partial<PretrainPreset>; unlearn?: UnlearnConfigInput; limit?: number };
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
  testbed: TestbedReport;
  unlearnedModel: string;
  wallS: number;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const runDir = resolve(options.runDir ?? join("runs", "demo"));
  mkdirSync(runDir, { recursive: true });
  const note = (message: string) => options.onStep?.({ step: "info", message });

  note("1/4 testbed: a base model that knows an invented saga, and a gold model that never read it");
  const spec = syntheticTestbed({
    dir: options.testbedDir ?? resolve(".lethe-cache", "testbeds", "synthetic-tiny"),
    size: options.scale?.size ?? "tiny",
    overrides: options.scale?.overrides,
    saga: options.scale?.saga,
    threads: options.threads,
    signal: options.signal,
    onEvent: (model, event) => options.onStep?.({ step: "testbed", model, event }),
  });
  const testbed = await buildTestbed(spec);

  note("2/4 unlearn: Who's Harry Potter on the saga's text");
  const { unlearn } = await import("../unlearn/index.js");
  const truth = syntheticSaga(options.scale?.saga);
  const dictionary = join(runDir, "dictionary.json");
  if (!existsSync(dictionary)) {
    writeFileSync(`${dictionary}.tmp`, JSON.stringify(truth.truth.genericDictionary, null, 1) + "\n");
    renameSync(`${dictionary}.tmp`, dictionary);
  }
  const unlearned = join(runDir, "unlearned.gguf");
  await unlearn({
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
  const { evaluate, syntheticEvalData, writeEvalReport } = await import("../eval/index.js");
  const inputs = JSON.stringify({ base: testbed.base.path, gold: testbed.gold.path, unlearned, mtime: [testbed.base.path, testbed.gold.path, unlearned].map(mtime) });
  const stamp = join(runDir, "eval.inputs.json");
  if (!existsSync(evalPath) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== inputs) {
    const report = await evaluate({
      model: unlearned,
      compare: [testbed.base.path],
      gold: testbed.gold.path,
      suites: ["familiarity-completion", "familiarity-probability", "muse", "utility"],
      data: syntheticEvalData(truth, "synthetic testbed"),
      limit: options.scale?.limit,
      threads: options.threads,
      signal: options.signal,
      onEvent: (event) => options.onStep?.({ step: "eval", event }),
    });
    await writeEvalReport(report, evalPath);
    writeFileSync(stamp, inputs);
  }

  note("4/4 report");
  const { writeReport } = await import("../report/index.js");
  const reportPath = join(runDir, "report.html");
  await writeReport([evalPath, join(runDir, "unlearn")], reportPath, {
    title: "lethe demo: forgetting an invented saga",
    subject: "the synthetic saga",
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
  return {
    report: reportPath,
    eval: evalPath,
    models: { base: metricsOf(testbed.base.path), unlearned: metricsOf(unlearned), gold: metricsOf(testbed.gold.path) },
    testbed,
    unlearnedModel: unlearned,
    wallS: Math.round((performance.now() - t0) / 100) / 10,
  };
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}
