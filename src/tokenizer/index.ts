export { BpeTokenizer, type BpeTrainOptions, type DecodeOptions, type EncodeOptions } from "./bpe.js";
export { readCorpus, type CorpusText } from "./corpus.js";
export { pretokenize } from "./pretokenize.js";
