/**
 * Checks a GGUF model header for every value that llama.cpp (or lethe's trainer) would assert on,
 * aborting the whole process, instead of refusing with an error: a vocabulary that repeats a token,
 * special-token ids outside the vocabulary, NaN or non-positive epsilons and RoPE parameters, zero
 * counts, head counts that do not divide the width, tensors whose shapes disagree with the
 * hyperparameters. A file that passes can still be refused by llama.cpp, but with an error.
 *
 * Every failure is an InputError naming the file and the metadata key or tensor (an
 * UnsupportedModelError for a tokenizer kind lethe does not load).
 */
import { InputError, UnsupportedModelError } from "../errors.js";
import { ggmlTypeName } from "./ggml-types.js";
import { findTensor } from "./read.js";
import { GgmlType, type GgufFile, type GgufValue } from "./types.js";

const FIX_KEY = "correct that value (gguf-py's gguf_set_metadata.py edits one key) or re-convert the model with a current llama.cpp";
const FIX_TENSOR = "use a complete, unmodified conversion of the model; its tensors disagree with its metadata";
const FIX_VOCAB = "re-convert the model from its original tokenizer, or rebuild it with `lethe pretrain`, so that every token is distinct";

/**
 * The tokenizer kinds (tokenizer.ggml.model) lethe lets llama.cpp load: SentencePiece and byte-level
 * BPE, which every architecture lethe runs uses. Others are refused: without a tokenizer ("none",
 * "no_vocab") llama.cpp asserts on the first text, and the other kinds carry aborts of their own
 * that no Llama-family model needs (a byte token in a "bert" vocabulary aborts loading it).
 */
const TOKENIZER_MODELS = ["llama", "gpt2"];

/** llama.cpp's layer limit (LLAMA_MAX_LAYERS) and expert limit (LLAMA_MAX_EXPERTS). */
const MAX_LAYERS = 512;
const MAX_EXPERTS = 1024;

/**
 * Types ggml stores but cannot compute with as weights: the activation-only Q8_1 and Q8_K (no dot
 * product of their own) and the integer and F64 types. ggml crashes (abort or segfault) on them.
 */
const NOT_WEIGHT_TYPES: ReadonlySet<GgmlType> = new Set([GgmlType.Q8_1, GgmlType.Q8_K, GgmlType.I8, GgmlType.I16, GgmlType.I32, GgmlType.I64, GgmlType.F64]);

/** The RoPE scaling types llama.cpp knows; any other string aborts it. */
const ROPE_SCALING_TYPES = ["none", "linear", "yarn", "longrope"];

/** The special-token id keys llama.cpp reads; it reads each as an id into tokenizer.ggml.tokens. */
const SPECIAL_TOKEN_KEYS = [
  "bos",
  "eos",
  "eot",
  "eom",
  "unknown",
  "seperator",
  "padding",
  "cls",
  "mask",
  "fim_pre",
  "fim_suf",
  "fim_mid",
  "fim_pad",
  "fim_rep",
  "fim_sep",
  "prefix",
  "suffix",
  "middle",
].map((name) => `tokenizer.ggml.${name}_token_id`);

/**
 * llama.cpp's defaults per `tokenizer.ggml.model` (llama-vocab.cpp): the BOS/EOS ids it
 * assumes when the file names none, and whether it adds them. It asserts that an added token exists.
 */
const TOKENIZER_DEFAULTS: Record<string, { bos?: number; eos?: number; addBos: boolean; addEos: boolean }> = {
  llama: { bos: 1, eos: 2, addBos: true, addEos: false },
  // Whether a gpt2 vocabulary adds BOS depends on its pre-tokenizer; assume it does.
  gpt2: { bos: 11, eos: 11, addBos: true, addEos: false },
};

/** Hyperparameters as llama.cpp reads them, per layer where a file may give one value per layer. */
interface Hyperparameters {
  nEmbd: number;
  nLayer: number;
  nHead: number[];
  nHeadKv: number[];
  nFf: number[] | undefined;
  headK: number;
  headV: number;
  nRot: number;
  nExpert: number;
}

/**
 * Throws an InputError naming `file` and the offending key or tensor if llama.cpp or the trainer
 * could abort on the model. Cheap: it reads only the parsed header (a set of the token strings is
 * the largest cost).
 */
export function validateModelFile(file: GgufFile): void {
  const archEntry = file.metadata.get("general.architecture");
  if (archEntry !== undefined && archEntry.type !== "string") {
    throw keyError(file, "general.architecture", `is ${describe(archEntry)}; expected a string such as "llama"`);
  }
  checkTensorTypes(file);
  const nVocab = checkVocabulary(file);
  if (archEntry === undefined) return;
  const h = checkHyperparameters(file, archEntry.value);
  checkTensorShapes(file, archEntry.value, h, nVocab);
}

// ---- hyperparameters ---------------------------------------------------------------------------

function checkHyperparameters(file: GgufFile, arch: string): Hyperparameters {
  const key = (name: string) => `${arch}.${name}`;
  for (const [name, value] of file.metadata) {
    if (name.startsWith(`${arch}.`)) checkFinite(file, name, value);
  }

  const nCtx = integer(file, key("context_length"));
  if (nCtx !== undefined && nCtx < 1) {
    throw keyError(file, key("context_length"), `is ${nCtx}: the model declares a training context of ${nCtx} tokens, and llama.cpp needs at least 1`);
  }
  const nEmbd = integer(file, key("embedding_length"));
  if (nEmbd !== undefined && nEmbd < 1) throw keyError(file, key("embedding_length"), `is ${nEmbd}; expected a positive width`);
  const nLayer = integer(file, key("block_count"));
  if (nLayer !== undefined && (nLayer < 1 || nLayer > MAX_LAYERS)) {
    throw keyError(file, key("block_count"), `is ${nLayer}; llama.cpp needs 1 to ${MAX_LAYERS} layers`);
  }
  const nextn = integer(file, key("nextn_predict_layers"));
  if (nextn !== undefined && nLayer !== undefined && nextn > nLayer) {
    throw keyError(file, key("nextn_predict_layers"), `is ${nextn}, more than the ${nLayer} layers`);
  }
  checkExperts(file, arch, nLayer ?? 1);

  const ropeType = file.metadata.get(key("rope.scaling.type"));
  if (ropeType !== undefined && (ropeType.type !== "string" || !ROPE_SCALING_TYPES.includes(ropeType.value))) {
    throw keyError(file, key("rope.scaling.type"), `is ${describe(ropeType)}; llama.cpp knows ${ROPE_SCALING_TYPES.map((t) => `"${t}"`).join(", ")}`);
  }
  for (const name of ["attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon", "rope.freq_base", "rope.freq_base_swa", "rope.scaling.factor", "rope.scale_linear"]) {
    const value = float(file, key(name));
    if (value !== undefined && !(value > 0)) throw keyError(file, key(name), `is ${value}; expected a finite positive number`);
  }

  // Without a block count llama.cpp refuses the file itself; check the rest against one layer.
  const layers = nLayer ?? 1;
  const nHead = perLayer(file, key("attention.head_count"), layers);
  const nHeadKv = perLayer(file, key("attention.head_count_kv"), layers) ?? nHead;
  const nFf = perLayer(file, key("feed_forward_length"), layers);
  const width = nEmbd ?? 0;
  let headK = 0;
  let headV = 0;
  let nRot = 0;
  if (nHead) {
    nHead.forEach((n, layer) => {
      if (n < 1) throw keyError(file, key("attention.head_count"), `is ${n}${layerNote(nHead, layer)}; expected at least 1 attention head`);
    });
    const keyLength = integer(file, key("attention.key_length"));
    const valueLength = integer(file, key("attention.value_length"));
    if (keyLength === undefined || valueLength === undefined) {
      // llama.cpp derives the head size as embedding_length / head_count of the first layer.
      if (nEmbd !== undefined && nEmbd % nHead[0]! !== 0) {
        throw keyError(file, key("attention.head_count"), `is ${nHead[0]}, which does not divide embedding_length ${nEmbd}`);
      }
    }
    nHeadKv!.forEach((n, layer) => {
      const heads = nHead[layer]!;
      if (n < 1 || heads % n !== 0) {
        throw keyError(file, key("attention.head_count_kv"), `is ${n}${layerNote(nHeadKv!, layer)}; it must be at least 1 and divide attention.head_count ${heads}`);
      }
    });
    for (const [name, value] of [["attention.key_length", keyLength], ["attention.value_length", valueLength]] as const) {
      if (value !== undefined && value < 1) throw keyError(file, key(name), `is ${value}; expected a positive head size`);
    }
    headK = keyLength ?? width / nHead[0]!;
    headV = valueLength ?? width / nHead[0]!;
    const ropeDims = integer(file, key("rope.dimension_count"));
    nRot = ropeDims ?? headK;
    // 0 makes the trainer's RoPE loop forever; an odd count or one past the head trips ggml's assertions.
    if ((ropeDims !== undefined || headK > 0) && (nRot < 2 || nRot % 2 !== 0 || (headK > 0 && nRot > headK))) {
      const what = ropeDims === undefined ? `is absent, so RoPE would rotate the whole head of ${nRot} dimensions` : `is ${nRot}`;
      throw keyError(file, key("rope.dimension_count"), `${what}; RoPE needs an even number of dimensions from 2 to the head size ${headK}`);
    }
  }
  return {
    nEmbd: width,
    nLayer: layers,
    nHead: nHead ?? [],
    nHeadKv: nHeadKv ?? [],
    nFf,
    headK,
    headV,
    nRot,
    nExpert: integer(file, key("expert_count")) ?? 0,
  };
}

/** llama.cpp's assertions on mixture-of-experts counts (load_hparams). */
function checkExperts(file: GgufFile, arch: string, nLayer: number): void {
  const key = (name: string) => `${arch}.${name}`;
  const nExpert = integer(file, key("expert_count")) ?? 0;
  const used = Math.max(0, ...(perLayer(file, key("expert_used_count"), nLayer) ?? [0]));
  const groups = integer(file, key("expert_group_count")) ?? 0;
  const groupsUsed = integer(file, key("expert_group_used_count")) ?? 0;
  if (nExpert < 0 || nExpert > MAX_EXPERTS) throw keyError(file, key("expert_count"), `is ${nExpert}; llama.cpp allows 0 to ${MAX_EXPERTS} experts`);
  const relation = (problem: string) => keyError(file, key("expert_used_count"), problem);
  if (used > nExpert) throw relation(`is ${used}, more than expert_count ${nExpert}`);
  if (nExpert > 0) {
    if (used < 1) throw relation(`is ${used}; a mixture of ${nExpert} experts must use at least one per token`);
    if (groups >= nExpert) throw keyError(file, key("expert_group_count"), `is ${groups}; it must be below expert_count ${nExpert}`);
    if (groups > 1 && (nExpert % groups !== 0 || groupsUsed < 1 || groupsUsed >= groups)) {
      throw keyError(file, key("expert_group_used_count"), `is ${groupsUsed} with ${groups} expert groups of ${nExpert} experts; llama.cpp needs groups dividing the experts and 1 to groups - 1 used`);
    }
  } else if (groups !== 0) {
    throw keyError(file, key("expert_group_count"), `is ${groups}, but the model has no experts`);
  }
}

/** A scalar applied to every layer, or one value per layer (as llama.cpp's get_key_or_arr reads it). */
function perLayer(file: GgufFile, key: string, nLayer: number): number[] | undefined {
  const entry = file.metadata.get(key);
  if (entry === undefined) return undefined;
  if (entry.type !== "array") return new Array<number>(nLayer).fill(integer(file, key)!);
  if (entry.value.length !== nLayer) throw keyError(file, key, `holds ${entry.value.length} values for ${nLayer} layers`);
  return (entry.value as unknown[]).map((item, i) => {
    const value = typeof item === "bigint" ? Number(item) : item;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) throw keyError(file, `${key}[${i}]`, `is ${String(item)}; expected an integer`);
    return value;
  });
}

function layerNote(values: readonly number[], layer: number): string {
  return values.length > 1 && values.some((v) => v !== values[0]) ? ` (layer ${layer})` : "";
}

// ---- vocabulary --------------------------------------------------------------------------------

/**
 * Checks tokenizer.ggml.* and returns the vocabulary size (the token count, else the embedding
 * matrix's row count, else undefined).
 */
function checkVocabulary(file: GgufFile): number | undefined {
  const entry = file.metadata.get("tokenizer.ggml.tokens");
  let nVocab = findTensor(file, "token_embd.weight")?.dims[1];
  const model = file.metadata.get("tokenizer.ggml.model");
  if (model !== undefined && (model.type !== "string" || !TOKENIZER_MODELS.includes(model.value))) {
    throw new UnsupportedModelError(
      `${file.path}: metadata "tokenizer.ggml.model" is ${describe(model)}; lethe tokenizes with llama.cpp's ${TOKENIZER_MODELS.map((m) => `"${m}"`).join(", ")} tokenizers`,
      "use a Llama-family model converted with its tokenizer (SentencePiece \"llama\" or byte-level BPE \"gpt2\")",
    );
  }
  if (entry !== undefined) {
    if (entry.type !== "array" || entry.itemType !== "string") {
      throw keyError(file, "tokenizer.ggml.tokens", `is ${describe(entry)}; expected an array of strings`);
    }
    const tokens = entry.value as string[];
    if (tokens.length === 0) throw vocabError(file, "tokenizer.ggml.tokens is empty");
    checkDistinct(file, tokens);
    nVocab = tokens.length;
    for (const [key, itemTypes] of [["tokenizer.ggml.scores", ["f32", "i32"]], ["tokenizer.ggml.token_type", ["i32"]]] as const) {
      const values = file.metadata.get(key);
      if (values === undefined) continue;
      if (values.type !== "array" || !(itemTypes as readonly string[]).includes(values.itemType)) {
        throw keyError(file, key, `is ${describe(values)}; expected an array of ${itemTypes.join(" or ")}`);
      }
      if (values.value.length < tokens.length) throw keyError(file, key, `holds ${values.value.length} values for ${tokens.length} tokens`);
    }
    if (model?.type === "string" && model.value === "llama") checkByteTokens(file, tokens);
  }
  if (nVocab === undefined) return undefined;

  for (const key of SPECIAL_TOKEN_KEYS) {
    const id = integer(file, key);
    if (id !== undefined && (id < 0 || id >= nVocab)) {
      throw keyError(file, key, `is ${id}, outside the ${nVocab}-token vocabulary (ids 0 to ${nVocab - 1})`);
    }
  }
  checkAddedTokens(file, nVocab);
  return nVocab;
}

/** llama.cpp maps token text to id and asserts that no text appears twice (an empty token reads as "[EMPTY_<id>]"). */
function checkDistinct(file: GgufFile, tokens: readonly string[]): void {
  const idOf = new Map<string, number>();
  tokens.forEach((token, id) => {
    const text = token === "" ? `[EMPTY_${id}]` : token;
    const first = idOf.get(text);
    if (first !== undefined) {
      const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
      throw vocabError(file, `tokenizer.ggml.tokens holds the token ${shown} twice, at ids ${first} and ${id}`);
    }
    idOf.set(text, id);
  });
}

/**
 * A SentencePiece ("llama") vocabulary falls back to byte tokens <0xNN> for text it has no piece
 * for; a missing one makes llama.cpp throw from inside tokenization, which ends the process.
 */
function checkByteTokens(file: GgufFile, tokens: readonly string[]): void {
  const present = new Set(tokens);
  for (let byte = 0; byte < 256; byte++) {
    const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (!present.has(hex) && !(byte < 0x80 && present.has(String.fromCharCode(byte)))) {
      throw vocabError(file, `the SentencePiece vocabulary has no byte token ${hex}, which llama.cpp needs to tokenize arbitrary text`);
    }
  }
}

/** A BOS or EOS token that llama.cpp adds must exist, or its tokenizer asserts. */
function checkAddedTokens(file: GgufFile, nVocab: number): void {
  const model = file.metadata.get("tokenizer.ggml.model");
  const defaults = model?.type === "string" ? TOKENIZER_DEFAULTS[model.value] : undefined;
  if (!defaults) return;
  const flag = (name: string, fallback: boolean) => {
    const entry = file.metadata.get(`tokenizer.ggml.${name}`);
    return entry?.type === "bool" ? entry.value : fallback;
  };
  const added = [
    ["add_bos_token", flag("add_bos_token", defaults.addBos), "bos_token_id", defaults.bos],
    ["add_eos_token", flag("add_eos_token", defaults.addEos), "eos_token_id", defaults.eos],
  ] as const;
  for (const [addKey, adds, idKey, fallbackId] of added) {
    if (!adds) continue;
    const id = integer(file, `tokenizer.ggml.${idKey}`) ?? (fallbackId !== undefined && fallbackId < nVocab ? fallbackId : undefined);
    if (id === undefined) {
      throw keyError(
        file,
        `tokenizer.ggml.${addKey}`,
        `is true (or left to llama.cpp's default), but the file has no tokenizer.ggml.${idKey} inside its ${nVocab}-token vocabulary`,
        `set tokenizer.ggml.${idKey} to a token id below ${nVocab}, or tokenizer.ggml.${addKey} to false`,
      );
    }
  }
}

// ---- tensors -----------------------------------------------------------------------------------

/**
 * Every tensor must be a type ggml computes with, and the vectors added to or multiplied into the
 * F32 activations (norm weights, biases, every 1-D tensor) must be F32, as converters store them:
 * ggml's CPU backend aborts on an F32 activation times an F16 vector.
 */
function checkTensorTypes(file: GgufFile): void {
  for (const tensor of file.tensors) {
    const type = ggmlTypeName(tensor.type);
    if (NOT_WEIGHT_TYPES.has(tensor.type)) {
      throw new InputError(`${file.path}: tensor "${tensor.name}" is ${type}, a type ggml cannot compute with as a weight; llama.cpp would crash on it`, FIX_TENSOR);
    }
    const isVector = tensor.dims.length === 1 || /(_norm\.weight|\.bias)$/.test(tensor.name);
    if (isVector && tensor.type !== GgmlType.F32) {
      throw new InputError(
        `${file.path}: tensor "${tensor.name}" is ${type}, but norm weights, biases and other 1-D tensors must be F32 (ggml aborts adding or multiplying them into F32 activations)`,
        FIX_TENSOR,
      );
    }
  }
}

/**
 * The Llama-family tensors llama.cpp and the trainer build their graphs from must have the shapes
 * the hyperparameters imply (ne order, no extra dimensions); a mismatch the trainer does not look
 * for can reach a ggml assertion.
 */
function checkTensorShapes(file: GgufFile, arch: string, h: Hyperparameters, nVocab: number | undefined): void {
  const expect = (name: string, dims: readonly number[]) => {
    const tensor = findTensor(file, name);
    if (!tensor || dims.some((d) => !(d > 0) || !Number.isInteger(d))) return;
    if (tensor.dims.length !== dims.length || tensor.dims.some((d, i) => d !== dims[i])) {
      throw new InputError(`${file.path}: tensor "${name}" has dims [${tensor.dims.join(", ")}], but the model's hyperparameters need [${dims.join(", ")}]`, FIX_TENSOR);
    }
  };
  const { nEmbd, headK, headV } = h;
  if (nVocab !== undefined) {
    expect("token_embd.weight", [nEmbd, nVocab]);
    expect("output.weight", [nEmbd, nVocab]);
  }
  expect("output_norm.weight", [nEmbd]);
  if (h.nHead.length === 0) return;
  if (h.nRot > 0) expect("rope_freqs.weight", [h.nRot / 2]);
  // phi3 fuses q, k and v; the other architectures lethe loads keep them apart.
  const separateQkv = arch !== "phi3";
  for (let layer = 0; layer < h.nLayer; layer++) {
    const blk = (name: string) => `blk.${layer}.${name}`;
    const nHead = h.nHead[layer]!;
    const nHeadKv = h.nHeadKv[layer]!;
    expect(blk("attn_norm.weight"), [nEmbd]);
    if (separateQkv) {
      expect(blk("attn_q.weight"), [nEmbd, nHead * headK]);
      expect(blk("attn_k.weight"), [nEmbd, nHeadKv * headK]);
      expect(blk("attn_v.weight"), [nEmbd, nHeadKv * headV]);
      expect(blk("attn_q.bias"), [nHead * headK]);
      expect(blk("attn_k.bias"), [nHeadKv * headK]);
      expect(blk("attn_v.bias"), [nHeadKv * headV]);
    }
    expect(blk("attn_output.weight"), [nHead * headV, nEmbd]);
    expect(blk("ffn_norm.weight"), [nEmbd]);
    const nFf = h.nFf?.[layer];
    if (nFf !== undefined && h.nExpert === 0 && separateQkv) {
      expect(blk("ffn_gate.weight"), [nEmbd, nFf]);
      expect(blk("ffn_up.weight"), [nEmbd, nFf]);
      expect(blk("ffn_down.weight"), [nFf, nEmbd]);
    }
  }
}

// ---- reading values ----------------------------------------------------------------------------

/** An integer-typed value, or undefined when absent; a value of another type is an InputError. */
function integer(file: GgufFile, key: string): number | undefined {
  const entry = file.metadata.get(key);
  if (entry === undefined) return undefined;
  if (entry.type === "u64" || entry.type === "i64") {
    const value = Number(entry.value);
    if (!Number.isSafeInteger(value)) throw keyError(file, key, `is ${entry.value}, which is absurdly large`);
    return value;
  }
  if (entry.type === "f32" || entry.type === "f64" || typeof entry.value !== "number") {
    throw keyError(file, key, `is ${describe(entry)}; expected an integer`);
  }
  return entry.value;
}

/** A numeric value, or undefined when absent; a value of another type is an InputError. */
function float(file: GgufFile, key: string): number | undefined {
  const entry = file.metadata.get(key);
  if (entry === undefined) return undefined;
  if (typeof entry.value === "number") return entry.value;
  if (typeof entry.value === "bigint") return Number(entry.value);
  throw keyError(file, key, `is ${describe(entry)}; expected a number`);
}

function checkFinite(file: GgufFile, key: string, entry: GgufValue): void {
  if (entry.type === "f32" || entry.type === "f64") {
    if (!Number.isFinite(entry.value)) throw keyError(file, key, `is ${entry.value}; expected a finite number`);
  } else if (entry.type === "array" && (entry.itemType === "f32" || entry.itemType === "f64")) {
    const i = (entry.value as number[]).findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw keyError(file, `${key}[${i}]`, `is ${(entry.value as number[])[i]}; expected a finite number`);
  }
}

function describe(entry: GgufValue): string {
  if (entry.type === "array") return `an array of ${entry.itemType}`;
  const text = typeof entry.value === "string" ? JSON.stringify(entry.value.slice(0, 60)) : String(entry.value);
  return `${entry.type} ${text}`;
}

function keyError(file: GgufFile, key: string, problem: string, fix = FIX_KEY): InputError {
  return new InputError(`${file.path}: metadata "${key}" ${problem}`, fix);
}

function vocabError(file: GgufFile, problem: string): InputError {
  return new InputError(`${file.path}: ${problem}; llama.cpp would abort loading it`, FIX_VOCAB);
}
