// The baseline methods run end to end on a small forget corpus and move the model the expected way:
// the forget text becomes less likely than under the base model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model } from "../../src/engine/model.js";
import { unlearn, WhpLogitsModel, type MethodName } from "../../src/unlearn/index.js";
import { microCorpora, type MicroCorpora } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("unlearn-baselines");
let corpora: MicroCorpora;
const quick = {
  blockTokens: 64,
  reinforce: { epochs: 1, lr: 2e-3 },
  ascent: { steps: 6, lr: 5e-4, batchSize: 4 },
  anchors: { top: 0, gainTokens: 0 },
};

/** Mean log-probability per token of the forget corpus's first documents. */
async function forgetLogprob(path: string): Promise<number> {
  const model = await Model.load(path, { threads: 2, contextLength: 256 });
  try {
    const seqs = corpora.tb.text.universe.slice(0, 4).map((d) => model.tokenize(d).slice(0, 128));
    const lps = await model.tokenLogprobs(seqs);
    let sum = 0;
    let n = 0;
    for (const lp of lps) for (const v of lp) [sum, n] = [sum + v, n + 1];
    return sum / n;
  } finally {
    await model.dispose();
  }
}

let baseLogprob: number;

test.before(async () => {
  corpora = await microCorpora(join(dir, "corpus"), 4);
  baseLogprob = await forgetLogprob(corpora.tb.basePath);
});

for (const method of ["gradient-ascent", "gradient-difference", "npo", "task-vector"] as MethodName[]) {
  test(`${method} makes the forget text less likely`, async () => {
    const r = await unlearn({
      model: corpora.tb.basePath,
      forget: [corpora.forgetDir],
      retain: [corpora.retainDir],
      out: join(dir, `${method}.gguf`),
      method,
      // NPO scores every sequence before each step: fewer steps keep it quick.
      config: method === "npo" ? { ...quick, ascent: { ...quick.ascent, steps: 3 } } : quick,
      threads: 2,
    });
    const after = await forgetLogprob(r.out!);
    assert.ok(after < baseLogprob - 0.05, `${method}: mean log-prob ${after.toFixed(3)} vs base ${baseLogprob.toFixed(3)}`);
    if (method === "npo") {
      const w = r.stages.find((s) => s.name === "ascent")?.stats.npoMeanWeight as number;
      assert.ok(w > 0 && w < 1, `NPO weights fall below 1 as the text is forgotten (last mean ${w})`);
    }
  });
}

test("whp-logits writes a descriptor whose combined model finds the forget text less likely", async () => {
  const r = await unlearn({ model: corpora.tb.basePath, forget: [corpora.forgetDir], method: "whp-logits", runDir: join(dir, "logits.run"), config: quick, threads: 2 });
  assert.equal(r.out, undefined);
  const combined = await WhpLogitsModel.fromDescriptor(r.descriptor!, { threads: 2 });
  try {
    const seqs = corpora.tb.text.universe.slice(0, 4).map((d) => combined.tokenize(d).slice(0, 128));
    const lps = await combined.tokenLogprobs(seqs);
    let sum = 0;
    let n = 0;
    for (const lp of lps) for (const v of lp) [sum, n] = [sum + v, n + 1];
    assert.ok(sum / n < baseLogprob - 0.05, `combined ${(sum / n).toFixed(3)} vs base ${baseLogprob.toFixed(3)}`);
    const top = await combined.topNext("Tallwyn", 3);
    assert.equal(top.length, 3);
    assert.ok(top[0]!.prob >= top[1]!.prob);
    const text = await combined.generate("The mayor of", { maxTokens: 4 });
    assert.equal(typeof text, "string");
  } finally {
    await combined.dispose();
  }
});
