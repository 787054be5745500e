/**
 * The Llama architecture (and its Qwen2 variant) in GGUF terms: the metadata keys, tensor names and
 * shapes llama.cpp expects. With it lethe creates fresh models to pretrain, and checks that a model
 * it is given is one its engine and trainer can handle.
 */
import { InputError, UnsupportedModelError } from "../errors.js";
import { SeededRandom } from "../util/random.js";
import { findTensor, metaNumber, metaOptional, metaString } from "./read.js";
import { GgmlType, type GgufFile, type GgufMetadata, type GgufTensorInput, type GgufValue } from "./types.js";
import { writeGguf } from "./write.js";

/** Hyperparameters of a Llama-family decoder, in llama.cpp's terms. */
export interface LlamaConfig {
  nVocab: number;
  /** Training context length (`<arch>.context_length`). */
  nCtx: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads; fewer than nHead means grouped-query attention. */
  nHeadKv: number;
  nFf: number;
  ropeFreqBase: number;
  rmsEps: number;
  /** True when the output projection reuses token_embd (the file has no output.weight). */
  tiedEmbeddings: boolean;
  name?: string;
  /**
   * "llama" unless stated. "qwen2" is the same network plus biases on the q/k/v projections and
   * NeoX-style RoPE (rotating dims i and i + headDim/2 instead of 2i and 2i+1).
   */
  architecture?: LlamaArchitecture;
}

export type LlamaArchitecture = "llama" | "qwen2";

/** Size of one attention head. */
export function llamaHeadDim(config: LlamaConfig): number {
  return config.nEmbd / config.nHead;
}

/**
 * Throws InputError naming the first field of `config` that llama.cpp could not load: counts must be
 * positive integers, nEmbd divisible by nHead into an even head size, nHead divisible by nHeadKv.
 */
export function validateLlamaConfig(config: LlamaConfig): void {
  const fix = "fix the model configuration";
  for (const field of ["nVocab", "nCtx", "nEmbd", "nLayer", "nHead", "nHeadKv", "nFf"] as const) {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value <= 0 || value > 0xffffffff) {
      throw new InputError(`model config ${field} is ${value}; expected a positive integer`, fix);
    }
  }
  if (config.nEmbd % config.nHead !== 0 || llamaHeadDim(config) % 2 !== 0) {
    throw new InputError(`model config nEmbd ${config.nEmbd} must split into nHead ${config.nHead} heads of an even size`, fix);
  }
  if (config.nHead % config.nHeadKv !== 0) {
    throw new InputError(`model config nHead ${config.nHead} is not a multiple of nHeadKv ${config.nHeadKv}`, fix);
  }
  if (!(config.ropeFreqBase > 0)) throw new InputError(`model config ropeFreqBase is ${config.ropeFreqBase}; expected a positive number`, fix);
  if (!(config.rmsEps > 0 && config.rmsEps < 1)) throw new InputError(`model config rmsEps is ${config.rmsEps}; expected a small positive number`, fix);
  const arch = config.architecture ?? "llama";
  if (arch !== "llama" && arch !== "qwen2") throw new InputError(`model config architecture is "${String(arch)}"; expected "llama" or "qwen2"`, fix);
}

/**
 * The `general.*` and `<arch>.*` metadata llama.cpp needs to load a model of `config` (no tokenizer
 * keys). `dtype` only sets `general.file_type` (0 all F32, 1 mostly F16).
 */
export function llamaMetadata(config: LlamaConfig, dtype: "f32" | "f16" = "f32"): GgufMetadata {
  validateLlamaConfig(config);
  const arch = config.architecture ?? "llama";
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  return new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: arch }],
    ["general.name", { type: "string", value: config.name ?? `lethe-${arch}` }],
    ["general.file_type", u32(dtype === "f16" ? 1 : 0)],
    [`${arch}.vocab_size`, u32(config.nVocab)],
    [`${arch}.context_length`, u32(config.nCtx)],
    [`${arch}.embedding_length`, u32(config.nEmbd)],
    [`${arch}.block_count`, u32(config.nLayer)],
    [`${arch}.feed_forward_length`, u32(config.nFf)],
    [`${arch}.rope.dimension_count`, u32(llamaHeadDim(config))],
    [`${arch}.attention.head_count`, u32(config.nHead)],
    [`${arch}.attention.head_count_kv`, u32(config.nHeadKv)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(config.rmsEps)],
    [`${arch}.rope.freq_base`, f32(config.ropeFreqBase)],
  ]);
}

/**
 * Every tensor of a model of `config`, with llama.cpp's names and ne-order dims (dims[0] is the input
 * size of a projection, dims[1] its output size). output.weight is left out when embeddings are tied.
 */
export function llamaTensorShapes(config: LlamaConfig): { name: string; dims: number[] }[] {
  validateLlamaConfig(config);
  const { nVocab, nEmbd, nFf, nLayer } = config;
  const nEmbdKv = llamaHeadDim(config) * config.nHeadKv;
  const shapes = [
    { name: "token_embd.weight", dims: [nEmbd, nVocab] },
    { name: "output_norm.weight", dims: [nEmbd] },
  ];
  if (!config.tiedEmbeddings) shapes.push({ name: "output.weight", dims: [nEmbd, nVocab] });
  for (let i = 0; i < nLayer; i++) {
    const blk = `blk.${i}`;
    shapes.push(
      { name: `${blk}.attn_norm.weight`, dims: [nEmbd] },
      { name: `${blk}.attn_q.weight`, dims: [nEmbd, nEmbd] },
      { name: `${blk}.attn_k.weight`, dims: [nEmbd, nEmbdKv] },
      { name: `${blk}.attn_v.weight`, dims: [nEmbd, nEmbdKv] },
    );
    if (config.architecture === "qwen2") {
      shapes.push(
        { name: `${blk}.attn_q.bias`, dims: [nEmbd] },
        { name: `${blk}.attn_k.bias`, dims: [nEmbdKv] },
        { name: `${blk}.attn_v.bias`, dims: [nEmbdKv] },
      );
    }
    shapes.push(
      { name: `${blk}.attn_output.weight`, dims: [nEmbd, nEmbd] },
      { name: `${blk}.ffn_norm.weight`, dims: [nEmbd] },
      { name: `${blk}.ffn_gate.weight`, dims: [nEmbd, nFf] },
      { name: `${blk}.ffn_up.weight`, dims: [nEmbd, nFf] },
      { name: `${blk}.ffn_down.weight`, dims: [nFf, nEmbd] },
    );
  }
  return shapes;
}

const INIT_STD = 0.02;

/**
 * Writes a randomly initialised model of `opts.config` with the given tokenizer (`tokenizer.*` keys
 * only, whose token list must have nVocab entries) to `path`, atomically. Init follows nanoGPT:
 * weights ~ N(0, 0.02), the residual projections (attn_output, ffn_down) scaled by 1/sqrt(2·nLayer),
 * norm weights 1, biases 0; the same seed gives the same bytes. With dtype "f16" the matrices are
 * stored F16 and the 1-D tensors stay F32, as llama.cpp's converter does.
 */
export function createLlamaGguf(
  path: string,
  opts: { config: LlamaConfig; tokenizer: GgufMetadata; seed: number; dtype?: "f32" | "f16" },
): void {
  const { config, tokenizer, seed } = opts;
  const dtype = opts.dtype ?? "f32";
  const metadata = llamaMetadata(config, dtype);
  for (const [key, value] of tokenizer) {
    if (!key.startsWith("tokenizer.")) {
      throw new InputError(`tokenizer metadata has key "${key}", outside "tokenizer.*"`, "pass only the tokenizer.* keys (see tokenizerMetadata)");
    }
    metadata.set(key, value);
  }
  const tokens = metaOptional(tokenizer, "tokenizer.ggml.tokens", "array");
  if (tokens !== undefined && tokens.length !== config.nVocab) {
    throw new InputError(
      `tokenizer has ${tokens.length} tokens but the model config has nVocab ${config.nVocab}`,
      "set nVocab to the tokenizer's token count",
    );
  }

  const random = new SeededRandom(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * config.nLayer);
  // Each tensor is drawn as it is written (in order, so the same seed gives the same bytes): an
  // 8B-shaped model never has to fit in memory as F32.
  const tensors: GgufTensorInput[] = llamaTensorShapes(config).map(({ name, dims }) => {
    const data = () => {
      const values = new Float32Array(dims.reduce((n, d) => n * d, 1));
      if (name.endsWith("norm.weight")) values.fill(1);
      else if (name.endsWith(".bias")) values.fill(0);
      else random.fillNormal(values, /attn_output|ffn_down/.test(name) ? residualStd : INIT_STD);
      return values;
    };
    const type = dtype === "f16" && dims.length > 1 ? GgmlType.F16 : GgmlType.F32;
    return { name, dims, type, data };
  });
  writeGguf(path, { metadata, tensors });
}

/** The `tokenizer.*` entries of a model's metadata, e.g. to give a new model the tokenizer of an existing one. */
export function tokenizerMetadata(source: GgufFile | GgufMetadata): GgufMetadata {
  const metadata = source instanceof Map ? source : source.metadata;
  return new Map([...metadata].filter(([key]) => key.startsWith("tokenizer.")));
}

/**
 * The config of a Llama-architecture GGUF, checked against its tensors (each expected tensor present
 * with the expected dims). Throws UnsupportedModelError for another architecture (qwen2 is accepted
 * with `acceptQwen2`), mixture-of-experts, a head size other than nEmbd/nHead, or a tensor mismatch;
 * FileFormatError for a missing or mistyped key.
 */
export function readLlamaConfig(file: GgufFile, options: { acceptQwen2?: boolean } = {}): LlamaConfig {
  const arch = metaString(file, "general.architecture");
  if (arch !== "llama" && !(arch === "qwen2" && options.acceptQwen2)) {
    throw new UnsupportedModelError(
      `${file.path} is a "${arch}" model; lethe handles the "llama" architecture${options.acceptQwen2 ? ' and "qwen2"' : ""}`,
      "use a Llama-architecture model (Llama, SmolLM, TinyLlama, Mistral 7B v0.1 and similar)",
    );
  }
  const optionalNumber = (key: string): number | undefined => (file.metadata.has(key) ? metaNumber(file, key) : undefined);
  const nHead = metaNumber(file, `${arch}.attention.head_count`);
  const tokens = metaOptional(file, "tokenizer.ggml.tokens", "array");
  const config: LlamaConfig = {
    nVocab: optionalNumber(`${arch}.vocab_size`) ?? tokens?.length ?? findTensor(file, "token_embd.weight")?.dims[1] ?? 0,
    nCtx: metaNumber(file, `${arch}.context_length`),
    nEmbd: metaNumber(file, `${arch}.embedding_length`),
    nLayer: metaNumber(file, `${arch}.block_count`),
    nHead,
    // llama.cpp's defaults when a converter leaves these out.
    nHeadKv: optionalNumber(`${arch}.attention.head_count_kv`) ?? nHead,
    nFf: metaNumber(file, `${arch}.feed_forward_length`),
    ropeFreqBase: shortestF32Decimal(optionalNumber(`${arch}.rope.freq_base`) ?? 10000),
    rmsEps: shortestF32Decimal(metaNumber(file, `${arch}.attention.layer_norm_rms_epsilon`)),
    tiedEmbeddings: findTensor(file, "output.weight") === undefined,
    architecture: arch,
  };
  const name = metaOptional(file, "general.name", "string");
  if (name !== undefined) config.name = name;

  const unsupported = (problem: string) =>
    new UnsupportedModelError(`${file.path}: ${problem}`, "use a plain dense Llama-architecture model");
  if ((optionalNumber(`${arch}.expert_count`) ?? 0) > 0) throw unsupported("mixture-of-experts models are not supported");
  try {
    validateLlamaConfig(config);
  } catch (error) {
    throw unsupported((error as Error).message);
  }
  const headDim = llamaHeadDim(config);
  for (const key of [`${arch}.rope.dimension_count`, `${arch}.attention.key_length`, `${arch}.attention.value_length`]) {
    const value = optionalNumber(key);
    if (value !== undefined && value !== headDim) throw unsupported(`${key} is ${value}, but lethe needs it to equal nEmbd/nHead = ${headDim}`);
  }
  for (const { name: tensorName, dims } of llamaTensorShapes(config)) {
    const tensor = findTensor(file, tensorName);
    if (!tensor) throw unsupported(`tensor "${tensorName}" is missing`);
    if (tensor.dims.join(",") !== dims.join(",")) {
      throw unsupported(`tensor "${tensorName}" has dims [${tensor.dims.join(", ")}], expected [${dims.join(", ")}]`);
    }
  }
  return config;
}

/**
 * The shortest decimal that rounds to the same f32 as `x`: the file stores 1e-5 as the f32
 * 9.99999974e-6, and the config should read back as the 1e-5 that was meant (and writes back to the
 * same bits).
 */
function shortestF32Decimal(x: number): number {
  const target = Math.fround(x);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return x;
}
