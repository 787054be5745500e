/**
 * The one file form of the AdamW moments in every training checkpoint (pretraining, unlearning
 * stages): a GGUF file whose F32 tensors `<tensor>.adam_m` / `<tensor>.adam_v` hold each trainable
 * tensor's moments, with the step count as metadata. GGUF because the checkpoint's weights are GGUF
 * too, any GGUF reader can inspect it, and the writer is atomic, so a kill never leaves half a state.
 */
import { FileFormatError } from "../errors.js";
import type { OptimizerState } from "../engine/trainer.js";
import { metaNumber, readGguf, readTensorF32 } from "../gguf/read.js";
import { GgmlType, type GgufTensorInput } from "../gguf/types.js";
import { writeGguf } from "../gguf/write.js";

/** The file name of the moments inside a checkpoint folder. */
export const OPTIMIZER_FILE = "optimizer.gguf";

const STEP_KEY = "lethe.optimizer.step";
const MOMENT_SUFFIXES = [".adam_m", ".adam_v"] as const;

/** Writes AdamW moments as F32 tensors of a GGUF file (atomically, like every GGUF write). */
export function writeOptimizerState(path: string, state: OptimizerState): void {
  const tensors: GgufTensorInput[] = [];
  for (const [name, moments] of Object.entries(state.moments)) {
    moments.forEach((data, i) => tensors.push({ name: name + MOMENT_SUFFIXES[i], dims: [data.length], type: GgmlType.F32, data }));
  }
  writeGguf(path, { metadata: new Map([[STEP_KEY, { type: "u32", value: state.step }]]), tensors });
}

/** Reads moments written by {@link writeOptimizerState}. */
export function readOptimizerState(path: string): OptimizerState {
  const file = readGguf(path);
  const moments: OptimizerState["moments"] = {};
  for (const tensor of file.tensors) {
    if (!tensor.name.endsWith(MOMENT_SUFFIXES[0])) continue;
    const name = tensor.name.slice(0, -MOMENT_SUFFIXES[0].length);
    moments[name] = [readTensorF32(file, tensor.name), readTensorF32(file, name + MOMENT_SUFFIXES[1])];
  }
  if (file.tensors.length !== 2 * Object.keys(moments).length) {
    throw new FileFormatError(`optimizer state ${path} has unpaired moment tensors`, "delete that checkpoint directory and rerun");
  }
  return { step: metaNumber(file, STEP_KEY), moments };
}
