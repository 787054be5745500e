/**
 * Model file types through llama.cpp's own quantizer (`llama_model_quantize`, what llama-quantize
 * runs), so that a model lethe writes can go out in the type its base came in: a Q4_K_M base gives
 * a Q4_K_M result, with llama.cpp's per-tensor mix.
 */
import { existsSync, renameSync, rmSync } from "node:fs";

import { InputError } from "../errors.js";
import { readGguf } from "../gguf/read.js";
import { FILE_TYPES, type FileType } from "./file-types.js";
import { native, resolveThreads, translateNativeError } from "./native.js";


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
