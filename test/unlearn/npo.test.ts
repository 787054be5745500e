// NPO against a direct implementation of its loss on a tiny model: the reference and current
// log-likelihoods come from one engine, so the weights are exactly 1 at step 0; later, the method's
// weights, loss, gradient and AdamW update are those of the NPO loss written out here from the
// logits; and a run resumed from a checkpoint keeps the reference of the starting weights.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { Trainer, nextTokenBatch } from "../../src/engine/trainer.js";
import { CancelledError } from "../../src/errors.js";
import { npoStep, referenceLogprobs } from "../../src/unlearn/methods/npo.js";
import { unlearn } from "../../src/unlearn/index.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { logSoftmaxAt, maxAbsDiff, randomTokens } from "../engine/helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("npo");
const trainers: Trainer[] = [];
after(async () => {
  for (const t of trainers) await t.dispose();
});

const T = 16;
const beta = 0.5;
const base = makeTinyModel(dir, { nLayer: 2, seed: 41 });
const seqs = [randomTokens(T, 256, 61), randomTokens(T, 256, 62), randomTokens(T, 256, 63)];

async function load(path: string): Promise<Trainer> {
  const t = await Trainer.load(path, { threads: 1 });
  trainers.push(t);
  return t;
}

/** The NPO loss written out from the trainer's logits in float64, and each sequence's log π(y). */
async function directNpo(t: Trainer, references: number[]): Promise<{ loss: number; logps: number[] }> {
  const V = t.info.nVocab;
  const logits = await t.forward(seqs);
  const logps = seqs.map((s, b) => {
    let lp = 0;
    for (let i = 0; i + 1 < T; i++) lp += logSoftmaxAt(logits, V, b * T + i, s[i + 1]!);
    return lp;
  });
  // L = (1/B) Σ_b (2/β) log(1 + (π_θ(y_b) / π_ref(y_b))^β)
  const loss = logps.reduce((sum, lp, b) => sum + (2 / beta) * Math.log(1 + Math.exp(beta * (lp - references[b]!))), 0) / seqs.length;
  return { loss, logps };
}

test("step 0: every NPO weight is exactly 1 and the step is gradient ascent's", async () => {
  const t = await load(base);
  const refs = await referenceLogprobs(t, seqs, [2, 0, 1, 0]);
  assert.deepEqual([...refs.keys()], [0, 1, 2]);
  const references = [0, 1, 2].map((i) => refs.get(i)!);
  // The references are the sequences' log-likelihoods under the starting weights.
  const direct = await directNpo(t, references);
  direct.logps.forEach((lp, b) => assert.ok(Math.abs(lp - references[b]!) < 1e-3 * Math.abs(lp), `${lp} vs ${references[b]}`));

  const s = await npoStep(t, seqs, references, beta, T);
  assert.deepEqual(s.weights, [1, 1, 1]);
  assert.equal(s.loss, (2 / beta) * Math.log(2));
  assert.equal(s.normalizer, seqs.length * (T - 1));
  for (const b of s.batches) assert.deepEqual([...b.weights], [...Array(T - 1).fill(-1), 0]);

  await t.computeGradients(s.batches, { normalizer: s.normalizer });
  const npoGrad = t.gradient("blk.0.attn_q.weight");
  await t.computeGradients(nextTokenBatch(seqs, T, -1));
  const ascentGrad = t.gradient("blk.0.attn_q.weight");
  assert.ok(maxAbsDiff(npoGrad, ascentGrad) < 1e-6 * Math.max(...ascentGrad.map(Math.abs)));
});

test("later: weights, loss, gradient and the AdamW update are those of the NPO loss written out directly", async () => {
  const start = await load(base);
  const refs = await referenceLogprobs(start, seqs, [0, 1, 2]);
  const references = [0, 1, 2].map((i) => refs.get(i)!);
  // Forget unevenly (ascent on the first two sequences only), so the weights differ by sequence.
  for (let i = 0; i < 4; i++) await start.step(nextTokenBatch(seqs.slice(0, 2), T, -1), { lr: 3e-3 });
  const moved = join(dir, "moved.gguf");
  await start.save(moved);
  const t = await load(moved); // fresh AdamW moments, for the update check below

  const s = await npoStep(t, seqs, references, beta, T);
  const direct = await directNpo(t, references);
  direct.logps.forEach((lp, b) => {
    const w = 2 / (1 + Math.exp(-beta * (lp - references[b]!)));
    assert.ok(Math.abs(s.weights[b]! - w) < 1e-4, `weight ${b}: ${s.weights[b]} vs direct ${w}`);
  });
  assert.ok(s.weights[0]! < 0.9 && s.weights[1]! < 0.9, `ascended sequences weigh less: ${s.weights}`);
  assert.ok(Math.max(...s.weights) - Math.min(...s.weights) > 0.05, `weights differ by sequence: ${s.weights}`);
  assert.ok(Math.abs(s.loss - direct.loss) < 1e-4 * direct.loss, `loss ${s.loss} vs direct ${direct.loss}`);

  // The trainer's gradient is ∇L_NPO / (T − 1): compare with central differences of the direct loss.
  await t.computeGradients(s.batches, { normalizer: s.normalizer });
  const h = 1e-2;
  const checked: { name: string; i: number; numeric: number }[] = [];
  for (const name of ["blk.0.attn_q.weight", "blk.1.ffn_down.weight", "output_norm.weight", "output.weight", "token_embd.weight"]) {
    const grad = t.gradient(name);
    const w = t.tensor(name);
    const picks = name === "token_embd.weight" ? [seqs[0]![2]! * 64 + 3, seqs[2]![5]! * 64 + 9] : [0, 7, Math.floor(w.length / 2), w.length - 1];
    for (const i of picks) {
      const orig = w[i]!;
      w[i] = orig + h;
      t.setTensor(name, w);
      const up = (await directNpo(t, references)).loss;
      w[i] = orig - h;
      t.setTensor(name, w);
      const down = (await directNpo(t, references)).loss;
      w[i] = orig;
      t.setTensor(name, w);
      const numeric = (up - down) / (2 * h) / (T - 1);
      assert.ok(Math.abs(numeric - grad[i]!) < 2e-3 + 0.02 * Math.abs(numeric), `${name}[${i}]: method ${grad[i]} vs direct ${numeric}`);
      checked.push({ name, i, numeric });
    }
  }

  // AdamW's first step from zero moments moves each weight by −lr·g/(|g| + ε), so it goes against
  // the direct NPO gradient wherever that is clearly non-zero.
  const lr = 1e-3;
  const before = new Map(checked.map(({ name }) => [name, t.tensor(name)]));
  const grads = new Map(checked.map(({ name }) => [name, t.gradient(name)]));
  await t.step(s.batches, { lr, clip: 0, normalizer: s.normalizer });
  for (const [name, w0] of before) {
    const g = grads.get(name)!;
    const expected = w0.map((x, i) => x - (lr * g[i]!) / (Math.abs(g[i]!) + 1e-8));
    assert.ok(maxAbsDiff(t.tensor(name), expected) < 1e-6, `${name}: update differs from AdamW on the NPO gradient`);
  }
  let signed = 0;
  for (const { name, i, numeric } of checked) {
    if (Math.abs(numeric) < 1e-3) continue;
    const delta = t.tensor(name)[i]! - before.get(name)![i]!;
    assert.ok(Math.sign(delta) === -Math.sign(numeric), `${name}[${i}] moved ${delta} along the NPO gradient ${numeric}`);
    signed++;
  }
  assert.ok(signed >= 5, `only ${signed} coordinates had a clear gradient`);
});

// End to end through `unlearn`: a tiny model and a forget corpus of random bytes.
const corpus = join(dir, "forget");
mkdirSync(corpus, { recursive: true });
writeFileSync(join(corpus, "a.txt"), String.fromCharCode(...randomTokens(900, 95, 64).map((c) => c + 32)));
const config = { blockTokens: 32, checkpointEvery: 2, ascent: { steps: 4, batchSize: 2, lr: 1e-3, npoBeta: beta } };

function run(name: string, steps: number, signal?: AbortSignal, onStep?: (step: number) => void) {
  return unlearn({
    model: base,
    forget: [corpus],
    out: join(dir, `${name}.gguf`),
    method: "npo",
    config: { ...config, ascent: { ...config.ascent, steps } },
    threads: 1,
    signal,
    onEvent: (e) => {
      if (e.type === "train") onStep?.(e.progress.step);
    },
  });
}

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

test("unlearn --method npo: the first step's mean weight is exactly 1", async () => {
  const r = await run("one-step", 1);
  const stats = r.stages.find((s) => s.name === "ascent")!.stats;
  assert.equal(stats.npoMeanWeight, 1);
  assert.equal(stats.npoLoss, (2 / beta) * Math.log(2));
});

test("unlearn --method npo resumed from a checkpoint keeps the starting weights' reference: identical model", async () => {
  const straight = await run("straight", 4);
  const controller = new AbortController();
  await assert.rejects(
    run("resumed", 4, controller.signal, (step) => {
      if (step === 3) controller.abort();
    }),
    CancelledError,
  );
  const resumed = await run("resumed", 4);
  const stats = resumed.stages.find((s) => s.name === "ascent")!.stats;
  assert.equal(stats.resumedFrom, 2);
  assert.equal(sha(resumed.out!), sha(straight.out!));
  assert.deepEqual(stats.npoMeanWeight, straight.stages.find((s) => s.name === "ascent")!.stats.npoMeanWeight);
});
