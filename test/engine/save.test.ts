// Models go in and come out as GGUF: what the trainer saves is exactly what llama.cpp then runs.
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { InputError } from "../../src/errors.js";
import { Model } from "../../src/engine/model.js";
import { Trainer, nextTokenBatch } from "../../src/engine/trainer.js";
import { readGguf } from "../../src/gguf/read.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { maxAbsDiff, randomTokens } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("save");
const open: { dispose(): Promise<void> }[] = [];
after(async () => {
  for (const o of open) await o.dispose();
});

async function trainedTrainer(dtype: "f32" | "f16"): Promise<Trainer> {
  const t = await Trainer.load(makeTinyModel(dir, { nLayer: 2, seed: 51, dtype }), { threads: 2 });
  open.push(t);
  const batch = nextTokenBatch([randomTokens(32, 256, 1), randomTokens(32, 256, 2)]);
  for (let i = 0; i < 5; i++) await t.step(batch, { lr: 5e-3 });
  return t;
}

test("a saved F32 model reloads in llama.cpp with the trainer's logits", async () => {
  const t = await trainedTrainer("f32");
  const out = join(dir, "trained.gguf");
  await t.save(out);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
  const source = readGguf(t.info.path);
  const saved = readGguf(out);
  assert.deepEqual(
    saved.tensors.map((x) => [x.name, x.dims]),
    source.tensors.map((x) => [x.name, x.dims]),
  );
  assert.equal(saved.metadata.get("tokenizer.ggml.model")?.value, "gpt2");
  const seq = randomTokens(40, 256, 3);
  const m = await Model.load(out, { threads: 2, contextLength: 128 });
  open.push(m);
  const [reloaded] = await m.logits([seq]);
  const mine = await t.forward([seq]);
  assert.ok(maxAbsDiff(mine, reloaded!) <= 1e-4, `max diff ${maxAbsDiff(mine, reloaded!)}`);
  // The trained model differs from the one it started from.
  const base = await Model.load(t.info.path, { threads: 2, contextLength: 128 });
  open.push(base);
  const [before] = await base.logits([seq]);
  assert.ok(maxAbsDiff(before!, reloaded!) > 1e-3);
});

test("saving in the source dtype keeps F16 tensors F16 and halves the file", async () => {
  const t = await trainedTrainer("f16");
  const f32 = join(dir, "as-f32.gguf");
  const f16 = join(dir, "as-f16.gguf");
  await t.save(f32, { dtype: "f32" });
  await t.save(f16, { dtype: "source" });
  const types = (p: string) => new Set(readGguf(p).tensors.filter((x) => x.dims.length === 2).map((x) => x.type));
  assert.deepEqual(types(f32), new Set([0]));
  assert.deepEqual(types(f16), new Set([1]));
  assert.ok(statSync(f16).size < statSync(f32).size * 0.6);
  const seq = randomTokens(20, 256, 4);
  const m = await Model.load(f16, { threads: 2, contextLength: 64 });
  open.push(m);
  const [reloaded] = await m.logits([seq]);
  assert.ok(maxAbsDiff(await t.forward([seq]), reloaded!) < 0.05); // F16 rounding only
});

test("saving into a missing folder fails before touching anything", async () => {
  const t = await trainedTrainer("f32");
  await assert.rejects(t.save(join(dir, "no", "such", "dir", "x.gguf")), InputError);
  assert.equal(existsSync(join(dir, "no")), false);
});
