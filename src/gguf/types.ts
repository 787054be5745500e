/** The scalar value types a GGUF metadata entry (or the items of a metadata array) can have. */
export type GgufScalarType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "f32" | "f64" | "bool" | "string";

/**
 * One GGUF metadata value. 64-bit integers are bigints so that token counts and seeds above 2^53
 * survive a round trip; every narrower number is a plain JS number.
 */
export type GgufValue =
  | { type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64"; value: number }
  | { type: "u64" | "i64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufScalarType; value: number[] | bigint[] | boolean[] | string[] };

/** GGUF metadata in file order (a Map keeps insertion order, and the writer keeps it too). */
export type GgufMetadata = Map<string, GgufValue>;

/** ggml tensor element types, numbered as in llama.cpp's `ggml.h` (gaps are types llama.cpp removed). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
}

/** Where one tensor lives in a GGUF file; the data itself is read on demand. */
export interface GgufTensorInfo {
  name: string;
  /** ggml `ne` order: dims[0] is the fastest-varying (the row length). */
  dims: number[];
  type: GgmlType;
  /** Absolute byte offset of the tensor data in the file. */
  offset: number;
  nbytes: number;
}

/** The parsed header of a GGUF file: everything except the tensor data. */
export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  /** Absolute byte offset where the (aligned) tensor data section starts. */
  dataOffset: number;
  fileSize: number;
}

/** A tensor to write: always given as f32 values, stored in the file as `type`. */
export interface GgufTensorInput {
  name: string;
  /** ggml `ne` order: dims[0] is the fastest-varying (the row length). */
  dims: number[];
  type: GgmlType.F32 | GgmlType.F16 | GgmlType.BF16;
  /**
   * The values, or a function that makes them when the tensor is written: the writer calls these in
   * tensor order, one at a time, so a model larger than memory can be written tensor by tensor.
   */
  data: Float32Array | (() => Float32Array);
}
