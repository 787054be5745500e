// The weighted-target loss: w = 1 trains, w = 0 masks, w < 0 ascends; gradients match finite
// differences; deep models build; accumulation equals one big batch.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";

import { CancelledError } from "../../src/errors.js";
import { Trainer, nextTokenBatch, type WeightedBatch } from "../../src/engine/trainer.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { checkFiniteDifferences, logSoftmaxAt, maxAbsDiff, randomTokens, rowArgmax, spread } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("training");
const trainers: Trainer[] = [];
after(async () => {
  for (const t of trainers) await t.dispose();
});

async function load(overrides: Parameters<typeof makeTinyModel>[1] = {}, trainEmbeddings = true, gatherPositions?: number): Promise<Trainer> {
  const t = await Trainer.load(makeTinyModel(dir, { nLayer: 2, ...overrides }), { threads: 1, trainEmbeddings, gatherPositions });
  trainers.push(t);
  return t;
}

/** A batch whose targets are arbitrary tokens, not the next tokens. */
function customBatch(tokens: number[], targets: number[], weights: number[]): WeightedBatch {
  return {
    B: 1,
    T: tokens.length,
    K: 1,
    tokens: Int32Array.from(tokens),
    targets: Int32Array.from(targets),
    weights: Float32Array.from(weights),
  };
}

test("custom targets: the loss falls and the argmax moves to the targets", async () => {
  const t = await load({ seed: 21 });
  const tokens = randomTokens(24, 256, 5);
  const targets = tokens.map((_, i) => 65 + (i % 5)); // A..E, unrelated to the next token
  const batch = customBatch(tokens, targets, tokens.map(() => 1));
  const first = await t.step(batch, { lr: 3e-3 });
  let last = first;
  for (let i = 0; i < 60; i++) last = await t.step(batch, { lr: 3e-3 });
  assert.ok(last.loss < first.loss / 10, `loss ${first.loss} -> ${last.loss}`);
  const logits = await t.forward([tokens]);
  assert.deepEqual(rowArgmax(logits, t.info.nVocab), targets);
});

test("all weights 0: the step is skipped and no parameter changes", async () => {
  const t = await load({ seed: 22 });
  const before = t.tensor("blk.0.attn_q.weight");
  const embBefore = t.tensor("token_embd.weight");
  const tokens = randomTokens(16, 256, 6);
  const r = await t.step(customBatch(tokens, tokens, tokens.map(() => 0)), { lr: 1e-2, weightDecay: 0.1 });
  assert.equal(r.skipped, true);
  assert.deepEqual(t.tensor("blk.0.attn_q.weight"), before);
  assert.deepEqual(t.tensor("token_embd.weight"), embBefore);
});

test("masked positions contribute nothing to the gradient", async () => {
  const t = await load({ seed: 23 });
  const tokens = randomTokens(16, 256, 7);
  const targets = randomTokens(16, 256, 8);
  const half = tokens.map((_, i) => (i < 8 ? 1 : 0));
  // Changing the targets of masked positions must not change the gradient at all.
  await t.computeGradients(customBatch(tokens, targets, half));
  const g1 = t.gradient("blk.1.ffn_up.weight");
  const scrambled = targets.map((x, i) => (i < 8 ? x : (x + 77) % 256));
  await t.computeGradients(customBatch(tokens, scrambled, half));
  assert.deepEqual(t.gradient("blk.1.ffn_up.weight"), g1);
});

test("w = -1: gradient ascent raises the NLL of those targets", async () => {
  const t = await load({ seed: 24 });
  const tokens = randomTokens(20, 256, 9);
  const ascend = nextTokenBatch([tokens], undefined, -1);
  const descend = nextTokenBatch([tokens]);
  const nll0 = await t.loss(descend);
  for (let i = 0; i < 10; i++) await t.step(ascend, { lr: 1e-3 });
  const nll1 = await t.loss(descend);
  assert.ok(nll1 > nll0 + 0.5, `NLL ${nll0} -> ${nll1}`);
});

test("embeddings train when selected and stay frozen otherwise", async () => {
  const tokens = randomTokens(16, 256, 10);
  const batch = nextTokenBatch([tokens]);
  const on = await load({ seed: 25 }, true);
  const off = await load({ seed: 25 }, false);
  assert.ok(off.info.nTrainable < on.info.nTrainable);
  const e0 = on.tensor("token_embd.weight");
  await on.step(batch, { lr: 1e-2 });
  await off.step(batch, { lr: 1e-2 });
  assert.ok(maxAbsDiff(on.tensor("token_embd.weight"), e0) > 1e-4, "embeddings did not move");
  assert.deepEqual(off.tensor("token_embd.weight"), e0);
});

// Once with the ordinary one-gather loss, once gathering 5 positions at a time (as a micro-batch
// past 2^31 / vocabulary positions is gathered), chunk borders falling inside a sequence.
for (const gatherPositions of [undefined, 5]) {
  test(`gradients match central finite differences (soft labels, ascent and masking${gatherPositions ? `, gathered ${gatherPositions} positions at a time` : ""})`, async () => {
    const t = await load({ seed: 26, nEmbd: 32, nHead: 4, nHeadKv: 2, nFf: 64 }, true, gatherPositions);
    const T = 12;
    const K = 2;
    const tokens = randomTokens(T, 256, 11);
    const targets = randomTokens(T * K, 256, 12);
    const weights = Array.from({ length: T * K }, (_, j) => [1, 0.5, -0.3, 0, 1, 0.25][j % 6]!);
    const batch: WeightedBatch = { B: 1, T, K, tokens: Int32Array.from(tokens), targets: Int32Array.from(targets), weights: Float32Array.from(weights) };
    await t.computeGradients(batch);
    const names = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.attn_v.weight", "blk.1.ffn_down.weight", "blk.0.attn_norm.weight", "output_norm.weight", "output.weight"];
    // The embedding rows of tokens that occur, and spread samples elsewhere.
    const picks = Object.fromEntries(names.map((name) => [name, name === "token_embd.weight" ? () => [tokens[0]! * 32, tokens[3]! * 32 + 5] : spread]));
    const worst = await checkFiniteDifferences(t, batch, picks);
    assert.ok(worst < 2e-3, `worst gradient error ${worst}`);
  });
}

test("a loss gathered in chunks equals the one-gather loss: value, gradients and logits", async () => {
  // 2 sequences × 11 positions in chunks of 4: chunks straddle the sequence border, the last is short.
  const whole = await load({ seed: 32 });
  const chunked = await load({ seed: 32 }, true, 4);
  const T = 11;
  const K = 3;
  const seqs = [randomTokens(T, 256, 50), randomTokens(T, 256, 51)];
  const batch: WeightedBatch = {
    B: 2,
    T,
    K,
    tokens: Int32Array.from(seqs.flat()),
    targets: Int32Array.from(randomTokens(2 * T * K, 256, 52)),
    weights: Float32Array.from({ length: 2 * T * K }, (_, j) => [1, -0.5, 0, 0.25, 2][j % 5]!),
  };
  const a = await whole.computeGradients(batch);
  const b = await chunked.computeGradients(batch);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6 * Math.max(1, Math.abs(a.loss)), `loss ${a.loss} vs ${b.loss}`);
  for (const name of ["output.weight", "output_norm.weight", "blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"]) {
    const ga = whole.gradient(name);
    const gb = chunked.gradient(name);
    const scale = Math.max(...ga.map(Math.abs));
    assert.ok(scale > 0, `${name} has a gradient`);
    assert.ok(maxAbsDiff(ga, gb) < 1e-5 * scale, `${name}: max diff ${maxAbsDiff(ga, gb)} of ${scale}`);
  }
  // Not to the last bit: a BLAS product's rounding depends on the matrix's size.
  const [lc, lw] = [await chunked.forward(seqs), await whole.forward(seqs)];
  assert.ok(maxAbsDiff(lc, lw) < 1e-5 * Math.max(...lw.map(Math.abs)), `logits differ by ${maxAbsDiff(lc, lw)}`);
  // And a step moves both the same way.
  await whole.step(batch, { lr: 1e-3 });
  await chunked.step(batch, { lr: 1e-3 });
  assert.ok(maxAbsDiff(whole.tensor("output.weight"), chunked.tensor("output.weight")) < 1e-5);
});

test("a fixed normaliser divides the weighted sum instead of Σ|w|", async () => {
  const t = await load({ seed: 33 });
  const tokens = randomTokens(10, 256, 53);
  const batch = nextTokenBatch([tokens], undefined, -0.5);
  // Σ|w| = 9 · 0.5; with normaliser 1 the loss is the raw −Σ w·log p.
  const normalised = await t.loss(batch);
  const raw = await t.loss(batch, { normalizer: 1 });
  assert.ok(Math.abs(raw - normalised * 4.5) < 1e-5 * Math.abs(raw), `${raw} vs ${normalised} · 4.5`);
  await t.computeGradients(batch);
  const g1 = t.gradient("blk.0.ffn_up.weight");
  await t.computeGradients(batch, { normalizer: 9 });
  const g2 = t.gradient("blk.0.ffn_up.weight");
  // Dividing by 9 instead of 4.5 halves the gradient.
  assert.ok(maxAbsDiff(g1.map((x) => x / 2), g2) < 1e-6 * Math.max(...g1.map(Math.abs)));
  await assert.rejects(async () => t.loss(batch, { normalizer: 0 }), /normalizer/);
});

test("gradient accumulation over micro-batches equals one batch of both", async () => {
  const t = await load({ seed: 27 });
  const a = randomTokens(16, 256, 13);
  const b = randomTokens(16, 256, 14);
  await t.computeGradients(nextTokenBatch([a, b]));
  const together = t.gradient("blk.0.ffn_gate.weight");
  await t.computeGradients([nextTokenBatch([a]), nextTokenBatch([b])]);
  const split = t.gradient("blk.0.ffn_gate.weight");
  assert.ok(maxAbsDiff(together, split) < 1e-5, `max diff ${maxAbsDiff(together, split)}`);
});

test("loss equals the weighted mean NLL computed from the logits", async () => {
  const t = await load({ seed: 28 });
  const tokens = randomTokens(10, 256, 15);
  const batch = nextTokenBatch([tokens]);
  const logits = await t.forward([tokens]);
  let expected = 0;
  for (let i = 0; i < 9; i++) expected -= logSoftmaxAt(logits, t.info.nVocab, i, tokens[i + 1]!);
  expected /= 9;
  assert.ok(Math.abs((await t.loss(batch)) - expected) < 1e-4);
});

for (const nLayer of [8, 12]) {
  test(`${nLayer}-layer model trains without an assert`, async () => {
    const t = await load({ nLayer, nEmbd: 32, nHead: 2, nHeadKv: 1, nFf: 64, seed: 30 + nLayer });
    const batch = nextTokenBatch([randomTokens(32, 256, 16), randomTokens(32, 256, 17)]);
    const first = await t.step(batch, { lr: 2e-3 });
    let last = first;
    for (let i = 0; i < 5; i++) last = await t.step(batch, { lr: 2e-3 });
    assert.ok(Number.isFinite(last.loss) && last.loss < first.loss, `loss ${first.loss} -> ${last.loss}`);
  });
}

test("optimizer state moves to a fresh trainer and training continues identically", async () => {
  const path = makeTinyModel(dir, { nLayer: 2, seed: 29 });
  const batches = [0, 1, 2, 3].map((i) => nextTokenBatch([randomTokens(16, 256, 40 + i)]));
  const a = await Trainer.load(path, { threads: 1 });
  trainers.push(a);
  for (const b of batches.slice(0, 2)) await a.step(b, { lr: 5e-3, weightDecay: 0.1 });
  // Checkpoint: weights through a saved GGUF, moments and step through the optimizer state.
  const ckpt = join(dir, "ckpt.gguf");
  await a.save(ckpt);
  const resumed = await Trainer.load(ckpt, { threads: 1 });
  trainers.push(resumed);
  resumed.setOptimizerState(a.optimizerState());
  assert.equal(resumed.optimizerState().step, 2);
  for (const b of batches.slice(2)) {
    const x = await a.step(b, { lr: 5e-3, weightDecay: 0.1 });
    const y = await resumed.step(b, { lr: 5e-3, weightDecay: 0.1 });
    assert.equal(y.loss, x.loss);
  }
  assert.deepEqual(resumed.tensor("blk.1.attn_k.weight"), a.tensor("blk.1.attn_k.weight"));
});

test("a training step can be cancelled between micro-batches, and the trainer stays usable", async () => {
  const t = await load({ seed: 31 });
  const micro = Array.from({ length: 40 }, (_, i) => nextTokenBatch([randomTokens(64, 256, 200 + i)]));
  const before = t.tensor("blk.0.attn_q.weight");
  const running = t.step(micro, { lr: 1e-2 }, (done) => {
    if (done === 2) t.cancel();
  });
  await assert.rejects(running, CancelledError);
  assert.deepEqual(t.tensor("blk.0.attn_q.weight"), before, "a cancelled step must not update the weights");
  const r = await t.step(micro[0]!, { lr: 1e-2 });
  assert.ok(Number.isFinite(r.loss));
});

test("AdamW moves every weight as its formula says, with clipping, and decays matrices only", async () => {
  // 258 × 260 embeddings: two threads split them off the 8-lane blocks; 260-wide norms end in a partial block.
  const t = await Trainer.load(makeTinyModel(dir, { nLayer: 1, nEmbd: 260, nHead: 2, nFf: 100, seed: 31 }), { threads: 2 });
  trainers.push(t);
  const batch = nextTokenBatch([randomTokens(24, 256, 50), randomTokens(24, 256, 51)]);
  const opt = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 0.5 };
  const names = ["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.ffn_down.weight"];
  const moments = new Map(names.map((n) => [n, { m: new Float64Array(t.tensor(n).length), v: new Float64Array(t.tensor(n).length) }]));
  for (let step = 1; step <= 2; step++) {
    await t.computeGradients(batch);
    const norm = Math.sqrt(t.info.tensors.reduce((sum, n) => sum + t.gradient(n).reduce((a, x) => a + x * x, 0), 0));
    const before = names.map((n) => ({ n, w: t.tensor(n), g: t.gradient(n) }));
    const { gradNorm } = await t.step(batch, opt);
    assert.ok(Math.abs(gradNorm - norm) < 1e-6 * norm, `the step's gradient norm ${gradNorm}, the gradients' ${norm}`);
    assert.ok(gradNorm > opt.clip, `the gradient norm ${gradNorm} is not clipped: pick a smaller clip`);
    const scale = opt.clip / gradNorm;
    for (const { n, w, g } of before) {
      const { m, v } = moments.get(n)!;
      const decay = n.endsWith("norm.weight") ? 0 : opt.weightDecay;
      const after = t.tensor(n);
      let worst = 0;
      for (let j = 0; j < w.length; j++) {
        const gj = g[j]! * scale;
        m[j] = opt.beta1 * m[j]! + (1 - opt.beta1) * gj;
        v[j] = opt.beta2 * v[j]! + (1 - opt.beta2) * gj * gj;
        const mhat = m[j]! / (1 - opt.beta1 ** step);
        const vhat = v[j]! / (1 - opt.beta2 ** step);
        const expected = w[j]! - opt.lr * (mhat / (Math.sqrt(vhat) + opt.eps) + decay * w[j]!);
        worst = Math.max(worst, Math.abs(after[j]! - expected) / (1e-3 + Math.abs(expected)));
      }
      assert.ok(worst < 1e-5, `${n}, step ${step}: off the AdamW formula by ${worst} relative`);
    }
  }
});
