// The trainer's own ggml graph must compute exactly what llama.cpp computes, or training would
// optimise a different model from the one that is evaluated and shipped.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { Model } from "../../src/engine/model.js";
import { Trainer } from "../../src/engine/trainer.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { maxAbsDiff, randomTokens, rowArgmax } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("parity");
const disposables: { dispose(): Promise<void> }[] = [];
after(async () => {
  for (const d of disposables) await d.dispose();
});

const configs = [
  { label: "GQA, untied output", overrides: { nHead: 4, nHeadKv: 2, tiedEmbeddings: false, seed: 3 } },
  { label: "MHA, tied embeddings", overrides: { nHead: 4, nHeadKv: 4, tiedEmbeddings: true, seed: 4 } },
  { label: "qwen2 (q/k/v biases, NeoX RoPE), GQA 4:1", overrides: { architecture: "qwen2" as const, nHead: 4, nHeadKv: 1, seed: 5 } },
  { label: "F16 file upcast to F32", overrides: { nHeadKv: 2, dtype: "f16" as const, seed: 6 } },
];

for (const { label, overrides } of configs) {
  test(`trainer logits equal llama.cpp logits: ${label}`, async () => {
    const path = makeTinyModel(dir, { nLayer: 3, ...overrides });
    const model = await Model.load(path, { threads: 2, contextLength: 128 });
    const trainer = await Trainer.load(path, { threads: 2 });
    disposables.push(model, trainer);
    const V = model.info.nVocab;
    const seqs = [randomTokens(40, 256, 11), randomTokens(40, 256, 12), randomTokens(40, 256, 13)];

    const reference = await model.logits(seqs);
    // All three sequences in one trainer batch: exercises the per-sequence attention layout.
    const ours = await trainer.forward(seqs);
    seqs.forEach((s, b) => {
      const mine = ours.subarray(b * s.length * V, (b + 1) * s.length * V);
      const diff = maxAbsDiff(mine, reference[b]!);
      assert.ok(diff <= 1e-3, `sequence ${b}: max |Δlogit| = ${diff}`);
      assert.deepEqual(rowArgmax(mine, V), rowArgmax(reference[b]!, V), `sequence ${b}: argmax differs`);
    });
  });
}
