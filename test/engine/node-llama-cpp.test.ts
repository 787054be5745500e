// A real client, node-llama-cpp, loads a model saved by lethe's trainer and generates text.
// (Its own addon registers the ggml backends, so this runs in a file of its own.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";

import { Trainer, nextTokenBatch } from "../../src/engine/trainer.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { randomTokens, tempDir } from "./helpers.js";

test("node-llama-cpp loads a trained, saved model and generates", async () => {
  const dir = tempDir("nlc");
  const t = Trainer.load(makeTinyModel(dir, { nLayer: 2, seed: 61 }), { threads: 2 });
  const text = Array.from({ length: 4 }, () => "the cat sat on the mat. ").join("");
  const ids = [256, ...Buffer.from(text)];
  for (let i = 0; i < 40; i++) await t.step(nextTokenBatch([ids, randomTokens(ids.length, 256, i)]), { lr: 1e-2 });
  const out = join(dir, "trained.gguf");
  await t.save(out);
  await t.dispose();

  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: out });
  const context = await model.createContext({ contextSize: 128, threads: 2 });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  const generated = await completion.generateCompletion("the cat sat", { maxTokens: 12, temperature: 0 });
  assert.ok(generated.length > 0, "no text generated");
  // It learned the repeated sentence well enough to continue it.
  assert.match(generated, /on|the|mat/);
  await context.dispose();
  await model.dispose();
  await llama.dispose();
});
