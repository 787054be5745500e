/**
 * Block sizes of ggml's tensor types, which the GGUF reader and writer need to place and check tensor
 * data. Every type llama.cpp defines is listed, quantized ones included, so any model llama.cpp can
 * write is read, even where lethe cannot compute with its tensors.
 */
import { UnsupportedModelError } from "../errors.js";
import { GgmlType } from "./types.js";

interface GgmlTypeTraits {
  /** Elements per quantization block (1 for plain float and int types). */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
}

// Block layouts from llama.cpp's ggml/src/ggml-common.h (the static_asserts on sizeof(block_*)).
const TRAITS: ReadonlyMap<GgmlType, GgmlTypeTraits> = new Map([
  [GgmlType.F32, { blockSize: 1, blockBytes: 4 }],
  [GgmlType.F16, { blockSize: 1, blockBytes: 2 }],
  [GgmlType.Q4_0, { blockSize: 32, blockBytes: 18 }],
  [GgmlType.Q4_1, { blockSize: 32, blockBytes: 20 }],
  [GgmlType.Q5_0, { blockSize: 32, blockBytes: 22 }],
  [GgmlType.Q5_1, { blockSize: 32, blockBytes: 24 }],
  [GgmlType.Q8_0, { blockSize: 32, blockBytes: 34 }],
  [GgmlType.Q8_1, { blockSize: 32, blockBytes: 36 }],
  [GgmlType.Q2_K, { blockSize: 256, blockBytes: 84 }],
  [GgmlType.Q3_K, { blockSize: 256, blockBytes: 110 }],
  [GgmlType.Q4_K, { blockSize: 256, blockBytes: 144 }],
  [GgmlType.Q5_K, { blockSize: 256, blockBytes: 176 }],
  [GgmlType.Q6_K, { blockSize: 256, blockBytes: 210 }],
  [GgmlType.Q8_K, { blockSize: 256, blockBytes: 292 }],
  [GgmlType.IQ2_XXS, { blockSize: 256, blockBytes: 66 }],
  [GgmlType.IQ2_XS, { blockSize: 256, blockBytes: 74 }],
  [GgmlType.IQ3_XXS, { blockSize: 256, blockBytes: 98 }],
  [GgmlType.IQ1_S, { blockSize: 256, blockBytes: 50 }],
  [GgmlType.IQ4_NL, { blockSize: 32, blockBytes: 18 }],
  [GgmlType.IQ3_S, { blockSize: 256, blockBytes: 110 }],
  [GgmlType.IQ2_S, { blockSize: 256, blockBytes: 82 }],
  [GgmlType.IQ4_XS, { blockSize: 256, blockBytes: 136 }],
  [GgmlType.I8, { blockSize: 1, blockBytes: 1 }],
  [GgmlType.I16, { blockSize: 1, blockBytes: 2 }],
  [GgmlType.I32, { blockSize: 1, blockBytes: 4 }],
  [GgmlType.I64, { blockSize: 1, blockBytes: 8 }],
  [GgmlType.F64, { blockSize: 1, blockBytes: 8 }],
  [GgmlType.IQ1_M, { blockSize: 256, blockBytes: 56 }],
  [GgmlType.BF16, { blockSize: 1, blockBytes: 2 }],
  [GgmlType.TQ1_0, { blockSize: 256, blockBytes: 54 }],
  [GgmlType.TQ2_0, { blockSize: 256, blockBytes: 66 }],
  [GgmlType.MXFP4, { blockSize: 32, blockBytes: 17 }],
  [GgmlType.NVFP4, { blockSize: 64, blockBytes: 36 }],
  [GgmlType.Q1_0, { blockSize: 128, blockBytes: 18 }],
  [GgmlType.Q2_0, { blockSize: 64, blockBytes: 18 }],
]);

/** The llama.cpp spelling of a ggml type ("F16", "Q4_K"), or "type N" for a number ggml does not define. */
export function ggmlTypeName(type: number): string {
  return TRAITS.has(type) ? GgmlType[type] : `type ${type}`;
}

/** Whether `type` is a ggml type this reader knows the size of. */
export function isKnownGgmlType(type: number): type is GgmlType {
  return TRAITS.has(type);
}

/** Elements per block of `type` (a row length must be a multiple of it). */
export function ggmlBlockSize(type: GgmlType): number {
  return traitsOf(type).blockSize;
}

/**
 * Bytes that a tensor of `type` with `dims` (ne order) occupies. Throws UnsupportedModelError for a
 * type this table does not know, and when the row length is not a multiple of the block size.
 */
export function ggmlTensorBytes(type: GgmlType, dims: readonly number[], tensorName = "tensor"): number {
  const { blockSize, blockBytes } = traitsOf(type, tensorName);
  const rowLength = dims.length === 0 ? 1 : dims[0];
  if (rowLength % blockSize !== 0) {
    throw new UnsupportedModelError(
      `${tensorName}: row length ${rowLength} is not a multiple of the ${ggmlTypeName(type)} block size ${blockSize}`,
      "use a model whose tensors were quantized by llama.cpp's own tools",
    );
  }
  const elements = dims.reduce((n, d) => n * d, 1);
  return (elements / blockSize) * blockBytes;
}

function traitsOf(type: GgmlType, tensorName = "tensor"): GgmlTypeTraits {
  const traits = TRAITS.get(type);
  if (!traits) {
    throw new UnsupportedModelError(
      `${tensorName} has ggml type ${type}, which lethe does not know`,
      "convert the model to F16, BF16, F32 or a standard llama.cpp quantization",
    );
  }
  return traits;
}
