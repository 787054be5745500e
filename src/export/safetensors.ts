/**
 * A writer (and the matching reader, for tests and checks) of the safetensors format: an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then
 * the raw little-endian data. Hugging Face's `safetensors` reads these files, and so does a dozen
 * lines of plain Python (integrations/pytorch/lethe_labels.py).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { FileFormatError, InputError } from "../errors.js";

/** The element types lethe writes. */
export type SafetensorsDtype = "I32" | "I64" | "F32";

export type SafetensorsData = Int32Array | BigInt64Array | Float32Array;

/** One tensor to write. */
export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: SafetensorsData;
}

const DTYPE_OF: Record<SafetensorsDtype, { bytes: number; array: new (n: number) => SafetensorsData }> = {
  I32: { bytes: 4, array: Int32Array },
  I64: { bytes: 8, array: BigInt64Array },
  F32: { bytes: 4, array: Float32Array },
};

function check(t: SafetensorsTensor): void {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (!(t.data instanceof DTYPE_OF[t.dtype].array)) throw new InputError(`tensor ${t.name} is declared ${t.dtype} but holds a ${t.data.constructor.name}`, "pass data of the declared dtype");
  if (count !== t.data.length) throw new InputError(`tensor ${t.name} has shape [${t.shape.join(", ")}] (${count} values) but ${t.data.length} values`, "pass data matching the shape");
}

/**
 * Writes `tensors` (in the order given) and string `metadata` to `path` through a temporary file,
 * renamed into place once complete and synced. The header is padded with spaces to a multiple of 8
 * bytes, as the reference implementation does, so every tensor starts aligned.
 */
export function writeSafetensors(path: string, tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    check(t);
    if (t.name in header) throw new InputError(`tensor name ${t.name} is used twice`, "give every tensor its own name");
    const size = t.data.length * DTYPE_OF[t.dtype].bytes;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, "utf8");
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, head);
    // Typed arrays are little-endian on every platform lethe runs on (x64).
    for (const t of tensors) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** A file read back: its tensors by name, and its metadata. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Reads a safetensors file of the dtypes above; anything else is a {@link FileFormatError}. */
export function readSafetensors(path: string): SafetensorsFile {
  const bytes = readFileSync(path);
  const fix = `write ${path} again (lethe labels export)`;
  if (bytes.length < 8) throw new FileFormatError(`${path} is ${bytes.length} bytes, too short for a safetensors header`, fix);
  const length = Number(bytes.readBigUInt64LE(0));
  if (8 + length > bytes.length) throw new FileFormatError(`${path} is truncated: its header says ${length} bytes`, fix);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as typeof header;
  } catch {
    throw new FileFormatError(`${path} has a header that is not JSON`, fix);
  }
  const dataStart = 8 + length;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [a, b] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const kind = DTYPE_OF[dtype as SafetensorsDtype];
    if (!kind) throw new FileFormatError(`${path}: tensor ${name} has dtype ${dtype}, which lethe does not read`, fix);
    if (dataStart + b > bytes.length || b < a) throw new FileFormatError(`${path}: tensor ${name} lies outside the file (truncated?)`, fix);
    // Copy out so the array is aligned whatever the header length.
    const raw = new Uint8Array(bytes.subarray(dataStart + a, dataStart + b));
    const data = new kind.array(0).constructor as new (buffer: ArrayBuffer) => SafetensorsData;
    tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape, data: new data(raw.buffer) });
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}
