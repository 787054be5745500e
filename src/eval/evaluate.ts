/**
 * `evaluate`: measures a model, the models it is compared with and the gold model with the same
 * suites on the same data, and relates every forgetting metric to the gold model, the real target
 * of unlearning. The gold model is measured first so that PrivLeak of the others can use its AUC;
 * without a gold model the gold-relative numbers are null (not available), never 0.
 */
import { basename, dirname } from "node:path";

import { InputError, type LetheError } from "../errors.js";
import type { ProbeResult } from "../engine/probe.js";
import type { DisposableScoringModel, ScoringModel } from "./engine-port.js";
import type { EvalData } from "./eval-data.js";
import { limitEvalData } from "./eval-data.js";
import { runFamiliarityCompletion, type FamiliarityCompletionDetails } from "./familiarity-completion.js";
import { runFamiliarityProbability } from "./familiarity-probability.js";
import type { FamiliarityJudge } from "./judge/judge.js";
import { TermJudge } from "./judge/term-judge.js";
import { runMuse } from "./muse.js";
import {
  paraphraseCompletionPrompts,
  paraphraseProbabilityPrompts,
  pickContextPassage,
  withContext,
} from "./probes.js";
import type { CompletionPrompt, ProbabilityPrompt } from "./prompts.js";
import { relearn } from "./relearn.js";
import { throwIfCancelled, WarningLog, type SuiteResult } from "./result.js";
import { findTask } from "./tasks.js";
import { runUtility } from "./utility.js";
import { GOLD_RELATIVE_METRICS } from "./metric-registry.js";
import { DEFAULT_SUITES, SUITES, type SuiteName } from "./suite-names.js";

export { DEFAULT_SUITES, GOLD_RELATIVE_METRICS, SUITES, type SuiteName };

/** Why a model is in the evaluation (the report's roles, base/unlearned/gold, are ReportRole). */
export type EvalRole = "model" | "compare" | "gold";

/** Generation and probe settings; every model gets the same. */
export interface EvalSettings {
  /** Sampled familiarity completions per prompt besides the greedy one. */
  samples: number;
  temperature: number;
  seed: number;
  /** New tokens per familiarity completion. */
  maxTokens: number;
  /** New tokens for VerbMem; default min(128, half the smallest model context). */
  verbmemTokens?: number;
  knowmemTokens: number;
  /** Sequences per scoring call. */
  batchSize?: number;
  /** Relearning probe: optimizer steps, learning rate, blocks per step. */
  relearnSteps: number;
  relearnLr: number;
  relearnBatchSize: number;
}

/** The defaults of {@link EvalSettings}: the paper's greedy plus two samples at 0.7. */
export const DEFAULT_SETTINGS: EvalSettings = {
  samples: 2,
  temperature: 0.7,
  seed: 1,
  maxTokens: 48,
  knowmemTokens: 32,
  relearnSteps: 20,
  relearnLr: 3e-4,
  relearnBatchSize: 4,
};

/** Progress of an evaluation, for a CLI or a log. */
export type EvalEvent =
  | { type: "model"; model: string; role: EvalRole; path: string }
  | { type: "suite"; model: string; suite: SuiteName; status: "start" | "done" }
  | { type: "progress"; model: string; suite: SuiteName; phase: string; done: number; total: number };

/** Settings of {@link evaluate}. */
export interface EvaluateOptions {
  /** The model under evaluation (a GGUF path). */
  model: string;
  /** A LoRA adapter applied to `model` (not to the others): the model evaluated is base + adapter. */
  lora?: string;
  /** Other models measured the same way (the base model, other methods). */
  compare?: readonly string[];
  /** A model never trained on the forget corpus. */
  gold?: string;
  /** Default: {@link DEFAULT_SUITES} whose data is present. Named suites must have their data. */
  suites?: readonly SuiteName[];
  data: EvalData;
  /** Directory of utility benchmark JSONL files (`<data>/eval`). */
  benchmarkDir?: string;
  /** Benchmarks to run (default all). */
  tasks?: readonly string[];
  /** First N items of every prompt set, QA set and benchmark. */
  limit?: number;
  /** Familiarity judge; default the automatic term judge over `data.terms`. */
  judge?: FamiliarityJudge;
  /** Concurrent judge calls (raise for a remote LLM judge). */
  judgeConcurrency?: number;
  settings?: Partial<EvalSettings>;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (event: EvalEvent) => void;
  /** Opens a model file; default the llama.cpp engine. Tests substitute fakes. */
  openModel?: (path: string, name: string, role?: EvalRole) => Promise<DisposableScoringModel> | DisposableScoringModel;
  /**
   * With more than one model, checks each file in a child process before any work, so that a model
   * llama.cpp aborts on is reported in `failed` instead of ending the run; a typed error (a file
   * lethe's checks refuse) is thrown at once. Default: probeModelFile with the llama.cpp engine;
   * none when `openModel` is given.
   */
  probeModel?: (path: string) => Promise<ProbeResult>;
}

/** A model that could not be evaluated because it crashed llama.cpp; the others were measured. */
export interface FailedModel {
  name: string;
  path: string;
  role: EvalRole;
  /** The error's class name, e.g. "EngineError". */
  kind: string;
  error: string;
  fix: string;
}

/** One model's results. */
export interface ModelEvaluation {
  name: string;
  path: string;
  /** The LoRA adapter applied to `path`, when one was. */
  lora?: string;
  role: EvalRole;
  results: SuiteResult[];
  /** Forgetting metrics minus the gold model's (0 is ideal); null without a gold model. */
  vsGold: Record<string, number | null>;
}

/** What `evaluate` returns and `lethe eval` writes as JSON. */
export interface EvalReport {
  format: "lethe-eval";
  version: 1;
  createdAt: string;
  source: string;
  suites: SuiteName[];
  settings: EvalSettings;
  limit: number | null;
  judge: string | null;
  /** Name of the gold model, or null when none was given. */
  gold: string | null;
  /** Items each set held after `limit`. */
  counts: Record<string, number>;
  models: ModelEvaluation[];
  /** Models left out because they crashed llama.cpp when probed (absent or empty when none did). */
  failed?: FailedModel[];
  warnings: string[];
}


/** A model's metrics flattened to `suite/metric` keys. */
export function flatMetrics(results: readonly SuiteResult[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.metrics)) out[`${r.suite}/${k}`] = v;
  return out;
}

/**
 * `model − gold` for each {@link GOLD_RELATIVE_METRICS} entry both have; null where either value
 * is missing, and null throughout when there is no gold model (never 0, which would read as
 * "matches gold").
 */
export function relativeToGold(
  model: Record<string, number | null>,
  gold: Record<string, number | null> | undefined,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const key of GOLD_RELATIVE_METRICS) {
    if (!(key in model)) continue;
    const a = model[key];
    const b = gold?.[key];
    out[key] = a === null || a === undefined || b === null || b === undefined ? null : a - b;
  }
  return out;
}

/** Which data a suite needs, as a reason it cannot run, or undefined when it can. */
export function missingData(suite: SuiteName, data: EvalData, opts: { benchmarkDir?: string; judge?: FamiliarityJudge }): string | undefined {
  const prompts = (data.completionPrompts?.length ?? 0) > 0 || (data.probabilityPrompts?.length ?? 0) > 0;
  const judged = opts.judge !== undefined || (data.terms?.length ?? 0) > 0;
  switch (suite) {
    case "familiarity-completion":
      if (!data.completionPrompts) return "no familiarity prompts (give --prompts, --testbed, or --forget with --terms)";
      if (!judged) return "no judge terms (give --terms or --testbed, or an LLM judge)";
      return undefined;
    case "familiarity-probability":
      return data.probabilityPrompts ? undefined : "no prompts with targets (give --prompts with \"targets\", or --testbed)";
    case "muse":
      return data.verbatim || data.forgetQa || data.retainQa || (data.forgetTexts && data.holdoutTexts)
        ? undefined
        : "no VerbMem items, QA pairs or forget/holdout texts (give --forget, --qa, --holdout or --testbed)";
    case "utility":
      return opts.benchmarkDir || data.retainTexts ? undefined : "no benchmark directory or held-out retain text (give --data or --retain)";
    case "in-context":
      if (!prompts) return "no familiarity prompts";
      return data.contextPassages && data.contextPassages.length > 0 ? undefined : "no forget text to put in context (give --forget or --testbed)";
    case "paraphrase":
      return prompts || data.paraphrases ? undefined : "no familiarity prompts to reword";
    case "relearning":
      if (!prompts) return "no familiarity prompts to re-measure";
      return data.relearnTexts && data.relearnTexts.length > 0 ? undefined : "no forget text to relearn from (give --forget or --testbed)";
  }
}

/** Unique display names: file names, with the parent folder added where two files share one. */
export function modelNames(paths: readonly string[]): string[] {
  const base = paths.map((p) => basename(p));
  return paths.map((p, i) => {
    const clash = base.some((b, j) => j !== i && b === base[i]);
    if (!clash) return base[i];
    const withDir = `${basename(dirname(p))}/${base[i]}`;
    const stillClashes = paths.some((q, j) => j !== i && `${basename(dirname(q))}/${basename(q)}` === withDir);
    return stillClashes ? `${withDir}#${i + 1}` : withDir;
  });
}

async function probeEngineModel(path: string, signal: AbortSignal | undefined): Promise<ProbeResult> {
  const { probeModelFile } = await import("../engine/probe.js");
  return probeModelFile(path, { signal });
}

async function openEngineModel(path: string, name: string, threads: number | undefined, lora?: string): Promise<DisposableScoringModel> {
  const { EngineScoringModel } = await import("./engine-model.js");
  return EngineScoringModel.open(path, { threads, name, ...(lora ? { lora } : {}) });
}

/** Headline familiarity of a completion and a probability run, under `prefix` keys. */
function familiarityMetrics(completion: SuiteResult | undefined, probability: SuiteResult | undefined, suffix = ""): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (completion) {
    out[`familiarity${suffix}`] = completion.metrics.familiarity;
    out[`share_ge2${suffix}`] = completion.metrics.share_ge2;
  }
  if (probability) out[`familiarity_probability${suffix}`] = probability.metrics.familiarity_probability;
  return out;
}

/**
 * Runs the suites on every model and relates them to the gold model. Models are loaded one at a
 * time and freed after their suites. Throws {@link InputError} before loading anything when a
 * named suite lacks its data, or a prompt set is empty.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvalReport> {
  const settings: EvalSettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const data = limitEvalData(options.data, options.limit);
  const warnings = new WarningLog();
  checkSetsNotEmpty(data);
  let judge = options.judge;
  if (!judge && data.terms) judge = new TermJudge(data.terms);
  const suites = chooseSuites(options, data, judge, warnings);
  if (suites.includes("utility") && options.benchmarkDir) for (const t of options.tasks ?? []) findTask(t);

  const lineup = modelLineup(options);
  const failed = await probeModels(lineup.paths, lineup.names, lineup.roles, options);
  const evaluations = await measureModels({ options, data, settings, judge, suites, warnings }, lineup, failed);
  const gold = relateToGold(evaluations, failed, warnings);

  // The report lists the model under evaluation first, then the comparisons, then gold.
  const order: Record<EvalRole, number> = { model: 0, compare: 1, gold: 2 };
  evaluations.sort((a, b) => order[a.role] - order[b.role]);
  return {
    format: "lethe-eval",
    version: 1,
    createdAt: new Date().toISOString(),
    source: data.source,
    suites,
    settings,
    limit: options.limit ?? null,
    judge: judge?.name ?? null,
    gold: gold?.name ?? null,
    counts: countItems(data),
    models: evaluations,
    failed,
    warnings: warnings.list(),
  };
}

/** What every model of one evaluation is measured with. */
interface EvalPlan {
  options: EvaluateOptions;
  data: EvalData;
  /** Shared by all models; the first model loaded fixes `verbmemTokens` when it is unset. */
  settings: EvalSettings;
  judge: FamiliarityJudge | undefined;
  suites: SuiteName[];
  warnings: WarningLog;
}

/** The models in the order they are measured, with their display names and roles. */
interface Lineup {
  paths: string[];
  names: string[];
  roles: EvalRole[];
}

function checkSetsNotEmpty(data: EvalData): void {
  for (const [name, items] of Object.entries({
    "familiarity prompt": data.completionPrompts,
    "familiarity-probability prompt": data.probabilityPrompts,
    "VerbMem": data.verbatim,
    "forget QA": data.forgetQa,
    "retain QA": data.retainQa,
    "judge term": data.terms,
  })) {
    if (items && items.length === 0) throw new InputError(`the ${name} set is empty`, `supply at least one ${name} item or leave the set out`);
  }
}

/**
 * The suites to run, in {@link SUITES} order. Named suites must have their data; without names,
 * the default suites that lack data are skipped with a warning.
 */
function chooseSuites(options: EvaluateOptions, data: EvalData, judge: FamiliarityJudge | undefined, warnings: WarningLog): SuiteName[] {
  if (options.suites) {
    const suites = SUITES.filter((s) => options.suites!.includes(s));
    if (suites.length === 0) throw new InputError("no suite to run", `name one or more of: ${SUITES.join(", ")}`);
    for (const s of suites) {
      const reason = missingData(s, data, { benchmarkDir: options.benchmarkDir, judge });
      if (reason) throw new InputError(`suite ${s} cannot run: ${reason}`, "supply its data or leave the suite out");
    }
    return suites;
  }
  const suites = DEFAULT_SUITES.filter((s) => {
    const reason = missingData(s, data, { benchmarkDir: options.benchmarkDir, judge });
    if (reason) warnings.add("suite skipped", `${s}: ${reason}`);
    return !reason;
  });
  if (suites.length === 0) throw new InputError("none of the default suites has data to run on", "give --testbed, --prompts, --qa or --forget");
  return suites;
}

/** Gold first, so that PrivLeak of the others can use its AUC; then the model, then the comparisons. */
function modelLineup(options: EvaluateOptions): Lineup {
  const paths = [...(options.gold ? [options.gold] : []), options.model, ...(options.compare ?? [])];
  const roles: EvalRole[] = [...(options.gold ? ["gold" as const] : []), "model", ...(options.compare ?? []).map(() => "compare" as const)];
  return { paths, names: modelNames(paths), roles };
}

/** The LoRA adapter goes on the model under evaluation only. */
function loraOf(options: EvaluateOptions, role: EvalRole): string | undefined {
  return role === "model" ? options.lora : undefined;
}

/** Loads each model that passed its probe in turn, runs the suites on it and frees it. */
async function measureModels(plan: EvalPlan, lineup: Lineup, failed: readonly FailedModel[]): Promise<ModelEvaluation[]> {
  const { options } = plan;
  const open = options.openModel ?? ((path: string, name: string, role: EvalRole) => openEngineModel(path, name, options.threads, loraOf(options, role)));
  const evaluations: ModelEvaluation[] = [];
  let goldAuc: number | undefined;
  for (const [i, path] of lineup.paths.entries()) {
    throwIfCancelled(options.signal, "the evaluation");
    const name = lineup.names[i];
    const role = lineup.roles[i];
    if (failed.some((f) => f.path === path && f.role === role)) continue;
    options.onEvent?.({ type: "model", model: name, role, path });
    const model = await open(path, name, role);
    const results = await runSuites(plan, { model, name, path, role, goldAuc });
    if (role === "gold") goldAuc = goldMiaAuc(plan, results);
    const lora = loraOf(options, role);
    evaluations.push({ name, path, ...(lora ? { lora } : {}), role, results, vsGold: {} });
  }
  return evaluations;
}

/** Runs every suite on one loaded model, then frees it. */
async function runSuites(
  plan: EvalPlan,
  loaded: { model: DisposableScoringModel; name: string; path: string; role: EvalRole; goldAuc: number | undefined },
): Promise<SuiteResult[]> {
  const { options, settings, suites } = plan;
  const { model, name, path, role, goldAuc } = loaded;
  const results: SuiteResult[] = [];
  try {
    if (settings.verbmemTokens === undefined && suites.includes("muse")) {
      // Same VerbMem length for every model: decided by the first (gold or model) one loaded.
      settings.verbmemTokens = Math.min(128, Math.floor(model.contextLength / 2));
    }
    const ctx: SuiteContext = { model, name, path, lora: loraOf(options, role), role, data: plan.data, settings, judge: plan.judge, options, results, goldAuc };
    for (const suite of suites) {
      options.onEvent?.({ type: "suite", model: name, suite, status: "start" });
      results.push(await runSuite(suite, ctx));
      options.onEvent?.({ type: "suite", model: name, suite, status: "done" });
    }
  } finally {
    await model.dispose();
  }
  return results;
}

/** The gold model's MIA AUC, which PrivLeak of the others is relative to; undefined when unusable. */
function goldMiaAuc(plan: EvalPlan, results: readonly SuiteResult[]): number | undefined {
  const auc = results.find((r) => r.suite === "muse")?.metrics.mia_auc;
  if (typeof auc === "number" && auc > 0) return auc;
  if (plan.suites.includes("muse")) plan.warnings.add("PrivLeak not available", "the gold model has no usable MIA AUC");
  return undefined;
}

/** Fills every model's vsGold and returns the gold model's evaluation, warning when there is none. */
function relateToGold(evaluations: ModelEvaluation[], failed: readonly FailedModel[], warnings: WarningLog): ModelEvaluation | undefined {
  const gold = evaluations.find((e) => e.role === "gold");
  const failedGold = failed.find((f) => f.role === "gold");
  if (failedGold) warnings.add("no gold model", `the gold model ${failedGold.name} could not be evaluated, so metrics relative to gold (vsGold, PrivLeak) are not available`);
  else if (!gold) warnings.add("no gold model", "metrics relative to gold (vsGold, PrivLeak) are not available; give --gold");
  const goldMetrics = gold ? flatMetrics(gold.results) : undefined;
  for (const e of evaluations) e.vsGold = relativeToGold(flatMetrics(e.results), goldMetrics);
  return gold;
}

/**
 * Probes every model of a multi-model run before any work (see {@link EvaluateOptions.probeModel}).
 * A typed error is thrown at once, as an input problem; crashes are returned, and when every model
 * crashed the first crash is thrown, since there is nothing left to measure.
 */
async function probeModels(paths: readonly string[], names: readonly string[], roles: readonly EvalRole[], options: EvaluateOptions): Promise<FailedModel[]> {
  const probe = options.probeModel ?? (options.openModel ? undefined : (path: string) => probeEngineModel(path, options.signal));
  if (!probe || paths.length < 2) return [];
  const failed: FailedModel[] = [];
  let firstCrash: LetheError | undefined;
  for (const [i, path] of paths.entries()) {
    throwIfCancelled(options.signal, "the evaluation");
    const result = await probe(path);
    if (result.ok) continue;
    if (!result.crashed) throw result.error;
    firstCrash ??= result.error;
    failed.push({ name: names[i], path, role: roles[i], kind: result.error.name, error: result.error.message, fix: result.error.fix });
  }
  if (failed.length === paths.length) throw firstCrash!;
  return failed;
}

function countItems(data: EvalData): Record<string, number> {
  const counts: Record<string, number> = {};
  const sets: Record<string, readonly unknown[] | undefined> = {
    completionPrompts: data.completionPrompts,
    probabilityPrompts: data.probabilityPrompts,
    terms: data.terms,
    verbatim: data.verbatim,
    forgetQa: data.forgetQa,
    retainQa: data.retainQa,
    forgetFewShot: data.forgetFewShot,
    retainFewShot: data.retainFewShot,
    forgetTexts: data.forgetTexts,
    holdoutTexts: data.holdoutTexts,
    retainTexts: data.retainTexts,
    relearnTexts: data.relearnTexts,
    contextPassages: data.contextPassages,
  };
  for (const [k, v] of Object.entries(sets)) if (v) counts[k] = v.length;
  return counts;
}

interface SuiteContext {
  model: DisposableScoringModel;
  name: string;
  path: string;
  lora: string | undefined;
  role: EvalRole;
  data: EvalData;
  settings: EvalSettings;
  judge: FamiliarityJudge | undefined;
  options: EvaluateOptions;
  /** This model's results so far (the relearning probe reuses its "before" numbers). */
  results: SuiteResult[];
  goldAuc: number | undefined;
}

function progress(ctx: SuiteContext, suite: SuiteName, phase: string) {
  return (done: number, total: number) => ctx.options.onEvent?.({ type: "progress", model: ctx.name, suite, phase, done, total });
}

/** Runs familiarity completion and/or probability on a prompt set (the probes' shared yardstick). */
async function measureFamiliarity(
  model: ScoringModel,
  prompts: { completion?: readonly CompletionPrompt[]; probability?: readonly ProbabilityPrompt[] },
  ctx: SuiteContext,
  suite: SuiteName,
): Promise<{ completion?: SuiteResult<FamiliarityCompletionDetails>; probability?: SuiteResult }> {
  const { settings, options } = ctx;
  const out: { completion?: SuiteResult<FamiliarityCompletionDetails>; probability?: SuiteResult } = {};
  if (prompts.completion && prompts.completion.length > 0 && ctx.judge) {
    out.completion = await runFamiliarityCompletion(model, prompts.completion, {
      judge: ctx.judge,
      maxTokens: settings.maxTokens,
      samples: settings.samples,
      temperature: settings.temperature,
      seed: settings.seed,
      judgeConcurrency: options.judgeConcurrency,
      signal: options.signal,
      onProgress: progress(ctx, suite, "completions"),
    });
  }
  if (prompts.probability && prompts.probability.length > 0) {
    out.probability = await runFamiliarityProbability(model, prompts.probability, {
      batchSize: settings.batchSize,
      // The five likeliest next tokens per prompt, for the report's before/after view.
      topNext: 5,
      signal: options.signal,
      onProgress: progress(ctx, suite, "probabilities"),
    });
  }
  return out;
}

/** A probe's result: the familiarity numbers plus both runs as details, their warnings merged. */
function probeResult(
  suite: SuiteName,
  model: string,
  metrics: Record<string, number | null>,
  runs: { completion?: SuiteResult; probability?: SuiteResult },
  extraWarnings: string[] = [],
  extraDetails: Record<string, unknown> = {},
): SuiteResult {
  return {
    suite,
    model,
    metrics,
    details: { ...extraDetails, completion: runs.completion?.details, probability: runs.probability?.details },
    warnings: [
      ...extraWarnings,
      ...(runs.completion?.warnings.map((w) => `completion: ${w}`) ?? []),
      ...(runs.probability?.warnings.map((w) => `probability: ${w}`) ?? []),
    ],
  };
}

async function runSuite(suite: SuiteName, ctx: SuiteContext): Promise<SuiteResult> {
  const { model, data, settings, options } = ctx;
  switch (suite) {
    case "familiarity-completion":
      return (await measureFamiliarity(model, { completion: data.completionPrompts }, ctx, suite)).completion!;
    case "familiarity-probability":
      return (await measureFamiliarity(model, { probability: data.probabilityPrompts }, ctx, suite)).probability!;
    case "muse":
      return runMuse(
        model,
        {
          verbatim: data.verbatim,
          forgetQa: data.forgetQa,
          retainQa: data.retainQa,
          forgetFewShot: data.forgetFewShot,
          retainFewShot: data.retainFewShot,
          forgetTexts: data.forgetTexts && data.holdoutTexts ? data.forgetTexts : undefined,
          holdoutTexts: data.forgetTexts && data.holdoutTexts ? data.holdoutTexts : undefined,
          goldAuc: ctx.role === "gold" ? "self" : ctx.goldAuc,
        },
        {
          verbmemTokens: settings.verbmemTokens,
          knowmemTokens: settings.knowmemTokens,
          batchSize: settings.batchSize,
          signal: options.signal,
          onProgress: progress(ctx, suite, "items"),
        },
      );
    case "utility":
      return runUtility(model, {
        dataDir: options.benchmarkDir ?? "",
        tasks: options.benchmarkDir ? options.tasks : [],
        limit: options.limit,
        batchSize: settings.batchSize,
        heldOutTexts: data.retainTexts,
        signal: options.signal,
        onProgress: progress(ctx, suite, "requests"),
      });
    case "in-context":
      return inContextProbe(ctx);
    case "paraphrase": {
      const prompts = data.paraphrases ?? {
        completion: paraphraseCompletionPrompts(data.completionPrompts ?? []),
        probability: paraphraseProbabilityPrompts(data.probabilityPrompts ?? []),
      };
      const runs = await measureFamiliarity(model, prompts, ctx, suite);
      return probeResult(suite, ctx.name, familiarityMetrics(runs.completion, runs.probability), runs, [], {
        rewording: data.paraphrases ? "user file" : "deterministic",
      });
    }
    case "relearning":
      return relearningProbe(ctx);
  }
}

/** Prepends a reminder passage of forget text (one that does not give the answer away) to every prompt. */
async function inContextProbe(ctx: SuiteContext): Promise<SuiteResult> {
  const passages = ctx.data.contextPassages ?? [];
  let giveaways = 0;
  const remind = (prompt: string, avoid: readonly string[], i: number) => {
    const { passage, clean } = pickContextPassage(passages, avoid, i);
    if (!clean) giveaways++;
    return withContext(passage, prompt);
  };
  const completion = ctx.data.completionPrompts?.map((p, i) => ({ prompt: remind(p.prompt, p.references.slice(0, 1), i), references: p.references }));
  const probability = ctx.data.probabilityPrompts?.map((p, i) => ({ prompt: remind(p.prompt, p.targets, i), targets: p.targets }));
  const runs = await measureFamiliarity(ctx.model, { completion, probability }, ctx, "in-context");
  const notes = giveaways > 0 ? [`${giveaways} prompt(s) got a reminder passage that contains their answer (no other passage avoided it)`] : [];
  return probeResult("in-context", ctx.name, familiarityMetrics(runs.completion, runs.probability), runs, notes);
}

/**
 * Fine-tunes a copy of the model on the relearning slice and re-measures familiarity on it. The
 * "before" numbers come from this model's own familiarity suites when they ran, else are measured.
 */
async function relearningProbe(ctx: SuiteContext): Promise<SuiteResult> {
  const { data, settings, options } = ctx;
  const prompts = { completion: data.completionPrompts, probability: data.probabilityPrompts };
  let before = {
    completion: ctx.results.find((r) => r.suite === "familiarity-completion"),
    probability: ctx.results.find((r) => r.suite === "familiarity-probability"),
  };
  const need = {
    completion: before.completion ? undefined : prompts.completion,
    probability: before.probability ? undefined : prompts.probability,
  };
  if (need.completion || need.probability) before = { ...before, ...(await measureFamiliarity(ctx.model, need, ctx, "relearning")) };

  const relearned = await relearn(ctx.path, data.relearnTexts ?? [], (text) => ctx.model.tokenize(text, { addBos: true }), {
    ...(ctx.lora ? { lora: ctx.lora } : {}),
    steps: settings.relearnSteps,
    lr: settings.relearnLr,
    batchSize: settings.relearnBatchSize,
    blockTokens: ctx.model.contextLength,
    threads: options.threads,
    signal: options.signal,
    onProgress: progress(ctx, "relearning", "training"),
  });
  try {
    const open = options.openModel ?? ((path: string, name: string) => openEngineModel(path, name, options.threads));
    const after = await open(relearned.path, `${ctx.name}+relearn`);
    let runs: Awaited<ReturnType<typeof measureFamiliarity>>;
    try {
      runs = await measureFamiliarity(after, prompts, ctx, "relearning");
    } finally {
      await after.dispose();
    }
    const metrics: Record<string, number | null> = {
      steps: relearned.steps,
      loss_start: relearned.lossStart,
      loss_end: relearned.lossEnd,
      ...familiarityMetrics(before.completion, before.probability, "_before"),
      ...familiarityMetrics(runs.completion, runs.probability, "_after"),
    };
    return probeResult("relearning", ctx.name, metrics, runs, [], { trainedTokens: relearned.tokens, lr: settings.relearnLr });
  } finally {
    relearned.cleanup();
  }
}
