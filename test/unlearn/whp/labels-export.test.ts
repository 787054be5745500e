// `lethe labels export`: the labels of a run as safetensors shards and a manifest that carry every
// token, target and weight of labels.bin, the retain blocks the fine-tune visits and its step order.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { InputError } from "../../../src/errors.js";
import { readSafetensors } from "../../../src/export/safetensors.js";
import { unlearn } from "../../../src/unlearn/index.js";
import { exportLabels, type LabelsExportManifest } from "../../../src/unlearn/whp/labels-export.js";
import { decodeBlocks } from "../../../src/unlearn/whp/labels-file.js";
import { pairsPerPosition } from "../../../src/unlearn/whp/labels.js";
import { batchIndices } from "../../../src/corpus/blocks.js";
import { tempDir } from "../../helpers/temp.js";
import { labelsRunOptions } from "./labels-run.js";

const dir = tempDir("labels-export");
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Every block of a split, read back from its shards in order. */
function readSplit(out: string, split: LabelsExportManifest["splits"]["forget"]) {
  return split.shards.flatMap((shard) => {
    const t = readSafetensors(join(out, shard.file)).tensors;
    const ids = t.get("input_ids")!.data as Int32Array;
    const offsets = [...(t.get("block_offsets")!.data as BigInt64Array)].map(Number);
    const index = [...(t.get("block_index")!.data as BigInt64Array)].map(Number);
    const targets = t.get("target_ids")!.data as Int32Array;
    const weights = t.get("target_weights")!.data as Float32Array;
    assert.deepEqual(t.get("target_ids")!.shape, [ids.length, split.k]);
    return index.map((i, b) => ({
      index: i,
      tokens: [...ids.subarray(offsets[b]!, offsets[b + 1]!)],
      targets: [...targets.subarray(offsets[b]! * split.k, offsets[b + 1]! * split.k)],
      weights: [...weights.subarray(offsets[b]! * split.k, offsets[b + 1]! * split.k)],
    }));
  });
}

test("the export carries every block of labels.bin, the visited retain blocks and the step order", async () => {
  const options = labelsRunOptions(dir, join(dir, "run"));
  await unlearn({ ...options, stage: "labels" });
  const out = join(dir, "export");
  const { manifest, files } = await exportLabels({ runDir: options.runDir!, out, shardBytes: 8 * 1024 });
  assert.equal(manifest.format, "lethe-whp-labels");
  assert.equal(files.length, 2 + manifest.splits.forget.shards.length + (manifest.splits.retain?.shards.length ?? 0));
  assert.ok(manifest.splits.forget.shards.length > 1, "small shards split the forget blocks");
  assert.equal(manifest.tokenizer.n_vocab, 258);
  assert.match(manifest.tokenizer.sha256, /^[0-9a-f]{64}$/);
  assert.equal(manifest.finetune.steps, 6);
  assert.equal(manifest.finetune.beta2, 0.95);

  const labelsPath = join(options.runDir!, "labels.bin");
  const blocks = decodeBlocks(readFileSync(labelsPath), labelsPath);
  const forget = readSplit(out, manifest.splits.forget);
  assert.equal(manifest.splits.forget.k, 4);
  assert.equal(forget.length, blocks.length);
  forget.forEach((b, i) => {
    const src = blocks[i]!;
    assert.equal(b.index, i);
    assert.deepEqual(b.tokens, [...src.tokens]);
    assert.equal(pairsPerPosition(src.labels), 4);
    src.labels.weight.forEach((w, j) => {
      const kept = w !== 0 && src.labels.target[j]! >= 0;
      assert.equal(b.weights[j], kept ? w : 0);
      assert.equal(b.targets[j], kept ? src.labels.target[j] : -1);
    });
  });

  // Retain: next-token targets of weight 1 on the blocks the schedule visits.
  const retainSplit = manifest.splits.retain!;
  assert.equal(retainSplit.k, 1);
  assert.equal(manifest.finetune.retain_weight, 1);
  const retain = readSplit(out, retainSplit);
  const schedule = JSON.parse(readFileSync(join(out, manifest.schedule), "utf8")) as { forget: number[][]; retain: number[][] };
  assert.deepEqual(schedule.forget, Array.from({ length: 6 }, (_, s) => batchIndices(blocks.length, 4, s, 1)));
  assert.deepEqual(new Set(retain.map((b) => b.index)), new Set(schedule.retain.flat()));
  assert.ok(retainSplit.run_blocks >= retain.length);
  for (const b of retain) {
    assert.deepEqual(b.targets, [...b.tokens.slice(1), -1]);
    assert.deepEqual(b.weights, [...b.tokens.slice(1).map(() => 1), 0]);
  }

  // Python's standard library reads the shapes (integrations/pytorch/print_shapes.py).
  const shown = spawnSync("python3", [join(ROOT, "integrations", "pytorch", "print_shapes.py"), out], { encoding: "utf8" });
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`forget: ${blocks.length} blocks, ${manifest.splits.forget.positions} positions, K = 4`));
  assert.match(shown.stdout, new RegExp(`target_ids I32 \\[\\d+, 4\\]`));
  assert.match(shown.stdout, /schedule: 6 steps of 4 forget blocks/);

  // A second export into the same folder needs --force.
  await assert.rejects(exportLabels({ runDir: options.runDir!, out }), (e: unknown) => e instanceof InputError && /not empty/.test(e.message) && /--force/.test(e.fix));
  const again = await exportLabels({ runDir: options.runDir!, out, force: true });
  assert.equal(again.manifest.splits.forget.shards.length, 1, "the default shard size holds them all");

  // A run recorded by an older lethe (method only) is told to rerun once.
  const old = join(dir, "old.run");
  mkdirSync(old, { recursive: true });
  writeFileSync(join(old, "manifest.json"), readFileSync(join(options.runDir!, "manifest.json")));
  writeFileSync(join(old, "unlearn.json"), JSON.stringify({ method: "whp" }));
  await assert.rejects(exportLabels({ runDir: old, out: join(dir, "z") }), (e: unknown) => e instanceof InputError && /does not record the run's settings/.test(e.message) && /rerun `lethe unlearn`/.test(e.fix));
});

test("exporting a run whose labels are not done, or a folder that is no run, says what to run", async () => {
  const empty = join(dir, "empty");
  mkdirSync(empty, { recursive: true });
  await assert.rejects(exportLabels({ runDir: empty, out: join(dir, "x") }), (e: unknown) => e instanceof InputError && /not a run directory/.test(e.message));
  const options = labelsRunOptions(dir, join(dir, "partial.run"));
  await unlearn({ ...options, stage: "anchors" });
  await assert.rejects(exportLabels({ runDir: options.runDir!, out: join(dir, "y") }), (e: unknown) => e instanceof InputError && /labels stage .* has not finished/.test(e.message) && /--stage labels/.test(e.fix));
});
