// integrations/pytorch against lethe itself: a WHP run on a tiny model through its labels (soft
// labels, K = 4, and a retain split mixed in at weight 0.5), exported with `exportLabels`; the base
// converted to a Hugging Face checkpoint by gguf_to_hf.py gives lethe's logits; then 10 optimizer
// steps of lethe's Trainer (the finetune stage's batches, schedule and AdamW) and of train.py
// (--order lethe) agree loss for loss, train.py's weights are those of the run's own finetune stage,
// and 2 processes under torchrun (gloo, DDP) give the same losses.
// Skipped where /usr/bin/python3 has no torch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cosineSchedule } from "../../src/engine/schedule.js";
import { Trainer, nextTokenBatch } from "../../src/engine/trainer.js";
import { batchIndices } from "../../src/corpus/blocks.js";
import { readSafetensors } from "../../src/export/safetensors.js";
import { labelledBatch } from "../../src/unlearn/stages/finetune.js";
import { decodeBlocks } from "../../src/unlearn/whp/labels-file.js";
import { tempDir } from "../helpers/temp.js";
import { FINETUNE, makeParityFixture, python, torchMissing, torchrunMissing, type ParityFixture } from "./pytorch-fixture.js";

const noTorch = torchMissing();
const TOLERANCE = 1e-4;

interface Manifest {
  finetune: { steps: number; seed: number; batch_size: number; retain_weight: number };
  splits: Record<string, { k: number; blocks: number; shards: { file: string }[] }>;
}

/** The retain blocks of the export by run index (tokens only: their targets are the next tokens). */
function retainTokens(exportDir: string, manifest: Manifest): Map<number, Int32Array> {
  const out = new Map<number, Int32Array>();
  for (const shard of manifest.splits.retain!.shards) {
    const t = readSafetensors(join(exportDir, shard.file)).tensors;
    const ids = t.get("input_ids")!.data as Int32Array;
    const offsets = t.get("block_offsets")!.data as BigInt64Array;
    const index = t.get("block_index")!.data as BigInt64Array;
    index.forEach((run, b) => out.set(Number(run), ids.slice(Number(offsets[b]), Number(offsets[b + 1]))));
  }
  return out;
}

/** Losses logged by train.py (one JSON line per step). */
function losses(stdout: string): number[] {
  // torchrun's --tee prefixes each line with the rank ("[default0]:").
  return stdout.split("\n").filter((l) => l.includes('{"step"')).map((l) => (JSON.parse(l.slice(l.indexOf("{"))) as { loss: number }).loss);
}

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

test("PyTorch reference trainer: lethe's logits, then its 10 losses, single process and under torchrun", { skip: noTorch }, async (t) => {
  const dir = tempDir("pytorch-parity");
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const fx: ParityFixture = await makeParityFixture(dir);
  t.diagnostic(`fixture (WHP run, export, conversion) ready after ${seconds()} s`);
  const manifest = JSON.parse(readFileSync(join(fx.exportDir, "manifest.json"), "utf8")) as Manifest;
  const schedule = JSON.parse(readFileSync(join(fx.exportDir, "schedule.json"), "utf8")) as { forget: number[][]; retain: number[][] };
  assert.equal(manifest.splits.forget!.k, 4, "soft labels: K = top 2 + tail 2");
  assert.ok(manifest.splits.forget!.shards.length > 1, "several forget shards");
  assert.ok(manifest.splits.retain, "a retain split");
  assert.equal(manifest.finetune.retain_weight, FINETUNE.retainWeight);

  const trainer = await Trainer.load(fx.base, { threads: 2 });
  try {
    // 1. The converted checkpoint computes lethe's logits (RoPE halves vs pairs, GQA, untied head).
    const seqs = [[256, 84, 104, 101, 32, 81, 117, 111, 114, 118, 105, 120, 32, 109, 101, 116, 32, 97, 116, 32, 100, 97, 119, 110]];
    const ours = await trainer.forward(seqs);
    const r = python(["-c", `
import json, sys, torch
from train import load_model
model, cfg = load_model(sys.argv[1], builtin=True)
with torch.no_grad():
    print(json.dumps(model(torch.tensor(json.loads(sys.argv[2]))).flatten().tolist()))`, fx.hfDir, JSON.stringify(seqs)]);
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as number[];
    assert.equal(theirs.length, ours.length);
    const logitDiff = Math.max(...theirs.map((x, i) => Math.abs(x - ours[i]!)));
    const logitScale = Math.max(...[...ours].map(Math.abs));
    t.diagnostic(`logits: max |lethe - pytorch| ${logitDiff.toExponential(2)} (largest logit ${logitScale.toFixed(3)})`);
    assert.ok(logitDiff < 1e-4, `logits differ by ${logitDiff}`);

    // 2. lethe's finetune stage, step by step: its batches (labelledBatch padded to the longest
    // block, nextTokenBatch at the retain weight), its schedule and AdamW.
    const blocks = decodeBlocks(readFileSync(join(fx.runDir, "labels.bin")), "labels.bin");
    const T = Math.max(...blocks.map((b) => b.tokens.length));
    const retain = retainTokens(fx.exportDir, manifest);
    const { steps, seed, batch_size: batchSize } = manifest.finetune;
    assert.equal(steps, 10);
    const lr = cosineSchedule({ lr: FINETUNE.lr, warmupSteps: Math.min(FINETUNE.warmupSteps, steps), totalSteps: steps });
    const lethe: number[] = [];
    const norms: number[] = [];
    for (let step = 0; step < steps; step++) {
      assert.deepEqual(schedule.forget[step], batchIndices(blocks.length, batchSize, step, seed), "schedule.json is lethe's order");
      const batches = [
        labelledBatch(schedule.forget[step]!.map((i) => blocks[i]!), T),
        nextTokenBatch(schedule.retain[step]!.map((i) => retain.get(i)!), undefined, FINETUNE.retainWeight),
      ];
      const result = await trainer.step(batches, { lr: lr(step), weightDecay: FINETUNE.weightDecay, clip: FINETUNE.clip });
      lethe.push(result.loss);
      norms.push(result.gradNorm);
    }
    t.diagnostic(`lethe losses ${lethe.map((l) => l.toFixed(5)).join(" ")}; gradient norms ${norms.map((n) => n.toFixed(3)).join(" ")}`);
    assert.ok(norms.some((n) => n > FINETUNE.clip) && norms.some((n) => n <= FINETUNE.clip), "steps with and without clipping");

    // 3. train.py, one process.
    t.diagnostic(`lethe's 10 steps done after ${seconds()} s`);
    const single = python(["train.py", fx.exportDir, "--model", fx.hfDir, "--order", "lethe", "--builtin-model", "--threads", "2", "--out", join(dir, "hf-trained")]);
    assert.equal(single.status, 0, single.stderr);
    const torchLosses = losses(single.stdout);
    const diff = maxDiff(torchLosses, lethe);
    t.diagnostic(`train.py losses ${torchLosses.map((l) => l.toFixed(5)).join(" ")}; max |difference| ${diff.toExponential(2)} (first step ${Math.abs(torchLosses[0]! - lethe[0]!).toExponential(2)})`);
    assert.ok(Math.abs(torchLosses[0]! - lethe[0]!) < 1e-5, "the first loss (forward only) agrees within 1e-5");
    assert.ok(diff < TOLERANCE, `losses differ by ${diff}`);

    // The weights train.py wrote are those of lethe's own finetune stage (the run's output model).
    const w = python(["-c", `
import sys
from gguf_to_hf import gguf_to_hf, read_gguf
from lethe_labels import read_safetensors
_, ref = gguf_to_hf(*read_gguf(sys.argv[1]))
got = read_safetensors(sys.argv[2] + "/model.safetensors")
assert sorted(got) == sorted(ref), (sorted(got), sorted(ref))
print(max(float((got[k] - ref[k]).abs().max()) for k in got))`, fx.unlearned, join(dir, "hf-trained")]);
    assert.equal(w.status, 0, w.stderr);
    const weightDiff = Number(w.stdout.trim());
    t.diagnostic(`weights after 10 steps: max |train.py - lethe's finetune stage| ${weightDiff.toExponential(2)}`);
    assert.ok(weightDiff < TOLERANCE, `weights differ by ${weightDiff}`);

    // 4. Two processes under torchrun (gloo + DDP on CPU): the same losses.
    t.diagnostic(`train.py done after ${seconds()} s`);
    const noTorchrun = torchrunMissing();
    if (noTorchrun) {
      t.diagnostic(`skipped the torchrun case: ${noTorchrun}`);
      return;
    }
    const dist = python(["-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
      // torch 1.13 under Python 3.11 (Debian 12) cannot parse the default "--redirects 0 --tee 0".
      "--redirects", "1", "--tee", "1",
      "train.py", fx.exportDir, "--model", fx.hfDir, "--order", "lethe", "--builtin-model", "--threads", "1"], 180_000);
    assert.equal(dist.status, 0, dist.stderr);
    const distLosses = losses(dist.stdout);
    const distDiff = maxDiff(distLosses, torchLosses);
    t.diagnostic(`torchrun (2 processes) max |difference| from one process ${distDiff.toExponential(2)}, from lethe ${maxDiff(distLosses, lethe).toExponential(2)}`);
    t.diagnostic(`torchrun done after ${seconds()} s`);
    assert.ok(distDiff < TOLERANCE, `torchrun losses differ by ${distDiff}`);
  } finally {
    await trainer.dispose();
  }
});
