/**
 * Reading GGUF, llama.cpp's model format: the header in full and tensor data only on request, so a
 * multi-gigabyte model costs little memory. Every length and offset is checked against the file, so a
 * damaged or truncated model is refused with an error instead of being half read.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FileFormatError, InputError, UnsupportedModelError } from "../errors.js";
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_READ_VERSIONS,
  SCALAR_BYTES,
  VALUE_TYPE_BY_CODE,
  alignUp,
} from "./format.js";
import { ggmlTensorBytes, ggmlTypeName, isKnownGgmlType } from "./ggml-types.js";
import { bf16ArrayToF32, f16ArrayToF32 } from "./half.js";
import { GgmlType, type GgufFile, type GgufMetadata, type GgufScalarType, type GgufTensorInfo, type GgufValue } from "./types.js";

const FIX_CORRUPT = "re-download or re-convert the model file; this copy is damaged or incomplete";

/** Smallest possible encodings, used to reject counts that the rest of the file could never hold. */
const MIN_KV_BYTES = 8 + 4 + 1; // key length, value type, a one-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, n_dims, type, offset
const MIN_STRING_BYTES = 8;
/**
 * Caps far above any real model (the largest vocabularies and merge lists hold about a million
 * items, chat templates tens of KB) that keep a corrupt length from allocating gigabytes.
 */
const MAX_ARRAY_ITEMS = 1 << 24;
const MAX_STRING_BYTES = 1 << 26;

/**
 * Reads the header of a GGUF (v2 or v3) file: metadata and tensor infos, not the tensor data, so a
 * multi-GB model costs only its header in memory. Validates the whole structure, including that every
 * tensor's data lies inside the file. Throws InputError when the file is missing, FileFormatError when
 * it is not GGUF or is corrupt or truncated (naming the byte offset), UnsupportedModelError for a GGUF
 * version or tensor type this reader does not know.
 */
export function readGguf(path: string): GgufFile {
  const fd = openForReading(path);
  try {
    const fileSize = fstatSync(fd).size;
    const reader = new HeaderReader(fd, fileSize, path);
    checkMagic(reader, path, fileSize);
    const version = reader.u32();
    if (!GGUF_READ_VERSIONS.includes(version)) {
      const swapped = (version & 0xffff) === 0 ? " (a big-endian file?)" : "";
      throw new UnsupportedModelError(
        `${path} is GGUF version ${version}${swapped}; lethe reads versions ${GGUF_READ_VERSIONS.join(" and ")}`,
        "re-convert the model with a current llama.cpp (convert_hf_to_gguf.py)",
      );
    }
    const tensorCount = reader.count("tensor count", MIN_TENSOR_INFO_BYTES);
    const kvCount = reader.count("metadata entry count", MIN_KV_BYTES);

    const metadata: GgufMetadata = new Map();
    for (let i = 0; i < kvCount; i++) {
      const at = reader.position;
      const key = reader.string(`key of metadata entry ${i}`);
      if (key.length === 0) throw reader.corrupt(at, `metadata entry ${i} has an empty key`);
      if (metadata.has(key)) throw reader.corrupt(at, `metadata key "${key}" appears twice`);
      metadata.set(key, readValue(reader, key));
    }
    const alignment = alignmentOf(metadata, path);

    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      const at = reader.position;
      const name = reader.string(`name of tensor ${i}`);
      if (Buffer.byteLength(name, "utf8") > GGML_MAX_NAME_BYTES) {
        throw reader.corrupt(at, `tensor name "${name.slice(0, 80)}" is longer than ${GGML_MAX_NAME_BYTES} bytes`);
      }
      if (names.has(name)) throw reader.corrupt(at, `tensor "${name}" appears twice`);
      names.add(name);
      const nDims = reader.u32();
      if (nDims > GGML_MAX_DIMS) throw reader.corrupt(at, `tensor "${name}" has ${nDims} dimensions (at most ${GGML_MAX_DIMS})`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(reader.safeU64(`dimension ${d} of tensor "${name}"`));
      if (dims.reduce((n, d) => n * d, 1) > Number.MAX_SAFE_INTEGER) {
        throw reader.corrupt(at, `tensor "${name}" has an impossible shape [${dims.join(", ")}]`);
      }
      const type = reader.u32();
      if (!isKnownGgmlType(type)) {
        throw new UnsupportedModelError(
          `${path}: tensor "${name}" has ggml type ${type}, which lethe does not know`,
          "convert the model to F16, BF16, F32 or a standard llama.cpp quantization",
        );
      }
      const nbytes = ggmlTensorBytes(type, dims, `${path}: tensor "${name}"`);
      const offset = reader.safeU64(`data offset of tensor "${name}"`);
      if (offset % alignment !== 0) {
        throw reader.corrupt(at, `tensor "${name}" has data offset ${offset}, not a multiple of the alignment ${alignment}`);
      }
      // Relative to the data section until its start is known.
      tensors.push({ name, dims, type, offset, nbytes });
    }

    const dataOffset = tensorCount > 0 ? alignUp(reader.position, alignment) : reader.position;
    for (const tensor of tensors) {
      tensor.offset += dataOffset;
      const end = tensor.offset + tensor.nbytes;
      if (end > fileSize) {
        throw new FileFormatError(
          `${path} is truncated: tensor "${tensor.name}" needs bytes ${tensor.offset} to ${end} but the file ends at byte ${fileSize}`,
          FIX_CORRUPT,
        );
      }
    }
    return { path, version, alignment, metadata, tensors, dataOffset, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** The tensor named `name`, or undefined. */
export function findTensor(file: GgufFile, name: string): GgufTensorInfo | undefined {
  return file.tensors.find((t) => t.name === name);
}

/**
 * The raw stored bytes of tensor `name` (any type, quantized ones included), read from disk now.
 * Throws InputError if the file has no such tensor, FileFormatError if the file shrank since it was read.
 */
export function readTensorBytes(file: GgufFile, name: string): Uint8Array {
  const tensor = requireTensor(file, name);
  const bytes = new Uint8Array(tensor.nbytes);
  readExactly(file.path, tensor.offset, bytes, `tensor "${name}"`);
  return bytes;
}

/**
 * The values of tensor `name` as f32, in ggml order (dims[0] fastest). Converts F16 and BF16; throws
 * UnsupportedModelError naming the type for any other type (quantized tensors are not dequantized).
 */
export function readTensorF32(file: GgufFile, name: string): Float32Array {
  const tensor = requireTensor(file, name);
  const elements = tensor.dims.reduce((n, d) => n * d, 1);
  switch (tensor.type) {
    case GgmlType.F32: {
      const values = new Float32Array(elements);
      readExactly(file.path, tensor.offset, new Uint8Array(values.buffer), `tensor "${name}"`);
      return values;
    }
    case GgmlType.F16:
    case GgmlType.BF16: {
      const halves = new Uint16Array(elements);
      readExactly(file.path, tensor.offset, new Uint8Array(halves.buffer), `tensor "${name}"`);
      return tensor.type === GgmlType.F16 ? f16ArrayToF32(halves) : bf16ArrayToF32(halves);
    }
    default:
      throw new UnsupportedModelError(
        `${file.path}: tensor "${name}" is ${ggmlTypeName(tensor.type)}; lethe reads only F32, F16 and BF16 tensors`,
        "use an F16, BF16 or F32 GGUF of the model (convert_hf_to_gguf.py --outtype f16)",
      );
  }
}

/** The value of string metadata `key`; FileFormatError naming the key if missing or not a string. */
export function metaString(file: GgufFile | GgufMetadata, key: string): string {
  const entry = requireEntry(file, key);
  if (entry.type !== "string") throw wrongType(file, key, entry, "a string");
  return entry.value;
}

/**
 * The value of numeric metadata `key` (any integer or float scalar; 64-bit ones must fit a double
 * exactly); FileFormatError naming the key if missing or not a number.
 */
export function metaNumber(file: GgufFile | GgufMetadata, key: string): number {
  const entry = requireEntry(file, key);
  if (entry.type === "u64" || entry.type === "i64") {
    const asNumber = Number(entry.value);
    if (!Number.isSafeInteger(asNumber)) throw wrongType(file, key, entry, "a number below 2^53");
    return asNumber;
  }
  if (typeof entry.value !== "number") throw wrongType(file, key, entry, "a number");
  return entry.value;
}

/** The JS type that holds a metadata value of GGUF type `T`. */
export type GgufValueOf<T extends GgufValue["type"]> = T extends "u64" | "i64"
  ? bigint
  : T extends "bool"
    ? boolean
    : T extends "string"
      ? string
      : T extends "array"
        ? number[] | bigint[] | boolean[] | string[]
        : number;

/**
 * The value of `key` if present, else undefined. A present value of another type than `type` is a
 * FileFormatError naming the key, so a wrong type is never silently treated as absent.
 * Example: `metaOptional(file, "tokenizer.ggml.add_bos_token", "bool") ?? true`.
 */
export function metaOptional<T extends GgufValue["type"]>(file: GgufFile | GgufMetadata, key: string, type: T): GgufValueOf<T> | undefined {
  const entry = metadataOf(file).get(key);
  if (entry === undefined) return undefined;
  if (entry.type !== type) throw wrongType(file, key, entry, type === "array" ? "an array" : `a ${type}`);
  return entry.value as GgufValueOf<T>;
}

type ArrayOf<T extends GgufScalarType> = T extends "string" ? string[] : T extends "bool" ? boolean[] : T extends "u64" | "i64" ? bigint[] : number[];

/**
 * The items of array metadata `key`, which must be an array of `itemType`; FileFormatError naming
 * the key otherwise. Example: `metaArray(file, "tokenizer.ggml.tokens", "string")`.
 */
export function metaArray<T extends GgufScalarType>(file: GgufFile | GgufMetadata, key: string, itemType: T): ArrayOf<T> {
  const entry = requireEntry(file, key);
  if (entry.type !== "array" || entry.itemType !== itemType) throw wrongType(file, key, entry, `an array of ${itemType}`);
  return entry.value as ArrayOf<T>;
}

function metadataOf(file: GgufFile | GgufMetadata): GgufMetadata {
  return file instanceof Map ? file : file.metadata;
}

function where(file: GgufFile | GgufMetadata): string {
  return file instanceof Map ? "GGUF metadata" : file.path;
}

function requireEntry(file: GgufFile | GgufMetadata, key: string): GgufValue {
  const entry = metadataOf(file).get(key);
  if (entry === undefined) {
    throw new FileFormatError(`${where(file)} has no metadata key "${key}"`, "use a GGUF converted by a current llama.cpp, which writes this key");
  }
  return entry;
}

function wrongType(file: GgufFile | GgufMetadata, key: string, entry: GgufValue, expected: string): FileFormatError {
  const actual = entry.type === "array" ? `an array of ${entry.itemType}` : `${entry.type} ${String(entry.value).slice(0, 60)}`;
  return new FileFormatError(
    `${where(file)}: metadata key "${key}" is ${actual}, expected ${expected}`,
    "use a GGUF converted by a current llama.cpp, which writes this key with the standard type",
  );
}

function requireTensor(file: GgufFile, name: string): GgufTensorInfo {
  const tensor = findTensor(file, name);
  if (!tensor) throw new InputError(`${file.path} has no tensor "${name}"`, "ask for a tensor listed in the file's tensor infos");
  return tensor;
}

function alignmentOf(metadata: GgufMetadata, path: string): number {
  const entry = metadata.get(GGUF_ALIGNMENT_KEY);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== "u32" || entry.value === 0 || (entry.value & (entry.value - 1)) !== 0) {
    throw new FileFormatError(`${path}: "${GGUF_ALIGNMENT_KEY}" must be a u32 power of two, got ${entry.type} ${String(entry.value)}`, FIX_CORRUPT);
  }
  return entry.value;
}

function checkMagic(reader: HeaderReader, path: string, fileSize: number): void {
  if (fileSize < GGUF_MAGIC.length) {
    throw new FileFormatError(`${path} is not a GGUF file (it is only ${fileSize} bytes long)`, "pass the path of a .gguf model file");
  }
  const magic = reader.bytes(GGUF_MAGIC.length);
  if (!magic.equals(GGUF_MAGIC)) {
    throw new FileFormatError(
      `${path} is not a GGUF file (it starts with bytes ${[...magic].map((b) => b.toString(16).padStart(2, "0")).join(" ")}, not "GGUF")`,
      "pass the path of a .gguf model file",
    );
  }
}

function readValue(reader: HeaderReader, key: string): GgufValue {
  const at = reader.position;
  const type = valueType(reader, key, at);
  if (type !== "array") return readScalar(reader, type, key);
  const itemAt = reader.position;
  const itemType = valueType(reader, key, itemAt);
  if (itemType === "array") throw reader.corrupt(itemAt, `metadata key "${key}" is an array of arrays, which lethe does not read`);
  const minItemBytes = itemType === "string" ? MIN_STRING_BYTES : SCALAR_BYTES[itemType];
  const count = reader.count(`item count of metadata key "${key}"`, minItemBytes, MAX_ARRAY_ITEMS);
  const items: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) items[i] = readScalar(reader, itemType, `${key}[${i}]`).value;
  return { type: "array", itemType, value: items as string[] };
}

function valueType(reader: HeaderReader, key: string, at: number): GgufScalarType | "array" {
  const code = reader.u32();
  const type = VALUE_TYPE_BY_CODE.get(code);
  if (type === undefined) throw reader.corrupt(at, `metadata key "${key}" has unknown value type ${code}`);
  return type;
}

function readScalar(reader: HeaderReader, type: GgufScalarType, key: string): GgufValue {
  const what = `value of metadata key "${key}"`;
  const read = <T>(n: number, decode: (buffer: Buffer, at: number) => T): T => reader.fixed(n, decode, what);
  switch (type) {
    case "string":
      return { type, value: reader.string(what) };
    case "bool":
      return { type, value: read(1, (b, at) => b.readUInt8(at)) !== 0 };
    case "u64":
      return { type, value: read(8, (b, at) => b.readBigUInt64LE(at)) };
    case "i64":
      return { type, value: read(8, (b, at) => b.readBigInt64LE(at)) };
    case "u8":
      return { type, value: read(1, (b, at) => b.readUInt8(at)) };
    case "i8":
      return { type, value: read(1, (b, at) => b.readInt8(at)) };
    case "u16":
      return { type, value: read(2, (b, at) => b.readUInt16LE(at)) };
    case "i16":
      return { type, value: read(2, (b, at) => b.readInt16LE(at)) };
    case "u32":
      return { type, value: read(4, (b, at) => b.readUInt32LE(at)) };
    case "i32":
      return { type, value: read(4, (b, at) => b.readInt32LE(at)) };
    case "f32":
      return { type, value: read(4, (b, at) => b.readFloatLE(at)) };
    case "f64":
      return { type, value: read(8, (b, at) => b.readDoubleLE(at)) };
  }
}

const CHUNK_BYTES = 1 << 20;

/**
 * Sequential little-endian reads through a 1 MiB window on an open file, so a header is parsed
 * without reading the (possibly multi-GB) file whole. Every read checks the file's end first.
 */
class HeaderReader {
  position = 0;
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
    private readonly path: string,
  ) {}

  /** Byte index into the window of `n` bytes at the current position, which then moves past them. */
  private take(n: number, what: string): number {
    if (this.position + n > this.fileSize) {
      throw new FileFormatError(
        `${this.path} is truncated at byte ${this.position}: ${what} needs ${n} bytes but the file ends at byte ${this.fileSize}`,
        FIX_CORRUPT,
      );
    }
    const windowEnd = this.windowStart + this.window.length;
    if (this.position < this.windowStart || this.position + n > windowEnd) {
      const size = Math.min(Math.max(n, CHUNK_BYTES), this.fileSize - this.position);
      this.window = Buffer.alloc(size);
      readAt(this.fd, this.window, this.position, this.path);
      this.windowStart = this.position;
    }
    const at = this.position - this.windowStart;
    this.position += n;
    return at;
  }

  fixed<T>(n: number, decode: (buffer: Buffer, at: number) => T, what = "a value"): T {
    const at = this.take(n, what);
    return decode(this.window, at);
  }

  bytes(n: number): Buffer {
    const at = this.take(n, "the header");
    return this.window.subarray(at, at + n);
  }

  u32(what = "a u32"): number {
    return this.fixed(4, (b, at) => b.readUInt32LE(at), what);
  }

  /** A u64 that must be exactly representable as a JS number. */
  safeU64(what: string): number {
    const at = this.position;
    const value = this.fixed(8, (b, i) => b.readBigUInt64LE(i), what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt(at, `${what} is ${value}, which is absurd`);
    return Number(value);
  }

  /**
   * A u64 count of items of at least `minItemBytes` each, rejected if above `max` or if the rest of
   * the file could not hold them.
   */
  count(what: string, minItemBytes: number, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.position;
    const n = this.safeU64(what);
    if (n > max) throw this.corrupt(at, `${what} is ${n}, above the sane maximum ${max}`);
    const remaining = this.fileSize - this.position;
    if (n * minItemBytes > remaining) {
      throw new FileFormatError(
        `${this.path} is truncated or corrupt at byte ${at}: ${what} is ${n}, but only ${remaining} bytes follow`,
        FIX_CORRUPT,
      );
    }
    return n;
  }

  string(what: string): string {
    const length = this.count(`length of ${what}`, 1, MAX_STRING_BYTES);
    const at = this.take(length, what);
    return this.window.toString("utf8", at, at + length);
  }

  corrupt(at: number, problem: string): FileFormatError {
    return new FileFormatError(`${this.path} is corrupt at byte ${at}: ${problem}`, FIX_CORRUPT);
  }
}

function openForReading(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : `cannot be opened (${code})`;
    throw new InputError(`model file ${path} ${problem}`, "check the model path", { cause: error });
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new InputError(`model path ${path} is a directory`, "pass the path of a .gguf file, not of its directory");
  }
  return fd;
}

/** Fills `target` from byte `position` of the open file; a short read means the file is shorter than promised. */
function readAt(fd: number, target: Uint8Array, position: number, path: string): void {
  // readSync moves at most 2 GiB per call.
  const maxChunk = 1 << 30;
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(maxChunk, target.length - done), position + done);
    if (n === 0) {
      throw new FileFormatError(`${path} is truncated at byte ${position + done}: the file ended while reading it`, FIX_CORRUPT);
    }
    done += n;
  }
}

function readExactly(path: string, position: number, target: Uint8Array, what: string): void {
  const fd = openForReading(path);
  try {
    const size = fstatSync(fd).size;
    if (position + target.length > size) {
      throw new FileFormatError(
        `${path} is truncated: ${what} needs bytes ${position} to ${position + target.length} but the file ends at byte ${size}`,
        FIX_CORRUPT,
      );
    }
    readAt(fd, target, position, path);
  } finally {
    closeSync(fd);
  }
}
