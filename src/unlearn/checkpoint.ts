/**
 * Resumable training checkpoints of the unlearning stages. A checkpoint lives in
 * `checkpoints/<stage>/` of the run directory (outside the stage's outputs, which are rewritten
 * whenever the stage starts) and holds what an uninterrupted run would have in memory:
 *
 *   model.gguf      the F32 weights (exact, so a resumed run continues bit for bit), or under
 *   adapter.gguf    LoRA the adapter's F32 pairs
 *   optimizer.bin   the AdamW moments: a JSON header line, then the F32 arrays in header order
 *   state.json      the key of the run it belongs to, the step, the loss history and what the
 *                   method derived from the starting weights (NPO's reference log-likelihoods)
 *
 * It is written into a fresh directory that is renamed into place, so a checkpoint that exists is
 * complete. A checkpoint whose key differs (another config, corpus or model) is ignored.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OptimizerState, Trainer } from "../engine/trainer.js";
import type { ValidationPoint } from "./checkpoint-choice.js";
import { FileFormatError } from "../errors.js";
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

/** Encodes AdamW state: `{"step", "tensors": [[name, length], ...]}\n` then m and v of each tensor. */
export function encodeOptimizerState(state: OptimizerState): Buffer {
  const names = Object.keys(state.moments).sort();
  const header = JSON.stringify({ step: state.step, tensors: names.map((n) => [n, state.moments[n]![0].length]) }) + "\n";
  const parts: Buffer[] = [Buffer.from(header, "utf8")];
  for (const name of names) {
    const [m, v] = state.moments[name]!;
    parts.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return Buffer.concat(parts);
}

/** Decodes {@link encodeOptimizerState}; `source` names the file in errors. */
export function decodeOptimizerState(bytes: Buffer, source: string): OptimizerState {
  const fix = `delete ${source} and rerun; training restarts from the stage's beginning`;
  const newline = bytes.indexOf(10);
  if (newline < 0) throw new FileFormatError(`${source} has no header line`, fix);
  let header: { step: number; tensors: [string, number][] };
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString("utf8"));
  } catch (error) {
    throw new FileFormatError(`${source} has a damaged header`, fix, { cause: error });
  }
  const moments: OptimizerState["moments"] = {};
  let offset = newline + 1;
  for (const [name, length] of header.tensors) {
    const take = () => {
      if (offset + length * 4 > bytes.length) throw new FileFormatError(`${source} is truncated`, fix);
      const copy = new Float32Array(length);
      new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + length * 4));
      offset += length * 4;
      return copy;
    };
    moments[name] = [take(), take()];
  }
  if (offset !== bytes.length) throw new FileFormatError(`${source} has ${bytes.length - offset} unexpected trailing bytes`, fix);
  return { step: header.step, moments };
}

/** Writes a checkpoint of `trainer` after `state.step` steps, replacing the previous one. */
export async function saveCheckpoint(runDir: RunDir, stage: string, trainer: Trainer, state: CheckpointState): Promise<void> {
  const final = dirOf(runDir, stage);
  const fresh = `${final}.new`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  if (trainer.info.lora) await trainer.saveAdapter(join(fresh, ADAPTER));
  else await trainer.save(join(fresh, MODEL), { dtype: "f32" });
  writeFileSync(join(fresh, "optimizer.bin"), encodeOptimizerState(trainer.optimizerState()));
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
    if (state.key !== key) continue;
    const adapter = join(dir, ADAPTER);
    return { modelPath: existsSync(adapter) ? adapter : join(dir, MODEL), optimizerPath: join(dir, "optimizer.bin"), state };
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
