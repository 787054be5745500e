// Which engine the labels stage reads logits from (src/unlearn/stages/common.ts): lethe's own graph
// only where it outruns libllama on every model, and the same engine for all of them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { blasLibrary } from "../../../src/engine/native.js";
import { loadBlockLogits, logitsEngine } from "../../../src/unlearn/stages/common.js";
import { makeTinyModel } from "../../fixtures/tiny-model.js";
import { tempDir } from "../../helpers/temp.js";

const dir = tempDir("logits-engine");
const shape = { nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64 };

test("the graph for F32 models with OpenBLAS; libllama for an adapter, an F16 model, or any mix", () => {
  const base = makeTinyModel(dir, { ...shape, seed: 1 });
  const other = makeTinyModel(dir, { ...shape, seed: 2 });
  const f16 = makeTinyModel(dir, { ...shape, seed: 2, dtype: "f16" });
  assert.equal(logitsEngine([{ path: base }, { path: other }]), blasLibrary() ? "graph" : "llama");
  assert.equal(logitsEngine([{ path: base }, { path: base, lora: "adapter.gguf" }]), "llama");
  assert.equal(logitsEngine([{ path: base }, { path: f16 }]), "llama");
});

test("both engines give the same logits through loadBlockLogits", async () => {
  const path = makeTinyModel(dir, { ...shape, seed: 3 });
  const seqs = [[1, 5, 9, 200], [7, 3]];
  const [graph, llama] = [await loadBlockLogits({ path }, "graph", 8, 2), await loadBlockLogits({ path }, "llama", 8, 2)];
  try {
    const [a, b] = [await graph.logits(seqs), await llama.logits(seqs)];
    seqs.forEach((s, k) => {
      assert.equal(a[k]!.length, b[k]!.length);
      for (let i = 0; i < a[k]!.length; i++) assert.ok(Math.abs(a[k]![i]! - b[k]![i]!) < 1e-4, `block ${k} value ${i}: ${a[k]![i]} vs ${b[k]![i]}`);
    });
  } finally {
    await graph.dispose();
    await llama.dispose();
  }
});
