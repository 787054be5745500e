/**
 * The labels file of the WHP pipeline (`labels.bin`): for each block, the original tokens (as the
 * model sees them, BOS first where the model uses one) and the generic label of each position, in
 * the compact WHPL record below. Layout per block, little-endian:
 *
 *   u32 n | i32 tokens[n] | WHPL record of n positions, K pairs each (encodeLabels)
 *
 * Position p's labels are the targets for the prediction made at p (of token p+1); weight 0 masks.
 */
import { FileFormatError, InputError } from "../../errors.js";
import { pairsPerPosition, type BlockLabels } from "./labels.js";

/** One labelled block. */
export interface LabelledBlock {
  tokens: Int32Array;
  labels: BlockLabels;
}

/** Serialises one block (see the module comment). */
export function encodeBlock(block: LabelledBlock): Uint8Array {
  const n = block.tokens.length;
  const labels = encodeLabels(block.labels);
  const k = pairsPerPosition(block.labels);
  if (block.labels.target.length !== n * k) throw new FileFormatError(`a block of ${n} tokens has ${block.labels.target.length} labels for ${k} per position`, "label every position of the block");
  const out = new Uint8Array(4 + 4 * n + labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  for (let i = 0; i < n; i++) view.setInt32(4 + 4 * i, block.tokens[i]!, true);
  out.set(labels, 4 + 4 * n);
  return out;
}

/** Reads every block of a labels file's bytes; `source` names it in errors. */
export function decodeBlocks(bytes: Uint8Array, source: string): LabelledBlock[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: LabelledBlock[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw new FileFormatError(`${source} is truncated at byte ${offset}`, `delete ${source} and rerun to compute the labels again`);
    const n = view.getUint32(offset, true);
    const labelsAt = offset + 4 + 4 * n;
    const truncated = () => new FileFormatError(`${source} is truncated in block ${blocks.length}`, `delete ${source} and rerun to compute the labels again`);
    // The labels header says how long the record is.
    if (labelsAt + LABELS_HEADER_BYTES > bytes.length) throw truncated();
    const size = 4 + 4 * n + encodedLabelsSize(view, labelsAt);
    if (offset + size > bytes.length) throw truncated();
    const tokens = new Int32Array(n);
    for (let i = 0; i < n; i++) tokens[i] = view.getInt32(offset + 4 + 4 * i, true);
    const labels = decodeLabels(bytes.subarray(offset + 4 + 4 * n, offset + size), `${source} block ${blocks.length}`);
    const positions = labels.target.length / pairsPerPosition(labels);
    if (positions !== n) {
      throw new FileFormatError(`${source} is corrupt: block ${blocks.length} has ${n} tokens but labels for ${positions} positions`, `delete ${source} and rerun to compute the labels again`);
    }
    blocks.push({ tokens, labels });
    offset += size;
  }
  return blocks;
}

/** "WHPL" as a little-endian uint32. */
const MAGIC = 0x4c504857;
const VERSION = 1;
/** Bytes of a labels record header. */
export const LABELS_HEADER_BYTES = 16;

/**
 * Serialises labels: a 16-byte header (magic "WHPL", version 1, position count n, pairs per
 * position K, where 0 also means 1; uint32 little-endian) followed by the n·K int32 targets and the
 * n·K float32 weights, little-endian.
 */
export function encodeLabels(labels: BlockLabels): Uint8Array {
  const k = pairsPerPosition(labels);
  const pairs = labels.target.length;
  if (labels.weight.length !== pairs || !Number.isInteger(k) || k < 1 || pairs % k !== 0) {
    throw new InputError(`labels have ${pairs} targets and ${labels.weight.length} weights for ${k} pairs per position`, "pass targets and weights of the same block");
  }
  const bytes = new Uint8Array(LABELS_HEADER_BYTES + 8 * pairs);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, pairs / k, true);
  view.setUint32(12, k === 1 ? 0 : k, true);
  for (let i = 0; i < pairs; i++) {
    view.setInt32(LABELS_HEADER_BYTES + 4 * i, labels.target[i], true);
    view.setFloat32(LABELS_HEADER_BYTES + 4 * pairs + 4 * i, labels.weight[i], true);
  }
  return bytes;
}

/** Bytes of an encoded labels record, read from its header at `offset` of `view`. */
export function encodedLabelsSize(view: DataView, offset: number): number {
  return LABELS_HEADER_BYTES + 8 * view.getUint32(offset + 8, true) * Math.max(1, view.getUint32(offset + 12, true));
}

/** Reads labels written by {@link encodeLabels}; `source` names the file in errors. */
export function decodeLabels(bytes: Uint8Array, source = "labels"): BlockLabels {
  const fix = "delete the file so the labels of this block are computed again";
  if (bytes.length < LABELS_HEADER_BYTES) throw new FileFormatError(`${source} is ${bytes.length} bytes, too short for a labels header`, fix);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new FileFormatError(`${source} does not start with the labels magic "WHPL"`, fix);
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new FileFormatError(`${source} has labels format version ${version}, expected ${VERSION}`, fix);
  const n = view.getUint32(8, true);
  const k = Math.max(1, view.getUint32(12, true));
  const pairs = n * k;
  const expected = encodedLabelsSize(view, 0);
  if (bytes.length !== expected) {
    throw new FileFormatError(`${source} is ${bytes.length} bytes, expected ${expected} for ${n} positions × ${k} (truncated or corrupt)`, fix);
  }
  const target = new Int32Array(pairs);
  const weight = new Float32Array(pairs);
  for (let i = 0; i < pairs; i++) {
    target[i] = view.getInt32(LABELS_HEADER_BYTES + 4 * i, true);
    weight[i] = view.getFloat32(LABELS_HEADER_BYTES + 4 * pairs + 4 * i, true);
  }
  return k === 1 ? { target, weight } : { target, weight, k };
}
