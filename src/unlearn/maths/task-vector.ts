/**
 * Task-vector negation (Ilharco et al. 2023), as MUSE applied it to unlearning: the reinforced model
 * minus the base model is the "task" of knowing the forget corpus; subtracting it β times gives
 *   θ_unlearned = θ_base − β·(θ_reinforced − θ_base),
 * tensor by tensor. The base model's metadata and tensor types are kept.
 */
import { InputError, UnsupportedModelError } from "../../errors.js";
import { readGguf, readTensorF32 } from "../../gguf/read.js";
import { GgmlType, type GgufTensorInput } from "../../gguf/types.js";
import { writeGguf } from "../../gguf/write.js";

/** θ_base − β·(θ_reinforced − θ_base) element by element, into a new array. */
export function negateTaskVector(base: Float32Array, reinforced: Float32Array, beta: number): Float32Array {
  if (base.length !== reinforced.length) {
    throw new InputError(`tensors of ${base.length} and ${reinforced.length} values cannot be subtracted`, "use a reinforced model fine-tuned from this base model");
  }
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = base[i]! - beta * (reinforced[i]! - base[i]!);
  return out;
}

/** Writes the task-vector-negated model of `basePath` and `reinforcedPath` to `outPath` (atomically). */
export function applyTaskVector(basePath: string, reinforcedPath: string, beta: number, outPath: string): { tensors: number; meanAbsDelta: number } {
  const base = readGguf(basePath);
  const reinforced = readGguf(reinforcedPath);
  const byName = new Map(reinforced.tensors.map((t) => [t.name, t]));
  let deltaSum = 0;
  let count = 0;
  const tensors: GgufTensorInput[] = base.tensors.map((t) => {
    const other = byName.get(t.name);
    if (!other || other.dims.join("x") !== t.dims.join("x")) {
      throw new UnsupportedModelError(
        `${reinforcedPath} ${other ? `has tensor "${t.name}" of shape ${other.dims.join("x")}, not ${t.dims.join("x")}` : `lacks tensor "${t.name}"`}`,
        "use a reinforced model fine-tuned from this base model",
      );
    }
    if (t.type !== GgmlType.F32 && t.type !== GgmlType.F16 && t.type !== GgmlType.BF16) {
      throw new UnsupportedModelError(`${basePath}: tensor "${t.name}" is quantized`, "use an F16, BF16 or F32 GGUF of the model");
    }
    const b = readTensorF32(base, t.name);
    const r = readTensorF32(reinforced, t.name);
    const data = negateTaskVector(b, r, beta);
    for (let i = 0; i < b.length; i++) deltaSum += Math.abs(data[i]! - b[i]!);
    count += b.length;
    return { name: t.name, dims: t.dims, type: t.type, data };
  });
  writeGguf(outPath, { metadata: base.metadata, tensors });
  return { tensors: tensors.length, meanAbsDelta: count === 0 ? 0 : deltaSum / count };
}

/**
 * The task vector of a LoRA run: the reinforce adapter's update is (alpha / r)·B·A, so
 * θ_base − β·(that) is the same pairs with alpha × −β. Written as an adapter (atomically).
 */
export function negateAdapter(adapterPath: string, beta: number, outPath: string): { tensors: number; alpha: number } {
  const adapter = readGguf(adapterPath);
  const alphaValue = adapter.metadata.get("adapter.lora.alpha");
  if (!alphaValue || alphaValue.type !== "f32") {
    throw new UnsupportedModelError(`${adapterPath} has no adapter.lora.alpha`, "rerun the reinforce stage to write the adapter again");
  }
  const alpha = -beta * alphaValue.value;
  const metadata = new Map(adapter.metadata);
  metadata.set("adapter.lora.alpha", { type: "f32", value: alpha });
  const tensors: GgufTensorInput[] = adapter.tensors.map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: readTensorF32(adapter, t.name) }));
  writeGguf(outPath, { metadata, tensors });
  return { tensors: tensors.length, alpha };
}
