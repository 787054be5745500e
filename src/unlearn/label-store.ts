/**
 * The labels file of the WHP pipeline (`labels.bin`): for each block, the original tokens (as the
 * model sees them, BOS first where the model uses one) and the generic label of each position, in
 * the compact WHPL form of labels.ts. Layout per block, little-endian:
 *
 *   u32 n | i32 tokens[n] | WHPL record of n positions, K pairs each (encodeLabels)
 *
 * Position p's labels are the targets for the prediction made at p (of token p+1); weight 0 masks.
 */
import { FileFormatError } from "../errors.js";
import { decodeLabels, encodedLabelsSize, encodeLabels, LABELS_HEADER_BYTES, pairsPerPosition, type BlockLabels } from "./whp/labels.js";

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
