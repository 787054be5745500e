// `unlearn` with LoRA: every training stage trains an adapter on the frozen base (F16 or Q8_0 here),
// --out receives a llama.cpp LoRA adapter, and `lora.merge` publishes the merged model in the base's
// own types instead.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Model } from "../../src/engine/model.js";
import { loadSyntheticEvalData } from "../../src/eval/eval-data.js";
import { formatEvalMarkdown } from "../../src/eval/eval-report.js";
import { evaluate, flatMetrics } from "../../src/eval/evaluate.js";
import { writeSyntheticTestbed } from "../../src/testbed/synthetic/index.js";
import type { FileType } from "../../src/engine/file-types.js";
import { modelFileType, quantizeModel } from "../../src/engine/quantize.js";
import { readGguf } from "../../src/gguf/read.js";
import { GgmlType } from "../../src/gguf/types.js";
import { unlearn } from "../../src/unlearn/index.js";
import { continuationProbability, microCorpora } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("unlearn-lora");

const config = {
  blockTokens: 64,
  reinforce: { epochs: 1, lr: 1e-2 },
  anchors: { gainTokens: 0, minCount: 2 },
  finetune: { steps: 24, batchSize: 4, lr: 1e-2 },
  lora: { rank: 8 },
};

for (const type of ["F16", "Q8_0"] as const satisfies readonly FileType[]) {
  test(`WHP with --lora on a ${type} base writes an adapter that forgets, and --merge the merged model in ${type}`, async () => {
    const { tb, forgetDir, retainDir } = await microCorpora(join(dir, `corpus-${type}`), 6);
    const base = join(dir, `base-${type}.gguf`);
    await quantizeModel(tb.basePath, base, type, { threads: 2 });
    const out = join(dir, `forgot-${type}.lora.gguf`);
    const r = await unlearn({ model: base, forget: [forgetDir], retain: [retainDir], out, config, threads: 2 });

    assert.equal(r.adapterFor, base);
    const header = readGguf(out);
    assert.equal(header.metadata.get("general.type")?.value, "adapter");
    assert.ok(header.tensors.length > 0 && header.tensors.every((t) => t.type === GgmlType.F32));
    assert.ok(existsSync(join(r.runDir, "reinforced.lora.gguf")), "the reinforce stage did not write an adapter");
    assert.ok(!existsSync(join(r.runDir, "reinforced.gguf")) && !existsSync(join(r.runDir, "unlearned.gguf")), "a LoRA run wrote a full model");

    const prompts = tb.text.truth.probabilityPrompts.map((p) => ({ prompt: p.prompt, target: p.targets[0]! }));
    const score = async (path: string, lora?: string) => {
      const m = await Model.load(path, { threads: 2, contextLength: 256, ...(lora ? { lora } : {}) });
      try {
        return await continuationProbability(m, prompts);
      } finally {
        await m.dispose();
      }
    };
    const before = await score(base);
    const after = await score(base, out);
    assert.ok(after < 0.7 * before, `P(idiosyncratic) ${before} → ${after} with the adapter`);

    if (type === "F16") {
      // `lethe eval --lora`: the model under evaluation is base + adapter, the comparison the base
      // alone, and the report says which ran with the adapter; relearning merges it first.
      const testbed = join(dir, "testbed");
      writeSyntheticTestbed(testbed, tb.text);
      const report = await evaluate({
        model: base,
        lora: out,
        compare: [tb.basePath],
        suites: ["familiarity-probability", "relearning"],
        data: loadSyntheticEvalData(testbed),
        limit: 8,
        settings: { relearnSteps: 2 },
        threads: 2,
      });
      const [withAdapter, plain] = [report.models.find((m) => m.role === "model")!, report.models.find((m) => m.role === "compare")!];
      assert.equal(withAdapter.lora, out);
      assert.equal(plain.lora, undefined);
      const p = (m: typeof plain) => flatMetrics(m.results)["familiarity-probability/familiarity_probability"]!;
      assert.ok(p(withAdapter) < p(plain), `familiarity probability with the adapter ${p(withAdapter)} vs without ${p(plain)}`);
      assert.ok(typeof flatMetrics(withAdapter.results)["relearning/familiarity_probability_after"] === "number");
      assert.match(formatEvalMarkdown(report), /ran with the LoRA adapter/);
    }

    // The same run with merge: the stages are reused, only the merge runs, and the model keeps the base's types.
    const merged = join(dir, `forgot-${type}.gguf`);
    const m = await unlearn({ model: base, forget: [forgetDir], retain: [retainDir], out: merged, runDir: r.runDir, config: { ...config, lora: { rank: 8, merge: true } }, threads: 2 });
    assert.deepEqual(
      m.stages.filter((s) => s.ran).map((s) => s.name),
      ["merge"],
    );
    const baseTypes = new Map(readGguf(base).tensors.map((t) => [t.name, t.type]));
    for (const t of readGguf(merged).tensors) assert.equal(t.type, baseTypes.get(t.name), `${t.name} changed type`);
    const viaMerge = await score(merged);
    assert.ok(Math.abs(viaMerge - after) < 0.1 * after + 1e-3, `merged ${viaMerge} vs base + adapter ${after}`);
  });
}

test("task-vector under LoRA publishes the reinforce adapter negated", async () => {
  const { tb, forgetDir } = await microCorpora(join(dir, "corpus-tv"), 4);
  const out = join(dir, "tv.lora.gguf");
  const r = await unlearn({ model: tb.basePath, forget: [forgetDir], out, method: "task-vector", config: { ...config, taskVector: { beta: 2 } }, threads: 2 });
  const reinforced = readGguf(join(r.runDir, "reinforced.lora.gguf"));
  const negated = readGguf(out);
  assert.equal(negated.metadata.get("adapter.lora.alpha")?.value, -2 * (reinforced.metadata.get("adapter.lora.alpha")?.value as number));
  assert.deepEqual(
    negated.tensors.map((t) => [t.name, t.dims]),
    reinforced.tensors.map((t) => [t.name, t.dims]),
  );
});

test("a Q8_0 base fine-tuned in full (no LoRA) comes out as Q8_0 through llama.cpp's quantizer, and --out-type converts", async () => {
  const { tb, forgetDir, retainDir } = await microCorpora(join(dir, "corpus-full-q8"), 4);
  const base = join(dir, "full-base-Q8_0.gguf");
  await quantizeModel(tb.basePath, base, "Q8_0", { threads: 2 });
  const out = join(dir, "full-Q8_0.gguf");
  await unlearn({
    model: base,
    forget: [forgetDir],
    retain: [retainDir],
    out,
    config: { blockTokens: 64, reinforce: { epochs: 0.5 }, anchors: { gainTokens: 0, minCount: 2 }, finetune: { steps: 2, batchSize: 2 } },
    threads: 2,
  });
  const baseTypes = new Map(readGguf(base).tensors.map((t) => [t.name, t.type]));
  const written = readGguf(out);
  assert.ok(written.tensors.some((t) => t.type === GgmlType.Q8_0));
  for (const t of written.tensors) assert.equal(t.type, baseTypes.get(t.name), `${t.name} changed type`);
  assert.ok(statSync(out).size < 0.5 * statSync(tb.basePath).size, "the output is not smaller than the F32 original");

  // --out-type: the same run, only converted.
  const q4 = join(dir, "full-Q4_0.gguf");
  const r = await unlearn({
    model: base,
    forget: [forgetDir],
    retain: [retainDir],
    out: q4,
    runDir: `${out}.run`,
    outType: "Q4_0",
    config: { blockTokens: 64, reinforce: { epochs: 0.5 }, anchors: { gainTokens: 0, minCount: 2 }, finetune: { steps: 2, batchSize: 2 } },
    threads: 2,
  });
  assert.deepEqual(
    r.stages.filter((s) => s.ran).map((s) => s.name),
    ["convert"],
  );
  assert.equal(modelFileType(q4), "Q4_0");
});
