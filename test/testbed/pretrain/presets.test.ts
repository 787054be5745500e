// Built-in sizes, JSON config files and their validation.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InputError } from "../../../src/errors.js";
import { PRESETS, llamaConfigOf, presetFromJson, resolvePreset, validatePreset } from "../../../src/testbed/pretrain/presets.js";
import { tempDir } from "../../helpers/temp.js";
import { MICRO } from "./helpers.js";

const inputError = (pattern: RegExp) => (e: unknown) => e instanceof InputError && pattern.test(e.message);

test("the built-in sizes are valid and have the documented shapes", () => {
  for (const [name, preset] of Object.entries(PRESETS)) validatePreset(preset, name);
  const { tiny, small } = PRESETS;
  assert.deepEqual([tiny.nLayer, tiny.nEmbd, tiny.vocab, tiny.context], [4, 256, 4096, 256]);
  assert.deepEqual([small.nLayer, small.nEmbd, small.vocab, small.context], [6, 384, 8192, 256]);
  // The 60-minute budget of small on 2 cores rests on 500 steps × 16 × 256 = 2.05M tokens at ~800 tok/s.
  assert.equal(small.steps * small.batchSize * small.context, 2_048_000);
  assert.deepEqual(resolvePreset("tiny"), tiny);
});

test("llamaConfigOf gives an untied Llama with the tokenizer's vocabulary", () => {
  const config = llamaConfigOf(MICRO, 297);
  assert.deepEqual(
    [config.nVocab, config.nCtx, config.nEmbd, config.nLayer, config.nHead, config.nFf, config.tiedEmbeddings, config.name],
    [297, 64, 64, 2, 4, 128, false, "lethe-micro"],
  );
});

test("validatePreset names the field that cannot work", () => {
  assert.throws(() => validatePreset({ ...MICRO, vocab: 258 }, "x"), inputError(/x: vocab 258 is too small: .* at least 259/));
  assert.throws(() => validatePreset({ ...MICRO, nLayer: 0 }, "x"), inputError(/nLayer is 0/));
  assert.throws(() => validatePreset({ ...MICRO, steps: 1.5 }, "x"), inputError(/steps is 1.5/));
  assert.throws(() => validatePreset({ ...MICRO, nEmbd: 60, nHead: 8 }, "x"), inputError(/nEmbd 60 must split into nHead 8/));
  assert.throws(() => validatePreset({ ...MICRO, lr: 0 }, "x"), inputError(/positive learning rate/));
  assert.throws(() => validatePreset({ ...MICRO, minLr: 1 }, "x"), inputError(/minLr 1 is above lr/));
  assert.throws(() => validatePreset({ ...MICRO, evalFraction: 0.9 }, "x"), inputError(/evalFraction is 0.9/));
  assert.throws(() => validatePreset({ ...MICRO, context: 1 }, "x"), inputError(/context is 1/));
  assert.throws(() => validatePreset({ ...MICRO, name: "a b" }, "x"), inputError(/name "a b"/));
});

test("a JSON config starts from its base and refuses unknown keys", () => {
  const p = presetFromJson({ base: "small", nLayer: 2, steps: 10 }, "cfg");
  assert.deepEqual([p.nLayer, p.steps, p.nEmbd, p.vocab, p.name], [2, 10, 384, 8192, "small-custom"]);
  assert.equal(presetFromJson({}, "cfg").nEmbd, 256, "the base defaults to tiny");
  assert.throws(() => presetFromJson({ nLayers: 2 }, "cfg"), inputError(/cfg: unknown key "nLayers"/));
  assert.throws(() => presetFromJson({ base: "huge" }, "cfg"), inputError(/base is "huge"/));
  assert.throws(() => presetFromJson([1], "cfg"), inputError(/cfg is not a JSON object/));
  assert.throws(() => presetFromJson({ nLayer: "2" }, "cfg"), inputError(/nLayer is "2"/));
});

test("resolvePreset reads a config file and explains a bad one", () => {
  const dir = tempDir("pretrain-presets");
  const good = join(dir, "micro.json");
  writeFileSync(good, JSON.stringify({ ...MICRO, base: "tiny" }));
  assert.deepEqual(resolvePreset(good), MICRO);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "{ nLayer: 2 }");
  assert.throws(() => resolvePreset(bad), inputError(/config file .*bad.json is not valid JSON/));
  assert.throws(() => resolvePreset("medium"), inputError(/size "medium" is neither tiny, small nor an existing JSON config file/));
});
