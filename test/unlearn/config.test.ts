import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG, loadConfigFile, mergeConfigInputs, resolveConfig } from "../../src/unlearn/config.js";
import { InputError } from "../../src/errors.js";
import { tempDir } from "../helpers/temp.js";

test("resolveConfig overrides the defaults section by section", () => {
  const c = resolveConfig({ labels: { alpha: 3 }, finetune: { steps: 10 }, method: "npo", blockTokens: 64 });
  assert.equal(c.labels.alpha, 3);
  assert.equal(c.finetune.steps, 10);
  assert.equal(c.finetune.lr, DEFAULT_CONFIG.finetune.lr);
  assert.equal(c.method, "npo");
  assert.equal(c.blockTokens, 64);
  assert.equal(DEFAULT_CONFIG.labels.alpha, 5, "defaults are not mutated");
});

test("resolveConfig refuses unknown keys, bad values and bad methods, naming them", () => {
  assert.throws(() => resolveConfig({ labels: { alfa: 3 } }), (e: unknown) => e instanceof InputError && /labels\.alfa/.test(e.message));
  assert.throws(() => resolveConfig({ finetune: { steps: 0 } }), (e: unknown) => e instanceof InputError && /finetune\.steps/.test(e.message));
  // A typo such as 1e9 steps is refused, not estimated at 63,900 hours.
  assert.throws(() => resolveConfig({ finetune: { steps: 1e9 } }), (e: unknown) => e instanceof InputError && /finetune\.steps" must be a whole number ≥ 1 and ≤ 100000/.test(e.message));
  assert.throws(() => resolveConfig({ finetune: { retainLoss: "mse" } }), (e: unknown) => e instanceof InputError && /finetune\.retainLoss" must be one of "nll", "kl"/.test(e.message));
  assert.throws(() => resolveConfig({ labels: { tail: 65 } }), (e: unknown) => e instanceof InputError && /labels\.tail/.test(e.message));
  assert.equal(resolveConfig({ finetune: { retainLoss: "kl" } }).finetune.retainLoss, "kl");
  assert.equal(resolveConfig({ precision: "auto" }).precision, "auto");
  assert.throws(() => resolveConfig({ precision: "fp16" }), (e: unknown) => e instanceof InputError && /"precision" must be one of "f32", "bf16", "auto"/.test(e.message));
  assert.throws(() => resolveConfig({ finetune: { steps: 2.5 } }), InputError);
  assert.throws(() => resolveConfig({ reinforce: { lr: 0 } }), InputError);
  assert.throws(() => resolveConfig({ method: "magic" }), (e: unknown) => e instanceof InputError && /method/.test(e.message));
  assert.throws(() => resolveConfig({ epochs: 3 }), (e: unknown) => e instanceof InputError && /unknown setting "epochs"/.test(e.message));
  assert.throws(() => resolveConfig([]), InputError);
  assert.throws(() => resolveConfig({ labels: { suppressAnchors: 1 } }), (e: unknown) => e instanceof InputError && /labels\.suppressAnchors" must be true or false/.test(e.message));
  assert.equal(resolveConfig({ labels: { suppressAnchors: false } }).labels.suppressAnchors, false);
});

test("loadConfigFile names the file on malformed JSON", () => {
  const dir = tempDir("cfg");
  const bad = join(dir, "bad.json");
  writeFileSync(bad, '{"labels": {"alpha": 5,}}');
  assert.throws(() => loadConfigFile(bad), (e: unknown) => e instanceof InputError && e.message.includes(bad));
  const good = join(dir, "good.json");
  writeFileSync(good, '{"labels": {"alpha": 2}}');
  assert.deepEqual(loadConfigFile(good), { labels: { alpha: 2 } });
});

test("mergeConfigInputs merges sections key by key, later winning", () => {
  assert.deepEqual(mergeConfigInputs({ labels: { alpha: 2 }, seed: 1 }, { labels: { alpha: 4 } }, { finetune: { steps: 3 } }), {
    labels: { alpha: 4 },
    seed: 1,
    finetune: { steps: 3 },
  });
});
