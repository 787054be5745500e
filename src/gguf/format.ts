// Constants of the GGUF container format shared by the reader and the writer
// (llama.cpp ggml/src/gguf.cpp and ggml/include/gguf.h).
import type { GgufScalarType } from "./types.js";

/** "GGUF" as the first four bytes, i.e. 0x46554747 read as a little-endian u32. */
export const GGUF_MAGIC = Buffer.from("GGUF", "latin1");

/** The version the writer emits. */
export const GGUF_WRITE_VERSION = 3;

/** v2 and v3 share one layout (64-bit counts); v1 used 32-bit counts and llama.cpp dropped it. */
export const GGUF_READ_VERSIONS: readonly number[] = [2, 3];

export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_ALIGNMENT_KEY = "general.alignment";

/** ggml keeps tensor names in a char[64], terminator included. */
export const GGML_MAX_NAME_BYTES = 63;
export const GGML_MAX_DIMS = 4;

/** Value type codes as stored in the file. */
export const VALUE_TYPE_CODE: Readonly<Record<GgufScalarType | "array", number>> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};

export const VALUE_TYPE_BY_CODE: ReadonlyMap<number, GgufScalarType | "array"> = new Map(
  Object.entries(VALUE_TYPE_CODE).map(([name, code]) => [code, name as GgufScalarType | "array"]),
);

/** Bytes of a fixed-size scalar; strings take 8 (their length prefix) plus their UTF-8 bytes. */
export const SCALAR_BYTES: Readonly<Record<Exclude<GgufScalarType, "string">, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** Rounds `offset` up to a multiple of `alignment`. */
export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
