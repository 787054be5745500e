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
import { batchedTokenLogprobs, scoreContinuations, splitIntoWindows } from "./scoring.js";
import { findTask, loadTask, TASKS, type LoadedTask, type TaskSpec } from "./tasks.js";

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
  if (specs.length === 0 && !opts.heldOutTexts) {
    throw new InputError("the utility suite got no benchmarks and no held-out text", "name at least one benchmark");
  }
  if (opts.heldOutTexts && opts.heldOutTexts.length === 0) {
    throw new InputError("the held-out text set is empty", "supply at least one held-out passage or leave it out");
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new InputError(`limit ${opts.limit} is not a positive integer`, "pass a positive document count");
  }
  const loaded: LoadedTask[] = [];
  for (const spec of specs) loaded.push(await loadTask(spec, opts.dataDir, opts.limit));
  if (specs.length > 0 && loaded.every((t) => t.docs.length === 0)) {
    throw new InputError(`no usable benchmark document in ${opts.dataDir}`, "check the benchmark files");
  }

  const warnings = new WarningLog();
  const metrics: Record<string, number | null> = {};
  const details: UtilityDetails = { tasks: {} };
  const total = loaded.reduce((n, t) => n + t.docs.reduce((m, d) => m + d.requests.length, 0), 0);
  let offset = 0;

  for (const task of loaded) {
    throwIfCancelled(opts.signal, "the utility suite");
    const { spec, docs, problems } = task;
    if (problems.length > 0) {
      warnings.add(`${spec.file}: ${problems.length} unusable line(s) skipped`, describeProblems(task.path, problems, 10));
    }
    const report: TaskReport = { file: spec.file, scored: 0, skipped: 0, malformedLines: problems.map((p) => p.line) };
    details.tasks[spec.name] = report;
    for (const m of spec.metrics) {
      metrics[`${spec.name}/${m}`] = null;
      if (m !== "ppl") metrics[`${spec.name}/${m}_stderr`] = null;
    }
    if (docs.length === 0) {
      warnings.add(`${spec.name}: no usable document, metrics not available`, task.path);
      continue;
    }
    const requests = docs.flatMap((d) => d.requests);
    const owner = docs.flatMap((d) => d.requests.map(() => d.line));
    const base = offset;
    const scores = await scoreContinuations(model, requests, {
      batchSize: opts.batchSize,
      warnings,
      describe: (i) => `${spec.file} line ${owner[i]}`,
      signal: opts.signal,
      onProgress: (done) => opts.onProgress?.(base + done, total),
    });
    offset += requests.length;

    let cursor = 0;
    const acc: number[] = [];
    const accNorm: number[] = [];
    const lastWordLogprobs: number[] = [];
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
        lastWordLogprobs.push(lls[0]);
        if (spec.metrics.includes("acc")) {
          throwIfCancelled(opts.signal, "the utility suite");
          const { context, continuation } = doc.requests[0];
          const maxTokens = docScores[0]!.tokens;
          const prompt = fitPrompt(model, context, maxTokens, warnings, `${spec.file} line ${doc.line}`);
          const output = await model.generate(prompt, { maxTokens, temperature: 0 });
          acc.push(output.trim() === continuation.trim() ? 1 : 0);
        }
      } else {
        const outcome = scoreChoices({ logLikelihoods: lls, choiceLengths: doc.choiceLengths, gold: doc.gold });
        acc.push(outcome.acc);
        accNorm.push(outcome.accNorm);
      }
    }
    if (report.skipped > 0) warnings.add(`${spec.name}: documents with an unscorable candidate left out`, `${report.skipped} of ${docs.length}`);
    if (report.scored === 0) continue;
    for (const m of spec.metrics) {
      if (m === "ppl") metrics[`${spec.name}/ppl`] = Math.exp(-mean(lastWordLogprobs));
      const values = m === "acc" ? acc : m === "acc_norm" ? accNorm : undefined;
      if (values) {
        metrics[`${spec.name}/${m}`] = mean(values);
        metrics[`${spec.name}/${m}_stderr`] = values.length > 1 ? standardError(values) : null;
      }
    }
  }

  if (opts.heldOutTexts) {
    const windows: number[][] = [];
    let bytes = 0;
    for (const text of opts.heldOutTexts) {
      windows.push(...splitIntoWindows(model.tokenize(text, { addBos: true }), model.contextLength));
      bytes += Buffer.byteLength(text, "utf8");
    }
    const totals = sumLogprobs(await batchedTokenLogprobs(model, windows, { batchSize: opts.batchSize, signal: opts.signal }));
    details.heldOut = { texts: opts.heldOutTexts.length, tokens: totals.tokens };
    if (totals.tokens === 0) {
      warnings.add("held-out texts too short to score", `${opts.heldOutTexts.length} text(s)`);
      metrics.perplexity = null;
      metrics.bits_per_byte = null;
    } else {
      metrics.perplexity = perplexity(totals);
      metrics.bits_per_byte = bitsPerByte(totals, bytes);
    }
  }

  return { suite: "utility", model: model.name, metrics, details, warnings: warnings.list() };
}
