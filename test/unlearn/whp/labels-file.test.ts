// The labels file (src/unlearn/whp/labels-file.ts): blocks round-trip, and a damaged file is a
// FileFormatError, not blocks handed on to training: a truncated one, or (issue 13, found by the
// fuzzer) one with a block whose labels cover another number of positions than it has tokens.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FileFormatError } from "../../../src/errors.js";
import { decodeBlocks, encodeBlock } from "../../../src/unlearn/whp/labels-file.js";

test("a block whose labels record covers fewer positions than its tokens is refused", () => {
  const bytes = encodeBlock({ tokens: Int32Array.of(5, 6, 7), labels: { target: Int32Array.of(-1, 9, -1), weight: Float32Array.of(0, 1, 0) } });
  // The fuzzer's case: the record's position count cut to 0, with a huge pair count, and no pairs left.
  const record = 4 + 4 * 3;
  const damaged = Buffer.concat([bytes.subarray(0, record), bytes.subarray(record, record + 16)]);
  damaged.writeUInt32LE(0, record + 8);
  damaged.writeUInt32LE(1_112_832, record + 12);
  assert.throws(() => decodeBlocks(damaged, "labels.bin"), (e: unknown) => e instanceof FileFormatError && /block 0 has 3 tokens but labels for 0 positions/.test(e.message));
  // One position fewer, with its pairs.
  const short = encodeBlock({ tokens: Int32Array.of(5, 6), labels: { target: Int32Array.of(-1, 9), weight: Float32Array.of(0, 1) } });
  const spliced = Buffer.concat([bytes.subarray(0, record), short.subarray(4 + 4 * 2)]);
  assert.throws(() => decodeBlocks(spliced, "labels.bin"), /block 0 has 3 tokens but labels for 2 positions/);
});

test("labels file round trip, and truncation is a FileFormatError", () => {
  const block = { tokens: Int32Array.of(5, 6, 7), labels: { target: Int32Array.of(-1, 9, -1), weight: Float32Array.of(0, 1, 0) } };
  const bytes = Buffer.concat([encodeBlock(block), encodeBlock(block)]);
  const back = decodeBlocks(bytes, "labels.bin");
  assert.equal(back.length, 2);
  assert.deepEqual([...back[1]!.tokens], [5, 6, 7]);
  assert.deepEqual([...back[1]!.labels.target], [-1, 9, -1]);
  assert.throws(() => decodeBlocks(bytes.subarray(0, bytes.length - 3), "labels.bin"), FileFormatError);
});
