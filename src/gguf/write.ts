/**
 * Writing GGUF v3 files that llama.cpp loads: every model lethe makes (fresh models to pretrain,
 * checkpoints, unlearned and task-vector weights) leaves through here, atomically, so a crash never
 * leaves a file that looks complete.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { InputError } from "../errors.js";
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_WRITE_VERSION,
  SCALAR_BYTES,
  VALUE_TYPE_CODE,
  alignUp,
} from "./format.js";
import { ggmlTensorBytes, ggmlTypeName } from "./ggml-types.js";
import { f32ArrayToBf16, f32ArrayToF16 } from "./half.js";
import { GgmlType, type GgufMetadata, type GgufScalarType, type GgufTensorInput, type GgufValue } from "./types.js";

const FIX_METADATA = "pass metadata values that match their declared GGUF type";
const FIX_TENSOR = "pass tensors with unique names, 1 to 4 positive integer dims and data of exactly the product of the dims";

/**
 * Writes a GGUF v3 file: the metadata in map order, then the tensors in array order, each tensor's
 * data aligned to `general.alignment` (a u32 power of two; default 32). F32 input is converted to
 * F16/BF16 where a tensor asks for it. The file appears at `path` only once complete (it is written
 * to `path + ".tmp"` and renamed). Throws InputError for metadata or tensors that cannot be encoded.
 */
export function writeGguf(path: string, content: { metadata: GgufMetadata; tensors: GgufTensorInput[] }): void {
  const { metadata, tensors } = content;
  const alignment = alignmentOf(metadata);
  const nbytes = validateTensors(tensors);

  const header = new ByteWriter();
  header.bytes(GGUF_MAGIC);
  header.u32(GGUF_WRITE_VERSION);
  header.u64(BigInt(tensors.length));
  header.u64(BigInt(metadata.size));
  for (const [key, value] of metadata) {
    if (key.length === 0) throw new InputError("GGUF metadata has an empty key", "give every metadata entry a non-empty key");
    header.string(key);
    writeValue(header, key, value);
  }
  let dataOffset = 0;
  tensors.forEach((tensor, i) => {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(BigInt(dim));
    header.u32(tensor.type);
    header.u64(BigInt(dataOffset));
    dataOffset += alignUp(nbytes[i], alignment);
  });
  header.padTo(alignment);

  const tmpPath = `${path}.tmp`;
  const fd = openForWriting(tmpPath);
  try {
    writeAll(fd, header.finish());
    tensors.forEach((tensor, i) => {
      writeAll(fd, encodeTensor(tensor, valuesOf(tensor)));
      const padding = alignUp(nbytes[i], alignment) - nbytes[i];
      if (padding > 0) writeAll(fd, new Uint8Array(padding));
    });
    closeSync(fd);
    renameSync(tmpPath, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed before the rename failed
    }
    rmSync(tmpPath, { force: true });
    throw new InputError(`could not write GGUF file ${path}: ${(error as Error).message}`, "check that the directory is writable and the disk has space", {
      cause: error,
    });
  }
}

function alignmentOf(metadata: GgufMetadata): number {
  const entry = metadata.get(GGUF_ALIGNMENT_KEY);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const value = entry.value;
  if (entry.type !== "u32" || typeof value !== "number" || value <= 0 || (value & (value - 1)) !== 0) {
    throw new InputError(
      `metadata key "${GGUF_ALIGNMENT_KEY}" must be a u32 power of two, got ${entry.type} ${String(value)}`,
      `set "${GGUF_ALIGNMENT_KEY}" to a u32 power of two such as 32, or leave it out`,
    );
  }
  return value;
}

/** Checks every tensor and returns each one's size in bytes in the file. */
function validateTensors(tensors: readonly GgufTensorInput[]): number[] {
  const seen = new Set<string>();
  return tensors.map((tensor) => {
    const { name, dims, type, data } = tensor;
    const nameBytes = Buffer.byteLength(name, "utf8");
    if (nameBytes === 0 || nameBytes > GGML_MAX_NAME_BYTES) {
      throw new InputError(`tensor name "${name}" must be 1 to ${GGML_MAX_NAME_BYTES} UTF-8 bytes long, it is ${nameBytes}`, FIX_TENSOR);
    }
    if (seen.has(name)) throw new InputError(`tensor name "${name}" appears twice`, FIX_TENSOR);
    seen.add(name);
    if (dims.length < 1 || dims.length > GGML_MAX_DIMS || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new InputError(`tensor "${name}" has dims [${dims.join(", ")}]; expected 1 to ${GGML_MAX_DIMS} positive integers`, FIX_TENSOR);
    }
    if (type !== GgmlType.F32 && type !== GgmlType.F16 && type !== GgmlType.BF16) {
      throw new InputError(`tensor "${name}" asks for type ${ggmlTypeName(type)}; the writer stores only F32, F16 and BF16`, FIX_TENSOR);
    }
    if (typeof data !== "function") checkLength(tensor, data);
    return ggmlTensorBytes(type, dims, `tensor "${name}"`);
  });
}

function checkLength(tensor: GgufTensorInput, data: unknown): void {
  const elements = tensor.dims.reduce((n, d) => n * d, 1);
  if (!(data instanceof Float32Array) || data.length !== elements) {
    throw new InputError(
      `tensor "${tensor.name}" has dims [${tensor.dims.join(", ")}] (${elements} elements) but ${(data as Float32Array | undefined)?.length ?? 0} values`,
      FIX_TENSOR,
    );
  }
}

/** A tensor's values, made now when they are given as a function. */
function valuesOf(tensor: GgufTensorInput): Float32Array {
  if (typeof tensor.data !== "function") return tensor.data;
  const data = tensor.data();
  checkLength(tensor, data);
  return data;
}

function encodeTensor(tensor: GgufTensorInput, values: Float32Array): Uint8Array {
  const encoded = tensor.type === GgmlType.F16 ? f32ArrayToF16(values) : tensor.type === GgmlType.BF16 ? f32ArrayToBf16(values) : values;
  // x64 is little-endian like GGUF, so the typed array's memory is already the file's byte order.
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

function writeValue(out: ByteWriter, key: string, entry: GgufValue): void {
  if (entry.type === "array") {
    const { itemType, value } = entry;
    if (!(itemType in VALUE_TYPE_CODE) || (itemType as string) === "array") {
      throw new InputError(`metadata key "${key}" is an array of unknown item type "${String(itemType)}"`, FIX_METADATA);
    }
    if (!Array.isArray(value)) throw new InputError(`metadata key "${key}" is an array whose value is not an array`, FIX_METADATA);
    out.u32(VALUE_TYPE_CODE.array);
    out.u32(VALUE_TYPE_CODE[itemType]);
    out.u64(BigInt(value.length));
    const items: readonly unknown[] = value;
    for (let i = 0; i < items.length; i++) writeScalar(out, `${key}[${i}]`, itemType, items[i]);
    return;
  }
  if (!(entry.type in VALUE_TYPE_CODE)) {
    throw new InputError(`metadata key "${key}" has unknown type "${String(entry.type)}"`, FIX_METADATA);
  }
  out.u32(VALUE_TYPE_CODE[entry.type]);
  writeScalar(out, key, entry.type, entry.value);
}

const INTEGER_RANGES: Partial<Record<GgufScalarType, [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

function writeScalar(out: ByteWriter, where: string, type: GgufScalarType, value: unknown): void {
  const bad = (expected: string): never => {
    throw new InputError(`metadata key "${where}" is declared ${type} but holds ${describe(value)}; expected ${expected}`, FIX_METADATA);
  };
  switch (type) {
    case "string":
      if (typeof value !== "string") bad("a string");
      out.string(value as string);
      return;
    case "bool":
      if (typeof value !== "boolean") bad("a boolean");
      out.u8(value ? 1 : 0);
      return;
    case "u64":
    case "i64": {
      if (typeof value !== "bigint") bad("a bigint");
      const big = value as bigint;
      const inRange = type === "u64" ? BigInt.asUintN(64, big) === big : BigInt.asIntN(64, big) === big;
      if (!inRange) bad(`a ${type} in range`);
      if (type === "u64") out.u64(big);
      else out.i64(big);
      return;
    }
    case "f32":
    case "f64":
      if (typeof value !== "number") bad("a number");
      if (type === "f32") out.f32(value as number);
      else out.f64(value as number);
      return;
    default: {
      const [min, max] = INTEGER_RANGES[type]!;
      if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) bad(`an integer in [${min}, ${max}]`);
      out.integer(type, value as number);
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "bigint") return `the bigint ${value}`;
  return `${typeof value} ${String(value)}`;
}

/** A little-endian byte buffer that grows as the header is built. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  private length = 0;

  /** Makes room for `n` more bytes and returns where they start; it may replace `this.buffer`. */
  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  bytes(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.buffer.set(data, at);
  }
  u8(v: number): void {
    const at = this.reserve(1);
    this.buffer.writeUInt8(v, at);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32LE(v, at);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(v, at);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigInt64LE(v, at);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.buffer.writeFloatLE(v, at);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.buffer.writeDoubleLE(v, at);
  }
  integer(type: GgufScalarType, v: number): void {
    const at = this.reserve(SCALAR_BYTES[type as keyof typeof SCALAR_BYTES]);
    switch (type) {
      case "u8":
        this.buffer.writeUInt8(v, at);
        break;
      case "i8":
        this.buffer.writeInt8(v, at);
        break;
      case "u16":
        this.buffer.writeUInt16LE(v, at);
        break;
      case "i16":
        this.buffer.writeInt16LE(v, at);
        break;
      case "u32":
        this.buffer.writeUInt32LE(v, at);
        break;
      default:
        this.buffer.writeInt32LE(v, at);
    }
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.u64(BigInt(n));
    const at = this.reserve(n);
    this.buffer.write(s, at, n, "utf8");
  }
  padTo(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length);
  }
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function openForWriting(path: string): number {
  try {
    return openSync(path, "w");
  } catch (error) {
    throw new InputError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, "write to an existing, writable directory", {
      cause: error,
    });
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written);
}
