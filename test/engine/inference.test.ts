// The inference API over llama.cpp: every call agrees with the full logits, and long calls behave.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { CancelledError } from "../../src/errors.js";
import { Model } from "../../src/engine/model.js";
import { backendInfo, resolveThreads } from "../../src/engine/native.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { logSoftmaxAt, randomTokens } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("inference");
const model = await Model.load(makeTinyModel(dir, { nLayer: 2, seed: 41 }), { threads: 2, contextLength: 256 });
after(() => model.dispose());
const V = model.info.nVocab;

test("a CPU backend loads, and the variant is reported", () => {
  const info = backendInfo();
  assert.ok(info.devices.some((d) => d.name.toUpperCase().startsWith("CPU")), JSON.stringify(info.devices));
  assert.match(info.cpuVariant, /^libggml-cpu-[a-z0-9-]+\.so$/);
  assert.ok(resolveThreads(1000) <= resolveThreads());
});

test("tokenize and detokenize round-trip through llama.cpp", () => {
  const text = "Dorothy lived in the midst of the great Kansas prairies.";
  const ids = model.tokenize(text);
  assert.equal(ids[0], model.info.bosId);
  assert.equal(ids.length, Buffer.byteLength(text) + 1); // byte tokenizer: one token per byte
  assert.equal(model.detokenize(ids), text);
  assert.deepEqual(model.tokenize(text, { addBos: false }), ids.slice(1));
});

test("token log-probabilities agree with log-softmax of the full logits, packed or not", async () => {
  const seqs = [randomTokens(30, 256, 1), randomTokens(7, 256, 2), randomTokens(50, 256, 3)];
  const logits = await model.logits(seqs);
  const lp = await model.tokenLogprobs(seqs);
  seqs.forEach((s, i) => {
    assert.equal(lp[i]!.length, s.length - 1);
    for (let p = 0; p + 1 < s.length; p++) {
      assert.ok(Math.abs(lp[i]![p]! - logSoftmaxAt(logits[i]!, V, p, s[p + 1]!)) < 1e-4);
    }
  });
  // A sequence scored alone gets the same numbers as when packed with others.
  const [alone] = await model.tokenLogprobs([seqs[1]!]);
  for (let p = 0; p < alone!.length; p++) assert.ok(Math.abs(alone![p]! - lp[1]![p]!) < 1e-4);
});

test("top-k logits are the k largest, in order, with the right normaliser", async () => {
  const seq = randomTokens(12, 256, 4);
  const [full] = await model.logits([seq]);
  const [top] = await model.topLogits([seq], 5);
  for (let p = 0; p < seq.length; p++) {
    const row = Array.from(full!.subarray(p * V, (p + 1) * V));
    const sorted = row.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]);
    for (let j = 0; j < 5; j++) {
      assert.ok(Math.abs(top!.logits[p * 5 + j]! - sorted[j]![0]) < 1e-6);
    }
    const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    assert.ok(Math.abs(top!.logSumExp[p]! - lse) < 1e-4);
  }
});

test("greedy generation is deterministic and follows the argmax", async () => {
  const a = await model.generate("Once upon a time", { maxTokens: 12 });
  const b = await model.generate("Once upon a time", { maxTokens: 12 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.ok(a.tokens.length > 0 && a.tokens.length <= 12);
  // The first generated token is the argmax after the prompt.
  const prompt = model.tokenize("Once upon a time");
  const [logits] = await model.logits([prompt]);
  const last = logits!.subarray((prompt.length - 1) * V);
  let best = 0;
  for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
  assert.equal(a.tokens[0], best);
});

test("sampling is reproducible by seed and varies across seeds", async () => {
  const opts = { maxTokens: 16, temperature: 1.5, topK: 100, topP: 0.95 };
  const a = await model.generate("The", { ...opts, seed: 7 });
  const b = await model.generate("The", { ...opts, seed: 7 });
  assert.deepEqual(a.tokens, b.tokens);
  const others = await Promise.all([8, 9, 10].map((seed) => model.generate("The", { ...opts, seed })));
  assert.ok(others.some((o) => o.tokens.join() !== a.tokens.join()));
});

test("progress is reported and a long call can be cancelled", async () => {
  const seqs = Array.from({ length: 64 }, (_, i) => randomTokens(200, 256, 100 + i));
  const seen: number[] = [];
  await model.tokenLogprobs(seqs.slice(0, 4), { onProgress: (done, total) => seen.push(done / total) });
  assert.ok(seen.length > 0 && seen.at(-1) === 1);
  const running = model.tokenLogprobs(seqs);
  model.cancel();
  await assert.rejects(running, CancelledError);
  // The model is still usable afterwards.
  const [lp] = await model.tokenLogprobs([seqs[0]!]);
  assert.equal(lp!.length, 199);
});

test("an over-long prompt is cut from the left to leave room for generation", async () => {
  const long = "x".repeat(400);
  const r = await model.generate(long, { maxTokens: 4 });
  assert.ok(r.tokens.length <= 4);
});

test("JavaScript stays responsive while a long call runs on the worker thread", async () => {
  const seqs = Array.from({ length: 24 }, (_, i) => randomTokens(250, 256, 300 + i));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  await model.tokenLogprobs(seqs);
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  // The event loop kept turning: at least a third of the possible timer ticks fired.
  assert.ok(ticks >= Math.floor(elapsed / 5 / 3), `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
});

test("a context that llama.cpp rounds up still decodes every length it reports (no n_batch abort)", async () => {
  const m = await Model.load(makeTinyModel(dir, { nLayer: 1, seed: 42 }), { threads: 2, contextLength: 100 });
  try {
    const n = m.info.contextLength;
    assert.ok(n >= 100);
    // Two sequences that pack past the requested 100 tokens, and one of the full reported length.
    const lps = await m.tokenLogprobs([randomTokens(120, 256, 5), randomTokens(120, 256, 6), randomTokens(n, 256, 7)]);
    assert.deepEqual(lps.map((x) => x.length), [119, 119, n - 1]);
    const g = await m.generate(randomTokens(n - 8, 256, 8), { maxTokens: 8 });
    assert.ok(g.tokens.length <= 8);
  } finally {
    await m.dispose();
  }
});
