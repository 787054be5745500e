/**
 * Resumable training checkpoints of the unlearning stages. A checkpoint lives in
 * `checkpoints/<stage>/` of the run directory (outside the stage's outputs, which are rewritten
 * whenever the stage starts) and holds what an uninterrupted run would have in memory:
 *
 *   model.gguf      the F32 weights (exact, so a resumed run continues bit for bit), or under
 *   adapter.gguf    LoRA the adapter's F32 pairs
 *   optimizer.gguf  the AdamW moments (training/optimizer-state.ts, the same as pretraining's)
 *   state.json      the key of the run it belongs to, the step, the loss history and what the
 *                   method derived from the starting weights (NPO's reference log-likelihoods)
 *
 * It is written into a fresh directory that is renamed into place, so a checkpoint that exists is
 * complete. A checkpoint whose key differs (another config, corpus or model) is ignored.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Trainer } from "../engine/trainer.js";
import { OPTIMIZER_FILE, writeOptimizerState } from "../training/optimizer-state.js";
import type { ValidationPoint } from "./checkpoint-choice.js";
import type { RunDir } from "../run/run-dir.js";

/** What a checkpoint records besides the weights and moments. */
export interface CheckpointState {
  key: string;
  /** Optimizer steps completed. */
  step: number;
  losses: number[];
  /** Validation points measured so far, when the stage chooses its checkpoint by them. */
  validation?: ValidationPoint[];
  /** What the method derived from the starting weights (TrainJob.startState), as JSON. */
  startState?: unknown;
}

const CHECKPOINTS = "checkpoints";
const MODEL = "model.gguf";
const ADAPTER = "adapter.gguf";

function dirOf(runDir: RunDir, stage: string): string {
  return join(runDir.dir, CHECKPOINTS, stage);
}

/** Writes a checkpoint of `trainer` after `state.step` steps, replacing the previous one. */
export async function saveCheckpoint(runDir: RunDir, stage: string, trainer: Trainer, state: CheckpointState): Promise<void> {
  const final = dirOf(runDir, stage);
  const fresh = `${final}.new`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  if (trainer.info.lora) await trainer.saveAdapter(join(fresh, ADAPTER));
  else await trainer.save(join(fresh, MODEL), { dtype: "f32" });
  writeOptimizerState(join(fresh, OPTIMIZER_FILE), trainer.optimizerState());
  writeFileSync(join(fresh, "state.json"), JSON.stringify(state) + "\n");
  const old = `${final}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(fresh, final);
  rmSync(old, { recursive: true, force: true });
}

/** The checkpoint of `stage` for `key`, if one exists; its weights (a model, or a LoRA adapter) and state. */
export function findCheckpoint(runDir: RunDir, stage: string, key: string): { modelPath: string; optimizerPath: string; state: CheckpointState } | undefined {
  const final = dirOf(runDir, stage);
  // A kill between the two renames of saveCheckpoint leaves the newest complete copy as `.old`.
  for (const dir of [final, `${final}.old`]) {
    const statePath = join(dir, "state.json");
    if (!existsSync(statePath)) continue;
    let state: CheckpointState;
    try {
      state = JSON.parse(readFileSync(statePath, "utf8")) as CheckpointState;
    } catch {
      continue;
    }
    // A checkpoint from before the moments were GGUF (optimizer.bin) cannot be resumed.
    if (state.key !== key || !existsSync(join(dir, OPTIMIZER_FILE))) continue;
    const adapter = join(dir, ADAPTER);
    return { modelPath: existsSync(adapter) ? adapter : join(dir, MODEL), optimizerPath: join(dir, OPTIMIZER_FILE), state };
  }
  return undefined;
}

/**
 * Where a stage that chooses its checkpoint by validation keeps the best weights so far. It sits
 * beside the checkpoints, not in the run's staging folder, which is emptied whenever the run
 * directory is opened: a resumed run needs the weights it chose before the interruption.
 */
export function keptModelPath(runDir: RunDir, stage: string): string {
  mkdirSync(join(runDir.dir, CHECKPOINTS), { recursive: true });
  return `${dirOf(runDir, stage)}.kept.gguf`;
}

/** Removes the checkpoints of `stage` (once its output is committed they are no longer needed). */
export function removeCheckpoint(runDir: RunDir, stage: string): void {
  const final = dirOf(runDir, stage);
  for (const dir of [final, `${final}.new`, `${final}.old`, `${final}.kept.gguf`]) rmSync(dir, { recursive: true, force: true });
}
