// lethe's own tokenizer: GPT-2 style byte-level BPE whose encoding is identical to what llama.cpp
// computes from the GGUF keys this class writes (tokenizer.ggml.model "gpt2", pre "gpt-2").

import { FileFormatError, InputError, LetheError, UnsupportedModelError } from "../errors.js";
import type { GgufMetadata, GgufValue } from "../gguf/types.js";
import { bytesToTokenString, tokenStringToBytes } from "./byte-unicode.js";
import { MinHeap } from "./heap.js";
import { pretokenize } from "./pretokenize.js";
import { learnMerges } from "./train.js";

export interface BpeTrainOptions {
  /** Total vocabulary size: 256 byte tokens + learned tokens + special tokens. */
  vocabSize: number;
  /**
   * Special (control) tokens, appended after the learned tokens. The first three are the BOS, EOS
   * and padding tokens, in that order; any further ones are extra control tokens.
   * Default `["<|bos|>", "<|eos|>", "<|pad|>"]`.
   */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** Called after each learned merge with (tokens learned so far, tokens wanted). */
  onProgress?: (done: number, total: number) => void;
}

export interface EncodeOptions {
  /** Prepend the BOS token (default false, like node-llama-cpp's `model.tokenize`). */
  addBos?: boolean;
  /** Append the EOS token (default false). */
  addEos?: boolean;
}

export interface DecodeOptions {
  /** Write special tokens as their text instead of dropping them (default false, like llama.cpp). */
  renderSpecial?: boolean;
}

/** The token lists a tokenizer is built from: the content of its GGUF keys or its JSON form. */
interface TokenizerData {
  /** Byte-level token strings (see byte-unicode.ts); special tokens as their plain text. */
  tokens: string[];
  /** Per token: TOKEN_TYPE_NORMAL or TOKEN_TYPE_CONTROL. */
  tokenTypes: number[];
  /** "left right" token strings, in rank order. */
  merges: string[];
  bosId: number;
  eosId: number;
  padId: number;
}

const DEFAULT_SPECIAL_TOKENS = ["<|bos|>", "<|eos|>", "<|pad|>"];
const DEFAULT_MIN_FREQUENCY = 2;
// llama.cpp's llama_token_type numbering.
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;
const TOKENIZER_MODEL = "gpt2";
// llama.cpp's name for the GPT-2 pre-tokenizer regex; "gpt2" here would be rejected as unknown.
const PRE_TOKENIZER = "gpt-2";
const JSON_FORMAT = "lethe-bpe-tokenizer";
const JSON_VERSION = 1;
// Encoding a text revisits the same words constantly; past this many distinct ones the cache is
// dropped rather than grown without bound.
const WORD_CACHE_LIMIT = 200_000;

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is text like any other and must survive decode(encode(text)).
const lenientUtf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A trained byte-level BPE tokenizer. Build one with `train`, `fromGgufMetadata` or `fromJSON`. */
export class BpeTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;

  private readonly tokens: readonly string[];
  private readonly tokenTypes: readonly number[];
  private readonly merges: readonly string[];
  /** Per token, the bytes it stands for (for control tokens: the UTF-8 of their text). */
  private readonly tokenBytes: readonly Uint8Array[];
  private readonly byteToId: Int32Array;
  /** (left id * vocabSize + right id) -> merge rank. */
  private readonly mergeRank: Map<number, number>;
  /** Merge rank -> id of the merged token. */
  private readonly mergeResult: Int32Array;
  private wordCache = new Map<string, readonly number[]>();

  private constructor(data: TokenizerData, invalid: (problem: string) => LetheError) {
    const { tokens, tokenTypes, merges } = data;
    if (tokenTypes.length !== tokens.length) {
      throw invalid(`it lists ${tokens.length} tokens but ${tokenTypes.length} token types`);
    }
    const { idOf, tokenBytes, byteToId } = indexTokens(tokens, tokenTypes, invalid);
    const vocabSize = tokens.length;
    const { mergeRank, mergeResult } = indexMerges(merges, idOf, tokenTypes, vocabSize, invalid);

    for (const [name, id] of [["BOS", data.bosId], ["EOS", data.eosId], ["padding", data.padId]] as const) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw invalid(`the ${name} token id ${id} is not a token id (0..${vocabSize - 1})`);
      }
    }

    this.vocabSize = vocabSize;
    this.bosId = data.bosId;
    this.eosId = data.eosId;
    this.padId = data.padId;
    this.tokens = [...tokens];
    this.tokenTypes = [...tokenTypes];
    this.merges = [...merges];
    this.tokenBytes = tokenBytes;
    this.byteToId = byteToId;
    this.mergeRank = mergeRank;
    this.mergeResult = mergeResult;
  }

  /**
   * Learn a tokenizer from `texts`. The vocabulary is the 256 byte tokens, then up to
   * `vocabSize - 256 - specialTokens.length` learned tokens, then the special tokens. It is smaller
   * than `vocabSize` only when the corpus runs out of pairs seen `minFrequency` times.
   * The same texts and options always give the same tokenizer.
   */
  static train(texts: Iterable<string>, opts: BpeTrainOptions): BpeTokenizer {
    const { vocabSize, specialTokens, minFrequency, onProgress } = checkTrainOptions(opts);
    if (typeof texts === "string" || typeof (texts as Partial<Iterable<string>>)?.[Symbol.iterator] !== "function") {
      throw new InputError("the training texts are not a list of strings", "pass an array (or other iterable) of strings");
    }

    const wordCounts = new Map<string, number>();
    let textCount = 0;
    let hasText = false;
    for (const text of texts) {
      if (typeof text !== "string") {
        throw new InputError(`training text ${textCount} is a ${typeof text}, not a string`, "pass only strings");
      }
      textCount++;
      hasText ||= /\S/.test(text);
      for (const word of pretokenize(text)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
    if (textCount === 0) throw new InputError("the training corpus is empty", "give at least one non-empty text");
    if (!hasText) {
      throw new InputError(
        `the training corpus (${textCount} texts) contains no text, only whitespace or empty strings`,
        "give texts that contain words",
      );
    }

    const learned = learnMerges(wordCounts, {
      maxTokens: vocabSize - specialTokens.length,
      minFrequency,
      forbidden: new Set(specialTokens),
      onProgress,
    });
    const tokens = learned.tokens.map(bytesToTokenString);
    const merges = learned.merges.map((m) => `${tokens[m.left]} ${tokens[m.right]}`);
    const tokenTypes = tokens.map(() => TOKEN_TYPE_NORMAL);
    const firstSpecial = tokens.length;
    for (const special of specialTokens) {
      tokens.push(special);
      tokenTypes.push(TOKEN_TYPE_CONTROL);
    }
    return new BpeTokenizer(
      { tokens, tokenTypes, merges, bosId: firstSpecial, eosId: firstSpecial + 1, padId: firstSpecial + 2 },
      (problem) => new LetheError(`the trained tokenizer is inconsistent: ${problem}`, "report this as a lethe bug"),
    );
  }

  /**
   * Token ids for `text`, identical to llama.cpp's tokenization of it with this tokenizer's GGUF
   * keys (special-token texts inside `text` are plain text, as with node-llama-cpp's default).
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") {
      throw new InputError(`the text to encode is a ${typeof text}, not a string`, "pass a string");
    }
    const ids: number[] = [];
    if (opts?.addBos) ids.push(this.bosId);
    for (const word of pretokenize(text)) {
      for (const id of this.encodeWord(word)) ids.push(id);
    }
    if (opts?.addEos) ids.push(this.eosId);
    return ids;
  }

  /**
   * The text of `ids`. Special tokens are dropped unless `renderSpecial`; byte sequences that are
   * not valid UTF-8 (a cut-off character) become U+FFFD. `decode(encode(t)) === t` for every
   * well-formed string `t`.
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new InputError("the ids to decode are not an array", "pass an array of token ids");
    const pieces: Uint8Array[] = [];
    let length = 0;
    ids.forEach((id, index) => {
      this.checkId(id, `ids[${index}]`);
      if (this.tokenTypes[id] === TOKEN_TYPE_CONTROL && !opts?.renderSpecial) return;
      pieces.push(this.tokenBytes[id]);
      length += this.tokenBytes[id].length;
    });
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const piece of pieces) {
      bytes.set(piece, offset);
      offset += piece.length;
    }
    return lenientUtf8Decoder.decode(bytes);
  }

  /** The text of one token: a special token's own text, else its bytes decoded leniently (U+FFFD for a partial character). */
  tokenToPiece(id: number): string {
    this.checkId(id, "the token id");
    return this.tokenTypes[id] === TOKEN_TYPE_CONTROL ? this.tokens[id] : lenientUtf8Decoder.decode(this.tokenBytes[id]);
  }

  /** Whether `id` is a special (control) token such as BOS, EOS or padding. */
  isSpecial(id: number): boolean {
    this.checkId(id, "the token id");
    return this.tokenTypes[id] === TOKEN_TYPE_CONTROL;
  }

  /** The `tokenizer.*` GGUF keys that make llama.cpp tokenize exactly like `encode`. */
  toGgufMetadata(): GgufMetadata {
    return new Map<string, GgufValue>([
      ["tokenizer.ggml.model", { type: "string", value: TOKENIZER_MODEL }],
      ["tokenizer.ggml.pre", { type: "string", value: PRE_TOKENIZER }],
      ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: [...this.tokens] }],
      ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: [...this.tokenTypes] }],
      ["tokenizer.ggml.merges", { type: "array", itemType: "string", value: [...this.merges] }],
      ["tokenizer.ggml.bos_token_id", { type: "u32", value: this.bosId }],
      ["tokenizer.ggml.eos_token_id", { type: "u32", value: this.eosId }],
      ["tokenizer.ggml.padding_token_id", { type: "u32", value: this.padId }],
      ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
      ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ]);
  }

  /**
   * Rebuild a tokenizer from GGUF metadata (only the `tokenizer.*` keys are read). Accepts the
   * keys `toGgufMetadata` writes and any other GPT-2 style byte-level BPE vocabulary with normal
   * and control tokens; without a padding token id, EOS doubles as padding.
   */
  static fromGgufMetadata(meta: GgufMetadata): BpeTokenizer {
    if (!(meta instanceof Map)) {
      throw new InputError("the GGUF metadata is not a Map", "pass the metadata map read from a GGUF file");
    }
    const model = ggufString(meta, "tokenizer.ggml.model");
    if (model !== TOKENIZER_MODEL) {
      throw new UnsupportedModelError(
        `tokenizer.ggml.model is "${model}"; lethe's tokenizer reads only "${TOKENIZER_MODEL}" (byte-level BPE)`,
        "use a model with a GPT-2 style BPE tokenizer, or let llama.cpp tokenize for this model",
      );
    }
    const pre = ggufString(meta, "tokenizer.ggml.pre");
    if (pre !== PRE_TOKENIZER) {
      throw new UnsupportedModelError(
        `tokenizer.ggml.pre is "${pre}"; lethe's tokenizer implements only the "${PRE_TOKENIZER}" pre-tokenizer`,
        "use a model whose tokenizer uses the gpt-2 pre-tokenizer, or let llama.cpp tokenize for this model",
      );
    }
    const tokens = ggufArray(meta, "tokenizer.ggml.tokens", "string") as string[];
    const eosId = ggufInteger(meta, "tokenizer.ggml.eos_token_id");
    return new BpeTokenizer(
      {
        tokens,
        tokenTypes: (ggufArray(meta, "tokenizer.ggml.token_type", "number") as number[]).slice(0, tokens.length),
        merges: ggufArray(meta, "tokenizer.ggml.merges", "string") as string[],
        bosId: ggufInteger(meta, "tokenizer.ggml.bos_token_id"),
        eosId,
        padId: meta.has("tokenizer.ggml.padding_token_id") ? ggufInteger(meta, "tokenizer.ggml.padding_token_id") : eosId,
      },
      (problem) =>
        new FileFormatError(`the GGUF tokenizer is invalid: ${problem}`, "regenerate the model file with a valid tokenizer"),
    );
  }

  /** A plain-JSON form for caching; `fromJSON` validates it fully on load. */
  toJSON(): object {
    return {
      format: JSON_FORMAT,
      version: JSON_VERSION,
      pre: PRE_TOKENIZER,
      tokens: [...this.tokens],
      tokenTypes: [...this.tokenTypes],
      merges: [...this.merges],
      bosId: this.bosId,
      eosId: this.eosId,
      padId: this.padId,
    };
  }

  /** Rebuild a tokenizer from `toJSON()` output (e.g. after JSON.parse of a cache file). */
  static fromJSON(o: unknown): BpeTokenizer {
    const fail = (problem: string) =>
      new FileFormatError(`the cached tokenizer is invalid: ${problem}`, "delete the tokenizer cache file and rerun");
    if (typeof o !== "object" || o === null) throw fail("it is not a JSON object");
    const obj = o as Record<string, unknown>;
    if (obj.format !== JSON_FORMAT || obj.version !== JSON_VERSION) {
      throw fail(`it is not a ${JSON_FORMAT} version ${JSON_VERSION} object`);
    }
    if (obj.pre !== PRE_TOKENIZER) throw fail(`its pre-tokenizer ${JSON.stringify(obj.pre)} is not "${PRE_TOKENIZER}"`);
    for (const key of ["tokens", "tokenTypes", "merges"]) {
      if (!Array.isArray(obj[key])) throw fail(`"${key}" is not an array`);
    }
    return new BpeTokenizer(
      {
        tokens: obj.tokens as string[],
        tokenTypes: obj.tokenTypes as number[],
        merges: obj.merges as string[],
        bosId: obj.bosId as number,
        eosId: obj.eosId as number,
        padId: obj.padId as number,
      },
      fail,
    );
  }

  private checkId(id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InputError(
        `${what} (${String(id)}) is not a token id of this tokenizer (0..${this.vocabSize - 1})`,
        "pass ids produced by this tokenizer",
      );
    }
  }

  /**
   * BPE on one pre-token, the way llama.cpp's llm_tokenizer_bpe_session does it: repeatedly merge
   * the adjacent pair with the lowest merge rank, the leftmost one on ties.
   */
  private encodeWord(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached) return cached;

    const bytes = utf8Encoder.encode(word);
    const n = bytes.length;
    const ids = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = this.byteToId[bytes[i]];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // A candidate merge at position `left` with rank `rank` is the number rank * n + left, so the
    // heap's order is rank first, position second. Entries go stale when a neighbour merges
    // first; they are recognised by the pair at `left` no longer having that rank.
    const heap = new MinHeap<number>((x, y) => x < y);
    const rankAt = (left: number): number => {
      const right = next[left];
      if (right < 0) return -1;
      return this.mergeRank.get(ids[left] * this.vocabSize + ids[right]) ?? -1;
    };
    const consider = (left: number): void => {
      const rank = left < 0 ? -1 : rankAt(left);
      if (rank >= 0) heap.push(rank * n + left);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);

    for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) {
      const rank = Math.floor(entry / n);
      const left = entry - rank * n;
      if (ids[left] < 0 || rankAt(left) !== rank) continue;
      const right = next[left];
      ids[left] = this.mergeResult[rank];
      ids[right] = -1;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      consider(prev[left]);
      consider(left);
    }

    const result: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) result.push(ids[i]);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache = new Map();
    this.wordCache.set(word, result);
    return result;
  }
}

/** Per token its bytes, and the lookups from a token's string and from a single byte to its id. */
function indexTokens(tokens: readonly string[], tokenTypes: readonly number[], invalid: (problem: string) => LetheError) {
  const idOf = new Map<string, number>();
  const tokenBytes: Uint8Array[] = [];
  const byteToId = new Int32Array(256).fill(-1);
  tokens.forEach((token, id) => {
    if (typeof token !== "string" || token === "") throw invalid(`token ${id} is not a non-empty string`);
    if (idOf.has(token)) throw invalid(`token ${id} ${JSON.stringify(token)} duplicates token ${idOf.get(token)}`);
    idOf.set(token, id);
    if (tokenTypes[id] === TOKEN_TYPE_CONTROL) {
      tokenBytes.push(utf8Encoder.encode(token));
    } else if (tokenTypes[id] === TOKEN_TYPE_NORMAL) {
      const bytes = tokenStringToBytes(token);
      if (!bytes) throw invalid(`token ${id} ${JSON.stringify(token)} is not a byte-level BPE token`);
      tokenBytes.push(bytes);
      if (bytes.length === 1) byteToId[bytes[0]] = id;
    } else {
      throw invalid(
        `token ${id} has token type ${JSON.stringify(tokenTypes[id])}; only normal (1) and control (3) are supported`,
      );
    }
  });
  const missingByte = byteToId.indexOf(-1);
  if (missingByte >= 0) throw invalid(`no token stands for the byte 0x${missingByte.toString(16).padStart(2, "0")}`);
  return { idOf, tokenBytes, byteToId };
}

/** The merge table: rank by (left id * vocabSize + right id), and the merged token of each rank. */
function indexMerges(
  merges: readonly string[],
  idOf: ReadonlyMap<string, number>,
  tokenTypes: readonly number[],
  vocabSize: number,
  invalid: (problem: string) => LetheError,
) {
  const mergeRank = new Map<number, number>();
  const mergeResult = new Int32Array(merges.length).fill(-1);
  merges.forEach((merge, rank) => {
    // Split at the first space after the first character, as llama.cpp does.
    const space = typeof merge === "string" ? merge.indexOf(" ", 1) : -1;
    const left = space > 0 ? idOf.get(merge.slice(0, space)) : undefined;
    const right = space > 0 ? idOf.get(merge.slice(space + 1)) : undefined;
    const result = space > 0 ? idOf.get(merge.slice(0, space) + merge.slice(space + 1)) : undefined;
    if (left === undefined || right === undefined || result === undefined) {
      throw invalid(`merge ${rank} ${JSON.stringify(merge)} is not two tokens whose concatenation is a token`);
    }
    if (tokenTypes[left] !== TOKEN_TYPE_NORMAL || tokenTypes[right] !== TOKEN_TYPE_NORMAL) {
      throw invalid(`merge ${rank} ${JSON.stringify(merge)} involves a special token`);
    }
    const key = left * vocabSize + right;
    // A repeated pair keeps its first (best) rank, as in llama.cpp.
    if (!mergeRank.has(key)) {
      mergeRank.set(key, rank);
      mergeResult[rank] = result;
    }
  });
  return { mergeRank, mergeResult };
}

/** Validated training options with their defaults filled in. */
interface TrainSettings {
  vocabSize: number;
  specialTokens: string[];
  minFrequency: number;
  onProgress?: (done: number, total: number) => void;
}

function checkTrainOptions(opts: BpeTrainOptions): TrainSettings {
  if (typeof opts !== "object" || opts === null) {
    throw new InputError("the training options are missing", "pass an options object with at least vocabSize");
  }
  const specialTokens = opts.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  if (!Array.isArray(specialTokens) || specialTokens.length < 3) {
    throw new InputError(
      "specialTokens must list at least the BOS, EOS and padding tokens (3 strings)",
      'pass e.g. ["<|bos|>", "<|eos|>", "<|pad|>"] or leave specialTokens out',
    );
  }
  specialTokens.forEach((special, i) => {
    if (typeof special !== "string" || special === "") {
      throw new InputError(`specialTokens[${i}] is not a non-empty string`, "give every special token some text");
    }
    if (specialTokens.indexOf(special) !== i) {
      throw new InputError(`special token ${JSON.stringify(special)} is listed twice`, "list each special token once");
    }
    if (special.length === 1 && tokenStringToBytes(special)) {
      throw new InputError(
        `special token ${JSON.stringify(special)} is the text of a byte token`,
        "give special tokens a distinctive text such as <|name|>",
      );
    }
  });
  const minimum = 256 + specialTokens.length;
  const { vocabSize } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < minimum) {
    throw new InputError(
      `vocabSize ${String(vocabSize)} is too small: the minimum is ${minimum} (256 byte tokens + ${specialTokens.length} special tokens)`,
      `set vocabSize to an integer of at least ${minimum}`,
    );
  }
  const minFrequency = opts.minFrequency ?? DEFAULT_MIN_FREQUENCY;
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new InputError(`minFrequency ${String(minFrequency)} is not a positive integer`, "set minFrequency to 1 or more");
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== "function") {
    throw new InputError("onProgress is not a function", "pass a function (done, total) => void or leave it out");
  }
  return { vocabSize, specialTokens, minFrequency, onProgress: opts.onProgress };
}

function ggufEntry(meta: GgufMetadata, key: string): GgufValue {
  const entry = meta.get(key);
  if (!entry) {
    throw new FileFormatError(`the GGUF metadata has no ${key}`, "regenerate the model file with a complete tokenizer");
  }
  return entry;
}

function ggufString(meta: GgufMetadata, key: string): string {
  const entry = ggufEntry(meta, key);
  if (entry.type !== "string") {
    throw new FileFormatError(`GGUF key ${key} is a ${entry.type}, not a string`, "regenerate the model file");
  }
  return entry.value;
}

function ggufInteger(meta: GgufMetadata, key: string): number {
  const entry = ggufEntry(meta, key);
  const value = entry.type === "u64" || entry.type === "i64" ? Number(entry.value) : entry.value;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new FileFormatError(`GGUF key ${key} is not an integer`, "regenerate the model file");
  }
  return value;
}

function ggufArray(meta: GgufMetadata, key: string, itemKind: "string" | "number"): unknown[] {
  const entry = ggufEntry(meta, key);
  if (entry.type !== "array" || !entry.value.every((item) => typeof item === itemKind)) {
    throw new FileFormatError(`GGUF key ${key} is not an array of ${itemKind}s`, "regenerate the model file");
  }
  return entry.value;
}
