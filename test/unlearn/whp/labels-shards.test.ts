// Label shards: N workers each label every N-th group of blocks; `lethe labels merge` joins them
// into a labels file byte-identical to an unsharded run's, and refuses incomplete or mixed shards.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InputError } from "../../../src/errors.js";
import { unlearn } from "../../../src/unlearn/index.js";
import { checkShards, mergeLabelShards } from "../../../src/unlearn/whp/labels-merge.js";
import { tempDir } from "../../helpers/temp.js";
import { labelsRunOptions } from "./labels-run.js";

const dir = tempDir("labels-shards");

test("three shards merge into labels byte-identical to an unsharded run", async () => {
  const whole = labelsRunOptions(dir, join(dir, "whole.run"));
  await unlearn({ ...whole, stage: "labels" });
  const sharded = { ...whole, runDir: join(dir, "sharded.run") };

  // A shard before the earlier stages are done is refused, and says what to run.
  await assert.rejects(
    unlearn({ ...sharded, stage: "labels", shard: { index: 0, count: 3 } }),
    (e: unknown) => e instanceof InputError && /no finished stages/.test(e.message) && /--stage anchors/.test(e.fix),
  );
  await unlearn({ ...sharded, stage: "anchors" });
  const results = [];
  for (const index of [2, 0]) results.push(await unlearn({ ...sharded, stage: "labels", shard: { index, count: 3 } }));
  assert.ok(results.every((r) => r.shard !== undefined && r.shard.computed === r.shard.blocks && r.shard.blocks > 0));
  assert.equal(existsSync(join(sharded.runDir, "labels.bin")), false, "a shard does not write the run's labels");
  assert.throws(() => checkShards(sharded.runDir), (e: unknown) => e instanceof InputError && /shard 1\/3 .* missing/.test(e.message));
  await assert.rejects(mergeLabelShards({ runDir: sharded.runDir, threads: 2 }), /shard 1\/3/);

  const last = await unlearn({ ...sharded, stage: "labels", shard: { index: 1, count: 3 } });
  const total = last.shard!.totalBlocks;
  assert.equal(results[0]!.shard!.blocks + results[1]!.shard!.blocks + last.shard!.blocks, total, "the shards split the blocks");
  // A shard rerun finds its blocks done.
  const again = await unlearn({ ...sharded, stage: "labels", shard: { index: 1, count: 3 } });
  assert.equal(again.shard!.computed, 0);

  const merged = await mergeLabelShards({ runDir: sharded.runDir, threads: 2 });
  assert.equal(merged.shards, 3);
  assert.equal(merged.blocks, total);
  assert.ok(readFileSync(merged.labels).equals(readFileSync(join(whole.runDir!, "labels.bin"))), "labels.bin is byte-identical");
  const stats = (run: string) => JSON.parse(readFileSync(join(run, "labels.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(stats(sharded.runDir), stats(whole.runDir!));
  assert.equal(existsSync(join(sharded.runDir, "shards", "labels")), false);

  // The run goes on from the merged labels: its labels stage is up to date.
  const next = await unlearn({ ...sharded, stage: "labels" });
  assert.equal(next.stages.find((s) => s.name === "labels")?.ran, false);
});

test("bad shard arguments are refused before any work", async () => {
  const options = labelsRunOptions(dir, join(dir, "bad.run"));
  await assert.rejects(unlearn({ ...options, stage: "labels", shard: { index: 3, count: 3 } }), (e: unknown) => e instanceof InputError && /0 ≤ I < N/.test(e.message));
  await assert.rejects(unlearn({ ...options, stage: "finetune", shard: { index: 0, count: 2 } }), (e: unknown) => e instanceof InputError && /--stage labels/.test(e.fix ?? ""));
  await assert.rejects(unlearn({ ...options, stage: "nonsense" }), (e: unknown) => e instanceof InputError && /no stage "nonsense"/.test(e.message) && /labels/.test(e.fix ?? ""));
  assert.throws(() => checkShards(join(dir, "bad.run")), (e: unknown) => e instanceof InputError && /no finished label shards/.test(e.message));
});
