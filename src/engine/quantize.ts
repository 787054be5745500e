/**
 * Model file types through llama.cpp's own quantizer (`llama_model_quantize`, what llama-quantize
 * runs), so that a model lethe writes can go out in the type its base came in: a Q4_K_M base gives
 * a Q4_K_M result, with llama.cpp's per-tensor mix.
 */
import { existsSync, renameSync, rmSync } from "node:fs";

import { InputError } from "../errors.js";
import { readGguf } from "../gguf/read.js";
import { native, resolveThreads, translateNativeError } from "./native.js";

/** llama.cpp's `llama_ftype` values (include/llama.h) under the names llama-quantize uses. */
export const FILE_TYPES = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q5_1: 9,
  Q2_K: 10,
  Q3_K_S: 11,
  Q3_K_M: 12,
  Q3_K_L: 13,
  Q4_K_S: 14,
  Q4_K_M: 15,
  Q5_K_S: 16,
  Q5_K_M: 17,
  Q6_K: 18,
  BF16: 32,
} as const;
export type FileType = keyof typeof FILE_TYPES;

/** The file-type name of `general.file_type` in a model's header, or undefined when absent or unknown. */
export function modelFileType(path: string): FileType | undefined {
  const v = readGguf(path).metadata.get("general.file_type");
  if (!v || typeof v.value !== "number") return undefined;
  return (Object.keys(FILE_TYPES) as FileType[]).find((k) => FILE_TYPES[k] === v.value);
}

/** Writes `input` as `output` in `type`; the file appears under its name only once complete. */
export async function quantizeModel(input: string, output: string, type: FileType, options: { threads?: number } = {}): Promise<void> {
  if (!existsSync(input)) throw new InputError(`cannot quantize ${input}: the file does not exist`, "pass the path of a GGUF model");
  const tmp = `${output}.tmp`;
  try {
    await native().quantizeModel(input, tmp, FILE_TYPES[type], resolveThreads(options.threads));
    renameSync(tmp, output);
  } catch (e) {
    throw translateNativeError(e, `quantizing ${input} to ${type}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}
