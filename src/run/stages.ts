/**
 * Resumable, idempotent multi-stage runs (`lethe unlearn`: reinforce -> anchors -> labels ->
 * finetune; `lethe pretrain`: one stage per checkpoint).
 *
 * A stage is skipped when its record is `done` with the same configuration hash and input
 * fingerprints, and all its outputs exist and still hold what the stage wrote (see
 * {@link verifyOutputs}). Otherwise it runs, and so does every stage after it, since later stages
 * consume earlier outputs. An unfinished or failed stage runs again.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { CancelledError, LetheError } from "../errors.js";
import { filesUnder, fingerprintFile, hashConfig, hashOutput, statSignature } from "./hash.js";
import type { OutputHash, StageRecord } from "./manifest.js";
import { checkOutputName, type RunDir } from "./run-dir.js";

/** What a stage reports about its work (losses, token counts); stored in the manifest as JSON. */
export type StageStats = Record<string, unknown>;

/** What a running stage gets. */
export interface StageContext {
  runDir: RunDir;
  /** Where to write one of this stage's declared outputs; it is committed when `run` returns. */
  tmpPath(output: string): string;
  /** Aborted when the user interrupts; stop at the next safe point by throwing. */
  signal: AbortSignal;
}

/** One step of a run. */
export interface Stage {
  /** Unique within the run. */
  name: string;
  /** Everything that affects the outputs besides the input files; hashed key-order independently. */
  config: unknown;
  /** Input files (or directories) by role, e.g. `{ model: "m.gguf" }`; fingerprinted. */
  inputs?: Readonly<Record<string, string>>;
  /** Output names relative to the run directory; each must be written to `ctx.tmpPath(name)`. */
  outputs: readonly string[];
  run(ctx: StageContext): Promise<StageStats | void>;
}

/** Progress of a run, for logging. */
export type StageEvent =
  | { type: "skip"; stage: string; index: number; count: number; record: StageRecord }
  | { type: "start"; stage: string; index: number; count: number; reason: string }
  | { type: "done"; stage: string; index: number; count: number; record: StageRecord }
  | { type: "fail"; stage: string; index: number; count: number; error: unknown };

/**
 * One log line for a stage event, e.g. `stage 2/4 anchors: skipped (up to date)`,
 * `stage 3/4 labels: running (its configuration changed)`, `stage 3/4 labels: done in 12.3 s`.
 */
export function describeStageEvent(e: StageEvent): string {
  const head = `stage ${e.index + 1}/${e.count} ${e.stage}:`;
  switch (e.type) {
    case "skip":
      return `${head} skipped (up to date)`;
    case "start":
      return `${head} running (${e.reason})`;
    case "done":
      return `${head} done in ${(e.record.wallS ?? 0).toFixed(1)} s`;
    case "fail":
      return `${head} failed: ${e.error instanceof Error ? e.error.message : String(e.error)}`;
  }
}

/** Options for {@link runStages}. */
export interface RunStagesOptions {
  signal?: AbortSignal;
  /** Re-run this stage and all after it even if they are up to date. */
  rerunFrom?: string;
  onEvent?(event: StageEvent): void;
}

/** What happened to one stage. */
export interface StageOutcome {
  name: string;
  /** False when it was skipped as up to date. */
  ran: boolean;
  /** Its `done` record (from this run or an earlier one), with its stats. */
  record: StageRecord;
}

/** What a stage is checked against to decide whether its record still holds. */
export interface StageFacts {
  configHash: string;
  inputHashes: Readonly<Record<string, string>>;
  /** Declared outputs not present under their final names. */
  missingOutputs: readonly string[];
}

/**
 * Why a stage must run, or undefined when its record is up to date. `forced` is the reason
 * imposed from outside (an earlier stage ran, or a forced re-run), which wins.
 */
export function staleReason(record: StageRecord | undefined, facts: StageFacts, forced?: string): string | undefined {
  if (forced !== undefined) return forced;
  if (record === undefined) return "not run yet";
  if (record.status === "running") return "the previous attempt did not finish";
  if (record.status === "failed") return `the previous attempt failed${record.error ? ` (${record.error})` : ""}`;
  if (record.configHash !== facts.configHash) return "its configuration changed";
  const roles = new Set([...Object.keys(record.inputHashes), ...Object.keys(facts.inputHashes)]);
  for (const role of [...roles].sort()) {
    const before = record.inputHashes[role];
    const now = facts.inputHashes[role];
    if (before === undefined) return `it has a new input "${role}"`;
    if (now === undefined) return `its input "${role}" was removed`;
    if (before !== now) return `its input "${role}" changed`;
  }
  if (facts.missingOutputs.length > 0) return `its output "${facts.missingOutputs[0]}" is missing`;
  return undefined;
}

function checkStages(stages: readonly Stage[], rerunFrom: string | undefined): void {
  const names = new Set<string>();
  const outputs = new Map<string, string>();
  for (const stage of stages) {
    if (stage.name === "" || names.has(stage.name)) {
      throw new LetheError(`stage name "${stage.name}" is empty or used twice`, "give every stage of a run its own name");
    }
    names.add(stage.name);
    for (const output of stage.outputs) {
      checkOutputName(output);
      const owner = outputs.get(output);
      if (owner !== undefined) {
        throw new LetheError(`stages "${owner}" and "${stage.name}" both declare output "${output}"`, "give each output a single stage");
      }
      outputs.set(output, stage.name);
    }
  }
  if (rerunFrom !== undefined && !names.has(rerunFrom)) {
    throw new LetheError(`there is no stage "${rerunFrom}" to re-run from`, `pick one of ${[...names].join(", ")}`);
  }
}

async function fingerprintInputs(inputs: Readonly<Record<string, string>> | undefined): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const [role, path] of Object.entries(inputs ?? {})) hashes[role] = await fingerprintFile(path);
  return hashes;
}

async function stageFacts(runDir: RunDir, stage: Stage): Promise<StageFacts> {
  return {
    configHash: hashConfig(stage.config),
    inputHashes: await fingerprintInputs(stage.inputs),
    missingOutputs: stage.outputs.filter((o) => !runDir.has(o)),
  };
}

/**
 * How far an output's modification time may lie past its stage's `finishedAt` and still count as
 * the stage's own write, for records without hashes: file systems round times (FAT to 2 s), and a
 * network file system's clock is not this machine's.
 */
const LEGACY_MTIME_SLACK_MS = 2000;

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const times = await Promise.all((await filesUnder(path)).map(async (f) => (await stat(join(path, f))).mtimeMs));
  return Math.max(0, ...times);
}

/**
 * Checks that the outputs of a `done` record, otherwise up to date, still hold what its stage wrote.
 * Returns why the stage must run again, or the record to trust.
 *
 * - An output whose file signature (size, mtime, ctime, inode: see `statSignature`) is the one
 *   recorded is trusted without reading it. A resume of a run with multi-GB models stays instant;
 *   the one write this misses is a same-size one within a clock tick of the stage's commit, which
 *   nothing but a process ignoring the run directory's lock could make.
 * - Otherwise it is hashed again (about 1.2 GB/s): another hash means it changed, and the stage runs
 *   again; the same hash (a `touch`, a copy of the run directory) records the new signature.
 * - A record without hashes (written by lethe before it kept them) is adopted when every output was
 *   last modified no later than the stage finished (with {@link LEGACY_MTIME_SLACK_MS}): its hashes
 *   are recorded and the stage is trusted. An output modified afterwards, as through the hard link
 *   older lethe published at `--out`, cannot be told apart from damage, so the stage runs again.
 *   Hashing alone could not help there (there is nothing to compare with), and re-running every old
 *   stage would throw away hours of finished work that nothing touched.
 */
export async function verifyOutputs(
  runDir: RunDir,
  record: StageRecord,
  outputs: readonly string[] = record.outputs,
): Promise<{ reason: string } | { record: StageRecord }> {
  const refreshed: Record<string, OutputHash> = {};
  for (const output of outputs) {
    const path = runDir.path(output);
    const known = record.outputHashes?.[output];
    if (known !== undefined) {
      if ((await statSignature(path)) === known.stat) continue;
      const now = await hashOutput(path);
      if (now.sha256 !== known.sha256) return { reason: `${path} changed since the stage finished` };
      refreshed[output] = now;
    } else if (record.outputHashes !== undefined) {
      return { reason: `its output "${output}" has no recorded hash` };
    } else {
      const finished = record.finishedAt !== undefined ? Date.parse(record.finishedAt) : NaN;
      if (Number.isNaN(finished)) return { reason: `${path} has no recorded hash or finish time to check it against` };
      const modified = await newestMtimeMs(path);
      if (modified > finished + LEGACY_MTIME_SLACK_MS) {
        return { reason: `${path} was modified after the stage finished, and this run directory predates output hashes` };
      }
      refreshed[output] = await hashOutput(path);
    }
  }
  if (Object.keys(refreshed).length === 0) return { record };
  const trusted: StageRecord = { ...record, outputHashes: { ...record.outputHashes, ...refreshed } };
  await runDir.putRecord(trusted);
  return { record: trusted };
}

/**
 * Why `stage` must run (see {@link staleReason}, then {@link verifyOutputs} for a record otherwise
 * up to date), or the record to trust.
 */
async function checkStage(runDir: RunDir, stage: Stage, forced?: string): Promise<{ reason: string; facts: StageFacts } | { record: StageRecord }> {
  const facts = await stageFacts(runDir, stage);
  const record = runDir.record(stage.name);
  const reason = staleReason(record, facts, forced);
  if (reason !== undefined || record === undefined) return { reason: reason ?? "not run yet", facts };
  const verified = await verifyOutputs(runDir, record, stage.outputs);
  return "reason" in verified ? { ...verified, facts } : verified;
}

/**
 * The names of the stages {@link runStages} would run now (the first stale one and every later
 * one), without running anything: a caller can check what only those stages need (an endpoint,
 * say) before the long work starts, and not for a run whose remaining stages do not need it.
 */
export async function pendingStages(runDir: RunDir, stages: readonly Stage[], rerunFrom?: string): Promise<string[]> {
  for (const [index, stage] of stages.entries()) {
    if (stage.name === rerunFrom || "reason" in (await checkStage(runDir, stage))) {
      return stages.slice(index).map((s) => s.name);
    }
  }
  return [];
}

/**
 * Runs `stages` in order in `runDir`, skipping the up-to-date ones (see the module comment).
 * Before a stage runs, its record and those of all later stages are dropped, then a `running`
 * record is saved; when it returns, its outputs are committed from their tmp paths, hashed, and the
 * record becomes `done` with its stats and output hashes. If it throws, its staged outputs are discarded, the record becomes
 * `failed`, and the error propagates. Returns one outcome per stage.
 */
export async function runStages(runDir: RunDir, stages: readonly Stage[], opts: RunStagesOptions = {}): Promise<StageOutcome[]> {
  checkStages(stages, opts.rerunFrom);
  const signal = opts.signal ?? new AbortController().signal;
  const outcomes: StageOutcome[] = [];
  let forced: string | undefined;
  for (const [index, stage] of stages.entries()) {
    const count = stages.length;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError(`stage "${stage.name}"`);
    if (stage.name === opts.rerunFrom) forced ??= "a re-run was requested";
    const checked = await checkStage(runDir, stage, forced);
    if ("record" in checked) {
      const { record } = checked;
      opts.onEvent?.({ type: "skip", stage: stage.name, index, count, record });
      outcomes.push({ name: stage.name, ran: false, record });
      continue;
    }
    const { reason, facts } = checked;
    const { configHash, inputHashes } = facts;
    forced ??= `the earlier stage "${stage.name}" ran again`;
    await runDir.dropRecords(stages.slice(index).map((s) => s.name));
    opts.onEvent?.({ type: "start", stage: stage.name, index, count, reason });

    const t0 = performance.now();
    const running: StageRecord = {
      name: stage.name,
      status: "running",
      configHash,
      inputHashes,
      outputs: [...stage.outputs],
      startedAt: new Date().toISOString(),
    };
    await runDir.putRecord(running);
    for (const output of stage.outputs) await runDir.discard(output);
    const tmpPath = (output: string) => {
      if (!stage.outputs.includes(output)) {
        throw new LetheError(`stage "${stage.name}" writes "${output}", which it does not declare`, "add it to the stage's outputs");
      }
      return runDir.tmpPath(output);
    };
    let stats: StageStats | void;
    const outputHashes: Record<string, OutputHash> = {};
    try {
      stats = await stage.run({ runDir, tmpPath, signal });
      for (const output of stage.outputs) await runDir.commit(output);
      // Hashed once committed: the signature recorded is that of the file under its final name.
      for (const output of stage.outputs) outputHashes[output] = await hashOutput(runDir.path(output));
    } catch (error) {
      for (const output of stage.outputs) await runDir.discard(output);
      await runDir.putRecord({
        ...running,
        status: "failed",
        finishedAt: new Date().toISOString(),
        wallS: Math.round(performance.now() - t0) / 1000,
        error: error instanceof Error ? error.message : String(error),
      });
      opts.onEvent?.({ type: "fail", stage: stage.name, index, count, error });
      throw error;
    }
    const done: StageRecord = {
      ...running,
      outputHashes,
      status: "done",
      finishedAt: new Date().toISOString(),
      wallS: Math.round(performance.now() - t0) / 1000,
      stats: stats ?? {},
    };
    await runDir.putRecord(done);
    opts.onEvent?.({ type: "done", stage: stage.name, index, count, record: done });
    outcomes.push({ name: stage.name, ran: true, record: done });
  }
  return outcomes;
}
