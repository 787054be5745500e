/**
 * llama.cpp's model file types, in a module of its own (no imports) so the CLI can list them
 * without loading the engine.
 */

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

/** The names, as a command's choices. */
export const FILE_TYPE_NAMES = Object.keys(FILE_TYPES) as FileType[];
