/**
 * Resumable pretraining checkpoints. A checkpoint is a directory `checkpoints/step-NNNNNN/` in the
 * run directory holding everything an uninterrupted run would still have in memory at that step:
 *
 *   model.gguf      the F32 weights (Trainer.save)
 *   optimizer.gguf  the AdamW moments (training/optimizer-state.ts)
 *   state.json      the step, the loss history and the key of the run it belongs to
 *
 * The data position needs no field of its own: which blocks a step trains on is a pure function of
 * the seed and the step (see data.ts). A checkpoint is written in the run directory's staging area
 * and moved into place by one rename, so a checkpoint directory that exists is complete, whatever
 * killed the process. Only the newest checkpoint is kept.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Trainer } from "../../engine/trainer.js";
import { FileFormatError } from "../../errors.js";
import { OPTIMIZER_FILE, writeOptimizerState } from "../../training/optimizer-state.js";
import type { RunDir } from "../../run/run-dir.js";

/** What training has recorded so far. */
export interface TrainHistory {
  /** Per completed step (index i is step i + 1): the loss before the update. */
  loss: number[];
  /** Per completed step: the gradient norm before clipping. */
  gradNorm: number[];
  /** Per completed step: the learning rate it used. */
  lr: number[];
  /** Held-out losses, after the step they follow. */
  evals: { step: number; loss: number }[];
  /** Seconds spent training, over all sessions of the run. */
  trainS: number;
}

/** The state.json of a checkpoint. */
export interface CheckpointState {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** Hash of everything the training trajectory depends on; a checkpoint of another key is stale. */
  key: string;
  /** Optimizer steps completed. */
  step: number;
  history: TrainHistory;
}

/** A checkpoint found on disk. */
export interface Checkpoint {
  dir: string;
  state: CheckpointState;
}

export const CHECKPOINTS_DIR = "checkpoints";
const STATE_FORMAT = "lethe-pretrain-checkpoint";
const STATE_VERSION = 1;

/** The run-directory output name of the checkpoint after `step` steps. */
export function checkpointName(step: number): string {
  return `${CHECKPOINTS_DIR}/step-${String(step).padStart(6, "0")}`;
}

function checkpointSteps(runDir: RunDir): { name: string; step: number }[] {
  let entries: string[];
  try {
    entries = readdirSync(runDir.path(CHECKPOINTS_DIR));
  } catch {
    return [];
  }
  return entries
    .map((entry) => ({ name: `${CHECKPOINTS_DIR}/${entry}`, match: /^step-(\d+)$/.exec(entry) }))
    .filter((e) => e.match !== null)
    .map((e) => ({ name: e.name, step: Number(e.match![1]) }))
    .sort((a, b) => b.step - a.step);
}

/**
 * Writes the trainer's weights and optimizer state with `state` as the checkpoint of `state.step`,
 * then removes older checkpoints.
 */
export async function saveCheckpoint(runDir: RunDir, trainer: Trainer, state: CheckpointState): Promise<string> {
  const name = checkpointName(state.step);
  const tmp = runDir.tmpPath(name);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  await trainer.save(join(tmp, "model.gguf"));
  writeOptimizerState(join(tmp, OPTIMIZER_FILE), trainer.optimizerState());
  writeFileSync(join(tmp, "state.json"), JSON.stringify(state));
  await runDir.commit(name);
  for (const older of checkpointSteps(runDir).filter((c) => c.step !== state.step)) {
    rmSync(runDir.path(older.name), { recursive: true, force: true });
  }
  return runDir.path(name);
}

/**
 * The newest checkpoint of the run with `key`, or undefined. Checkpoints of another key (the
 * configuration or the data changed) can never be resumed and are deleted.
 */
export function latestCheckpoint(runDir: RunDir, key: string): Checkpoint | undefined {
  for (const { name } of checkpointSteps(runDir)) {
    const dir = runDir.path(name);
    const state = readState(join(dir, "state.json"));
    if (state.key === key) return { dir, state };
    rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

/** Deletes every checkpoint, once the finished model makes them useless. */
export function removeCheckpoints(runDir: RunDir): void {
  rmSync(runDir.path(CHECKPOINTS_DIR), { recursive: true, force: true });
}

function readState(path: string): CheckpointState {
  const damaged = (problem: string) =>
    new FileFormatError(`checkpoint state ${path} ${problem}`, "delete that checkpoint directory to resume from an earlier point or start over");
  let state: Partial<CheckpointState>;
  try {
    state = JSON.parse(readFileSync(path, "utf8")) as Partial<CheckpointState>;
  } catch (error) {
    throw damaged(`cannot be read: ${(error as Error).message}`);
  }
  if (state?.format !== STATE_FORMAT || state.version !== STATE_VERSION) throw damaged(`is not a version ${STATE_VERSION} ${STATE_FORMAT}`);
  const h = state.history;
  if (
    typeof state.key !== "string" ||
    !Number.isSafeInteger(state.step) ||
    !h ||
    ![h.loss, h.gradNorm, h.lr].every((a) => Array.isArray(a) && a.length === state.step) ||
    !Array.isArray(h.evals) ||
    typeof h.trainS !== "number"
  ) {
    throw damaged("is incomplete");
  }
  return state as CheckpointState;
}

/** The checkpoint state for `step` steps with `history`. */
export function checkpointState(key: string, step: number, history: TrainHistory): CheckpointState {
  return { format: STATE_FORMAT, version: STATE_VERSION, key, step, history };
}
