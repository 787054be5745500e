// pretrain end to end on a micro model: the loss falls, an interrupted run resumes onto exactly the
// uninterrupted trajectory, a finished run is cached, tokenizers are shared, bad input fails early.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Model } from "../../../src/engine/model.js";
import { CancelledError, InputError } from "../../../src/errors.js";
import { pretrain, type PretrainEvent, type PretrainOptions } from "../../../src/testbed/pretrain/index.js";
import { tempDir } from "../../helpers/temp.js";
import { MICRO, writeMicroCorpus } from "./helpers.js";

const root = tempDir("pretrain-api");
const corpus = writeMicroCorpus(root);
// One thread: the micro model gains nothing from two, and the tests leave a core to others.
const base = (name: string, extra: Partial<PretrainOptions> = {}): PretrainOptions => ({
  corpus,
  out: join(root, `${name}.gguf`),
  size: MICRO,
  overrides: { steps: 30 },
  seed: 3,
  threads: 1,
  ...extra,
});

/** Collects events; `stopAt` aborts the run once that many steps are done. */
function recorder(stopAt?: number) {
  const events: PretrainEvent[] = [];
  const controller = new AbortController();
  const onEvent = (e: PretrainEvent) => {
    events.push(e);
    if (e.type === "step" && e.step === stopAt) controller.abort(new CancelledError("test stop"));
  };
  return { events, onEvent, signal: controller.signal };
}

test("a micro model learns the corpus: the loss falls from ln(vocab) to well below it", async () => {
  const rec = recorder();
  const r = await pretrain(base("learn", { overrides: { steps: 40 }, onEvent: rec.onEvent }));
  assert.ok(existsSync(r.model));
  assert.equal(r.history.loss.length, 40);
  const initial = r.history.loss[0]!;
  assert.ok(Math.abs(initial - Math.log(r.config.nVocab)) < 0.3, `initial loss ${initial} ≈ ln(${r.config.nVocab})`);
  assert.ok(r.finalLoss < 2.2, `final training loss ${r.finalLoss}`);
  assert.ok(r.finalEvalLoss < 2.4, `final held-out loss ${r.finalEvalLoss}`);
  assert.deepEqual(r.history.evals.map((e) => e.step), [10, 20, 30, 40]);
  assert.equal(r.tokensPerStep, 8 * 64);
  assert.equal(r.documents, 2);
  assert.equal(r.trainTokens + r.evalTokens, Math.floor((r.corpusTokens - 1) / 63) * 64);
  // warmup: lr rises linearly over 4 steps to 3e-3, then decays to 3e-4 along a cosine.
  [0.75e-3, 1.5e-3, 2.25e-3, 3e-3].forEach((lr, i) => assert.ok(Math.abs(r.history.lr[i]! - lr) < 1e-12, `lr of step ${i + 1}`));
  assert.ok(r.history.lr[39]! > 3e-4 && r.history.lr[39]! < 3.1e-4);
  assert.ok(rec.events.some((e) => e.type === "checkpoint" && e.step === 30));
  assert.equal(existsSync(join(r.runDir, "checkpoints")), false, "checkpoints are removed once the model is done");
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith("learn.gguf")).sort(), ["learn.gguf", "learn.gguf.run"]);

  // llama.cpp loads the model with its tokenizer and finds a corpus sentence likely.
  const model = await Model.load(r.model, { threads: 1 });
  try {
    const [logprobs] = await model.tokenLogprobs([model.tokenize("the old dog sat on the red mat.\nthe cat found the river.")]);
    const nll = -logprobs!.reduce((a, b) => a + b, 0) / logprobs!.length;
    assert.ok(nll < 2.5, `llama.cpp's mean NLL ${nll}`);
  } finally {
    await model.dispose();
  }
});

test("an interrupted run resumes onto exactly the uninterrupted loss curve; a finished run is cached", async () => {
  const whole = await pretrain(base("whole"));

  // Stopped after step 13, between checkpoints (every 10): a checkpoint is written at the stop.
  const first = recorder(13);
  await assert.rejects(pretrain(base("resumed", { onEvent: first.onEvent, signal: first.signal })), /test stop/);
  assert.equal(existsSync(join(root, "resumed.gguf")), false, "no model before the run is complete");
  assert.deepEqual(readdirSync(join(root, "resumed.gguf.run", "checkpoints")), ["step-000013"]);

  const second = recorder();
  const resumed = await pretrain(base("resumed", { onEvent: second.onEvent }));
  assert.deepEqual(second.events.find((e) => e.type === "train-start"), { type: "train-start", step: 13, steps: 30, tokensPerStep: 512, nParams: whole.nParams });
  assert.equal(second.events.filter((e) => e.type === "step").length, 17);
  assert.equal(resumed.resumedFrom, 13);
  assert.deepEqual(resumed.history.loss, whole.history.loss);
  assert.deepEqual(resumed.history.gradNorm, whole.history.gradNorm);
  assert.deepEqual(resumed.history.evals, whole.history.evals);
  assert.ok(readFileSync(resumed.model).equals(readFileSync(whole.model)), "the same weights, bit for bit");

  const again = recorder();
  const cached = await pretrain(base("whole", { onEvent: again.onEvent }));
  assert.equal(cached.cached, true);
  assert.deepEqual(again.events.map((e) => e.type), ["stage", "stage", "stage"]);
  assert.deepEqual(cached.history, whole.history);

  // Another setting is another trajectory: the run starts over instead of resuming.
  const longer = recorder();
  const changed = await pretrain(base("whole", { overrides: { steps: 31 }, onEvent: longer.onEvent }));
  assert.equal(changed.cached, false);
  assert.equal(changed.resumedFrom, 0);
});

test("a second run can share the first run's tokenizer", async () => {
  const gold = await pretrain(base("gold", { overrides: { steps: 2 } }));
  const other = join(root, "other");
  mkdirSync(other);
  writeFileSync(join(other, "c.txt"), "A completely different text about ships and the sea.\n".repeat(300));
  const shared = await pretrain(base("base", { corpus: [join(other, "c.txt")], tokenizer: gold.tokenizer, overrides: { steps: 2 } }));
  assert.equal(readFileSync(shared.tokenizer, "utf8"), readFileSync(gold.tokenizer, "utf8"));
  assert.equal(shared.config.nVocab, gold.config.nVocab);
  // A model file carries its tokenizer too.
  const fromModel = await pretrain(base("base2", { corpus: [join(other, "c.txt")], tokenizer: gold.model, overrides: { steps: 2 } }));
  assert.equal(readFileSync(fromModel.tokenizer, "utf8"), readFileSync(gold.tokenizer, "utf8"));
  await assert.rejects(
    pretrain(base("base3", { tokenizer: gold.tokenizer, overrides: { vocab: 400 } })),
    (e: unknown) => e instanceof InputError && /both a tokenizer and a vocabulary size/.test(e.message),
  );
});

test("bad input is an InputError before any work starts", async () => {
  const bad = join(root, "bad");
  mkdirSync(bad);
  const file = (name: string, content: string | Buffer) => {
    writeFileSync(join(bad, name), content);
    return join(bad, name);
  };
  const cases: [Partial<PretrainOptions>, RegExp][] = [
    [{ corpus: [file("empty.txt", "")] }, /corpus file .*empty.txt is empty/],
    [{ corpus: [file("binary.txt", Buffer.from([0x47, 0x00, 0x01, 0x02]))] }, /binary.txt is binary/],
    [{ corpus: [file("latin1.txt", Buffer.from("caf\xe9 au lait", "latin1"))] }, /latin1.txt is not valid UTF-8/],
    [{ corpus: [join(bad, "missing-dir")] }, /corpus path .*missing-dir does not exist/],
    [{ overrides: { vocab: 258 } }, /vocab 258 is too small: a tokenizer needs at least 259 tokens/],
    [{ out: join(bad, "no-such-folder", "m.gguf") }, /cannot write .*m.gguf: folder .*no-such-folder does not exist/],
    [{ tokenizer: file("tok.json", "{}") }, /tokenizer .*tok.json: the cached tokenizer is invalid/],
    [{ seed: -1 }, /seed -1 is not a whole number/],
  ];
  for (const [options, message] of cases) {
    const out = join(bad, "m.gguf");
    await assert.rejects(
      pretrain(base("bad", { out, ...options })),
      (e: unknown) => e instanceof InputError && message.test(e.message) && e.fix.length > 0,
      String(message),
    );
    assert.equal(existsSync(`${options.out ?? out}.run`), false, `${message}: no run directory was made`);
  }
});
