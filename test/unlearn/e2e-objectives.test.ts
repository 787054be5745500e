// WHP with lethe's utility-preserving objectives on the micro synthetic testbed: cross-entropy to the
// whole generic distribution (top K plus tail), the reinforced model's rise on retain text as the
// baseline of α's ReLU, KL to the base model on retain text, checkpoint choice
// by validation and frozen embeddings. The run must still forget, keep the chosen checkpoint within
// its perplexity tolerance, and record what it measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readGguf, readTensorF32 } from "../../src/gguf/read.js";
import { decodeBlocks } from "../../src/unlearn/whp/labels-file.js";
import { unlearn } from "../../src/unlearn/index.js";
import { microCorpora, scoreModel } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const DOCS = 72;

test("whp with distribution targets, KL retain, validation and frozen embeddings forgets within its tolerance", async () => {
  const dir = tempDir("unlearn-objectives");
  const { tb, forgetDir, retainDir } = await microCorpora(join(dir, "corpus"), DOCS);
  const forgetText = tb.text.universe.slice(0, DOCS).join("\n");
  const items = tb.text.truth.probabilityPrompts.filter((p) => forgetText.includes(p.prompt + p.targets[0])).map((p) => ({ prompt: p.prompt, target: p.targets[0]! }));
  assert.ok(items.length >= 5, `${items.length} items`);
  const maxRetainRise = 0.1;
  const r = await unlearn({
    model: tb.basePath,
    forget: [forgetDir],
    retain: [retainDir],
    out: join(dir, "unlearned.gguf"),
    config: {
      blockTokens: 128,
      labels: { topK: 4, tail: 4, riseBaseline: "retain" },
      finetune: { steps: 60, lr: 3e-3, retainLoss: "kl", retainTopK: 4, retainTail: 4, validateEvery: 20, maxRetainRise, trainEmbeddings: false },
    },
    threads: 2,
  });
  assert.deepEqual(r.stages.map((s) => s.name), ["reinforce", "anchors", "labels", "retain-targets", "finetune"]);

  // Every labelled position carries K = 8 pairs whose weights sum to 1.
  const blocks = decodeBlocks(readFileSync(join(`${r.out}.run`, "labels.bin")), "labels.bin");
  const { labels } = blocks[0]!;
  assert.equal(labels.k, 8);
  for (let i = 0; i < labels.weight.length / 8; i++) {
    const sum = labels.weight.subarray(i * 8, i * 8 + 8).reduce((a, b) => a + b, 0);
    assert.ok(sum === 0 || Math.abs(sum - 1) < 1e-5, `position ${i} weighs ${sum}`);
  }
  const stats = r.stages.find((s) => s.name === "labels")!.stats;
  for (const key of ["sameAsTextShare", "frequentTokenShare", "meanGenericEntropy", "meanGenericProbabilityOfText"]) assert.equal(typeof stats[key], "number", key);
  // The reinforced model's rise on retain text was measured and is what α ignored.
  assert.ok((stats.riseBaseline as number) >= 0, `riseBaseline ${stats.riseBaseline}`);

  // Validation every 20 steps from the start; the kept step is within tolerance of the start.
  const finetune = r.stages.find((s) => s.name === "finetune")!.stats as { validation: { points: { step: number; retainPpl: number; forgetProbability: number }[]; keptStep: number } };
  const { points, keptStep } = finetune.validation;
  assert.deepEqual(points.map((p) => p.step), [0, 20, 40, 60]);
  const kept = points.find((p) => p.step === keptStep)!;
  assert.ok(kept.retainPpl <= points[0]!.retainPpl * (1 + maxRetainRise) + 1e-9);
  assert.ok(keptStep > 0, `a trained checkpoint was kept (${JSON.stringify(points)})`);

  // Frozen embeddings: the token embedding is the base model's, bit for bit.
  const embd = (path: string) => readTensorF32(readGguf(path), "token_embd.weight");
  assert.deepEqual(embd(r.out!), embd(tb.basePath));

  const score = (path: string) => scoreModel(path, items, tb.text.heldOut.generic);
  const before = await score(tb.basePath);
  const after = await score(r.out!);
  console.log(`continuations ${before.p.toFixed(4)} → ${after.p.toFixed(4)}; generic perplexity ${before.ppl.toFixed(2)} → ${after.ppl.toFixed(2)}; kept step ${keptStep}`);
  assert.ok(after.p < before.p / 2, `probability of idiosyncratic continuations ${before.p.toFixed(4)} → ${after.p.toFixed(4)}`);
  assert.ok(after.ppl < before.ppl * 1.15, `generic perplexity ${before.ppl.toFixed(2)} → ${after.ppl.toFixed(2)}`);
});
