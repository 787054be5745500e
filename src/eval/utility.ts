/**
 * The utility suite: what unlearning must not cost. It runs the general-ability benchmarks of the
 * "Who's Harry Potter?" retention table (and a few more) the way lm-evaluation-harness does, and
 * measures perplexity on held-out text.
 */
import { InputError } from "../errors.js";
import type { ScoringModel } from "./engine-port.js";
import { fitPrompt } from "./generation.js";
import { describeProblems } from "./jsonl.js";
import { scoreChoices } from "./metrics/choice.js";
import { bitsPerByte, perplexity, sumLogprobs } from "./metrics/perplexity.js";
import { mean, standardError } from "./metrics/stats.js";
import { throwIfCancelled, WarningLog, type SuiteResult, type SuiteRunOptions } from "./result.js";
import { batchedTokenLogprobs, scoreContinuations, splitIntoWindows, type ContinuationScore } from "./scoring.js";
import { findTask, loadTask, TASKS, type LoadedTask, type TaskDoc, type TaskSpec } from "./tasks.js";

/** Settings of the utility suite. */
export interface UtilityOptions extends SuiteRunOptions {
  /** Directory of the benchmark JSONL files (the project's `../shared/data/eval`). */
  dataDir: string;
  /** Benchmarks to run, by name from {@link TASKS} or as specs of your own (default: all of TASKS). */
  tasks?: readonly (string | TaskSpec)[];
  /** First N usable documents per benchmark. */
  limit?: number;
  batchSize?: number;
  /** Held-out passages for perplexity and bits per byte. */
  heldOutTexts?: readonly string[];
}

/** What happened to one benchmark. */
export interface TaskReport {
  file: string;
  /** Documents scored. */
  scored: number;
  /** Documents left out because a candidate could not be scored. */
  skipped: number;
  /** Line numbers of malformed lines. */
  malformedLines: number[];
}

/** Details of a utility run. */
export interface UtilityDetails {
  tasks: Record<string, TaskReport>;
  heldOut?: { texts: number; tokens: number };
}

/**
 * Utility benchmarks, lm-evaluation-harness style: every benchmark is a {@link TaskSpec} (data),
 * and this one harness loads it, turns documents into (context, continuation) requests, scores them
 * in batches through `tokenLogprobs` and reports `<task>/acc`, `<task>/acc_norm` (with standard
 * errors) or `<task>/ppl`; LAMBADA's `acc` is greedy exact match of the last word. Optionally the
 * token perplexity and bits per byte of held-out text. Malformed lines are reported by line number
 * and the rest still run; all files are read before any scoring so a wrong path fails fast.
 */
export async function runUtility(model: ScoringModel, opts: UtilityOptions): Promise<SuiteResult<UtilityDetails>> {
  const specs = (opts.tasks ?? TASKS).map((t) => (typeof t === "string" ? findTask(t) : t));
  checkOptions(specs, opts);
  const loaded = await loadTasks(specs, opts);
  const run: UtilityRun = {
    model,
    opts,
    warnings: new WarningLog(),
    metrics: {},
    details: { tasks: {} },
    total: loaded.reduce((n, t) => n + t.docs.reduce((m, d) => m + d.requests.length, 0), 0),
    offset: 0,
  };
  for (const task of loaded) await runTask(run, task);
  if (opts.heldOutTexts) await measureHeldOut(run, opts.heldOutTexts);
  return { suite: "utility", model: model.name, metrics: run.metrics, details: run.details, warnings: run.warnings.list() };
}

/** One utility run, which each benchmark adds its metrics, report and warnings to. */
interface UtilityRun {
  model: ScoringModel;
  opts: UtilityOptions;
  warnings: WarningLog;
  metrics: Record<string, number | null>;
  details: UtilityDetails;
  /** Requests of all benchmarks, and of those already scored, for progress over the whole run. */
  total: number;
  offset: number;
}

/** Per-document outcomes of one benchmark, from which its metrics are computed. */
interface TaskOutcomes {
  acc: number[];
  accNorm: number[];
  lastWordLogprobs: number[];
}

function checkOptions(specs: readonly TaskSpec[], opts: UtilityOptions): void {
  if (specs.length === 0 && !opts.heldOutTexts) {
    throw new InputError("the utility suite got no benchmarks and no held-out text", "name at least one benchmark");
  }
  if (opts.heldOutTexts && opts.heldOutTexts.length === 0) {
    throw new InputError("the held-out text set is empty", "supply at least one held-out passage or leave it out");
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new InputError(`limit ${opts.limit} is not a positive integer`, "pass a positive document count");
  }
}

async function loadTasks(specs: readonly TaskSpec[], opts: UtilityOptions): Promise<LoadedTask[]> {
  const loaded: LoadedTask[] = [];
  for (const spec of specs) loaded.push(await loadTask(spec, opts.dataDir, opts.limit));
  if (specs.length > 0 && loaded.every((t) => t.docs.length === 0)) {
    throw new InputError(`no usable benchmark document in ${opts.dataDir}`, "check the benchmark files");
  }
  return loaded;
}

/** Scores one benchmark; its metrics stay null (not available) when no document could be scored. */
async function runTask(run: UtilityRun, task: LoadedTask): Promise<void> {
  throwIfCancelled(run.opts.signal, "the utility suite");
  const { spec, docs, problems } = task;
  if (problems.length > 0) {
    run.warnings.add(`${spec.file}: ${problems.length} unusable line(s) skipped`, describeProblems(task.path, problems, 10));
  }
  const report: TaskReport = { file: spec.file, scored: 0, skipped: 0, malformedLines: problems.map((p) => p.line) };
  run.details.tasks[spec.name] = report;
  for (const m of spec.metrics) {
    run.metrics[`${spec.name}/${m}`] = null;
    if (m !== "ppl") run.metrics[`${spec.name}/${m}_stderr`] = null;
  }
  if (docs.length === 0) {
    run.warnings.add(`${spec.name}: no usable document, metrics not available`, task.path);
    return;
  }
  const scores = await scoreRequests(run, task);
  const outcomes = await docOutcomes(run, task, scores, report);
  if (report.skipped > 0) run.warnings.add(`${spec.name}: documents with an unscorable candidate left out`, `${report.skipped} of ${docs.length}`);
  if (report.scored === 0) return;
  recordMetrics(run.metrics, spec, outcomes);
}

/** The log-likelihood of every request of the benchmark, in document order. */
async function scoreRequests(run: UtilityRun, task: LoadedTask): Promise<(ContinuationScore | null)[]> {
  const { spec, docs } = task;
  const requests = docs.flatMap((d) => d.requests);
  const owner = docs.flatMap((d) => d.requests.map(() => d.line));
  const base = run.offset;
  const scores = await scoreContinuations(run.model, requests, {
    batchSize: run.opts.batchSize,
    warnings: run.warnings,
    describe: (i) => `${spec.file} line ${owner[i]}`,
    signal: run.opts.signal,
    onProgress: (done) => run.opts.onProgress?.(base + done, run.total),
  });
  run.offset += requests.length;
  return scores;
}

/** Each document's outcome; a document with a candidate that could not be scored is left out. */
async function docOutcomes(run: UtilityRun, task: LoadedTask, scores: readonly (ContinuationScore | null)[], report: TaskReport): Promise<TaskOutcomes> {
  const { spec, docs } = task;
  const outcomes: TaskOutcomes = { acc: [], accNorm: [], lastWordLogprobs: [] };
  let cursor = 0;
  for (const doc of docs) {
    const docScores = scores.slice(cursor, cursor + doc.requests.length);
    cursor += doc.requests.length;
    if (docScores.some((s) => s === null)) {
      report.skipped++;
      continue;
    }
    report.scored++;
    const lls = docScores.map((s) => s!.logprob);
    if (spec.format === "last-word") {
      outcomes.lastWordLogprobs.push(lls[0]);
      if (spec.metrics.includes("acc")) outcomes.acc.push(await greedyMatch(run, spec, doc, docScores[0]!.tokens));
    } else {
      const outcome = scoreChoices({ logLikelihoods: lls, choiceLengths: doc.choiceLengths, gold: doc.gold });
      outcomes.acc.push(outcome.acc);
      outcomes.accNorm.push(outcome.accNorm);
    }
  }
  return outcomes;
}

/** LAMBADA's accuracy: 1 when greedy decoding writes exactly the last word, else 0. */
async function greedyMatch(run: UtilityRun, spec: TaskSpec, doc: TaskDoc, maxTokens: number): Promise<number> {
  throwIfCancelled(run.opts.signal, "the utility suite");
  const { context, continuation } = doc.requests[0];
  const prompt = fitPrompt(run.model, context, maxTokens, run.warnings, `${spec.file} line ${doc.line}`);
  const output = await run.model.generate(prompt, { maxTokens, temperature: 0 });
  return output.trim() === continuation.trim() ? 1 : 0;
}

function recordMetrics(metrics: Record<string, number | null>, spec: TaskSpec, outcomes: TaskOutcomes): void {
  for (const m of spec.metrics) {
    if (m === "ppl") metrics[`${spec.name}/ppl`] = Math.exp(-mean(outcomes.lastWordLogprobs));
    const values = m === "acc" ? outcomes.acc : m === "acc_norm" ? outcomes.accNorm : undefined;
    if (values) {
      metrics[`${spec.name}/${m}`] = mean(values);
      metrics[`${spec.name}/${m}_stderr`] = values.length > 1 ? standardError(values) : null;
    }
  }
}

/** Token perplexity and bits per byte of the held-out texts, in windows of the model's context. */
async function measureHeldOut(run: UtilityRun, texts: readonly string[]): Promise<void> {
  const { model, opts, warnings, metrics } = run;
  const windows: number[][] = [];
  let bytes = 0;
  for (const text of texts) {
    windows.push(...splitIntoWindows(model.tokenize(text, { addBos: true }), model.contextLength));
    bytes += Buffer.byteLength(text, "utf8");
  }
  const totals = sumLogprobs(await batchedTokenLogprobs(model, windows, { batchSize: opts.batchSize, signal: opts.signal }));
  run.details.heldOut = { texts: texts.length, tokens: totals.tokens };
  if (totals.tokens === 0) {
    warnings.add("held-out texts too short to score", `${texts.length} text(s)`);
    metrics.perplexity = null;
    metrics.bits_per_byte = null;
  } else {
    metrics.perplexity = perplexity(totals);
    metrics.bits_per_byte = bitsPerByte(totals, bytes);
  }
}
