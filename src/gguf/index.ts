// The public API of the GGUF layer: read and write GGUF files, and describe/create Llama models.
export * from "./types.js";
export { readGguf, readTensorF32, readTensorBytes, findTensor, metaString, metaNumber, metaOptional, metaArray, type GgufValueOf } from "./read.js";
export { writeGguf } from "./write.js";
export { ggmlTypeName, ggmlTensorBytes } from "./ggml-types.js";
export {
  type LlamaConfig,
  type LlamaArchitecture,
  llamaMetadata,
  llamaTensorShapes,
  llamaHeadDim,
  validateLlamaConfig,
  createLlamaGguf,
  readLlamaConfig,
  tokenizerMetadata,
} from "./llama.js";
export { validateModelFile } from "./validate.js";
