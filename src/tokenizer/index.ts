/**
 * The public API of lethe's tokenizer: GPT-2 style byte-level BPE whose encoding is the one llama.cpp
 * computes from the GGUF, so models lethe trains from scratch run in llama.cpp unchanged.
 */
export { BpeTokenizer, type BpeTrainOptions, type DecodeOptions, type EncodeOptions } from "./bpe.js";
export { readCorpus, type CorpusText } from "../corpus/read.js";
export { pretokenize } from "./pretokenize.js";
