import assert from "node:assert/strict";
import { test } from "node:test";
import { collectFromJson, toLossCurve } from "../../src/report/collect.js";

const suite = (model: string | undefined, name = "muse", metrics: Record<string, unknown> = { verbmem_f: 0.5 }) => ({
  suite: name,
  ...(model === undefined ? {} : { model }),
  metrics,
  warnings: ["w"],
});

test("suite results are found at the top, in arrays and nested under keys", () => {
  assert.equal(collectFromJson(suite("a"), "f").suites.length, 1);
  assert.equal(collectFromJson([suite("a"), suite("b")], "f").suites.length, 2);
  const nested = collectFromJson({ results: [suite("a")], runs: { x: { y: [suite("b", "utility")] } } }, "f");
  assert.deepEqual(
    nested.suites.map((s) => [s.model, s.suite]),
    [["a", "muse"], ["b", "utility"]],
  );
  assert.deepEqual(nested.suites[0]!.warnings, ["w"]);
});

test("a result without a model takes the nearest naming key, skipping grouping keys, else the source", () => {
  const c = collectFromJson({ base: { results: [suite(undefined)] }, results: [suite(undefined, "utility")] }, "eval-file");
  assert.deepEqual(
    c.suites.map((s) => s.model),
    ["base", "eval-file"],
  );
});

test("non-numeric metrics become null with a note; null stays null", () => {
  const c = collectFromJson(suite("a", "muse", { verbmem_f: "0.3", knowmem_f: null, privleak: Infinity, mia_auc: 0.7 }), "f");
  assert.deepEqual(c.suites[0]!.metrics, { verbmem_f: null, knowmem_f: null, privleak: null, mia_auc: 0.7 });
  assert.equal(c.notes.length, 1);
  assert.match(c.notes[0]!, /verbmem_f, privleak/);
});

test("model descriptions come from a models array, nested results included, and from roles", () => {
  const c = collectFromJson(
    {
      title: " Oz ",
      subject: "the Oz books",
      models: [{ name: "m1", role: "base", alpha: 2, method: "whp", label: "M1", results: [suite(undefined)] }, { role: "gold" }, { name: "m3", role: "boss" }],
      roles: { gold: "g", unlearned: ["u1", "u2"], chef: "x" },
    },
    "f",
  );
  assert.equal(c.title, "Oz");
  assert.equal(c.subject, "the Oz books");
  assert.deepEqual(c.models, [
    { name: "m1", role: "base", label: "M1", method: "whp", alpha: 2 },
    { name: "m3" },
    { name: "g", role: "gold" },
    { name: "u1", role: "unlearned" },
    { name: "u2", role: "unlearned" },
  ]);
  assert.deepEqual(
    c.suites.map((s) => s.model),
    ["m1"],
  );
  assert.equal(c.notes.length, 3);
});

test("loss histories: steps default to 1..n, non-finite losses dropped with their step, evals kept", () => {
  const notes: string[] = [];
  const curve = toLossCurve({ stage: "unlearn", losses: [3, null, 2, "x", 1], evals: [{ step: 2, loss: 2.5 }, { step: "3" }] }, "fallback", "f", notes);
  assert.deepEqual(curve, { name: "unlearn", steps: [1, 3, 5], losses: [3, 2, 1], evals: [{ step: 2, loss: 2.5 }] });
  assert.deepEqual(notes, []);
  const withSteps = toLossCurve({ loss: [2, 1], steps: [10, 20] }, "fallback", "f", notes);
  assert.deepEqual(withSteps, { name: "fallback", steps: [10, 20], losses: [2, 1], evals: [] });
  toLossCurve({ loss: [2, 1], steps: [10] }, "fallback", "f", notes);
  assert.equal(notes.length, 1);
});

test("lethe pretrain's history.json and arrays of histories are loss curves", () => {
  const c = collectFromJson({ loss: [5, 4], gradNorm: [1, 1], lr: [0.1, 0.1], evals: [{ step: 2, loss: 4.5 }], trainS: 3 }, "gold · history");
  assert.deepEqual(c.losses, [{ name: "gold · history", steps: [1, 2], losses: [5, 4], evals: [{ step: 2, loss: 4.5 }] }]);
  const many = collectFromJson([{ stage: "a", losses: [1] }, { stage: "b", losses: [2] }], "f");
  assert.deepEqual(
    many.losses.map((l) => l.name),
    ["a", "b"],
  );
});

test("a run manifest's stage stats with a losses array become curves named kind · stage", () => {
  const manifest = {
    version: 1,
    kind: "unlearn",
    stages: [
      { name: "translate", status: "done", stats: { blocks: 10 } },
      { name: "finetune", status: "done", stats: { losses: [2, 1.5], finalLoss: 1.5 } },
    ],
  };
  const c = collectFromJson(manifest, "run");
  assert.deepEqual(c.losses, [{ name: "unlearn · finetune", steps: [1, 2], losses: [2, 1.5], evals: [] }]);
  assert.deepEqual(c.suites, []);
});

test("lethe eval's JSON: model/compare/gold roles, the top-level gold name and warnings", () => {
  const c = collectFromJson(
    {
      format: "lethe-eval",
      version: 1,
      gold: "gold.gguf",
      settings: { samples: 2 },
      models: [
        { name: "whp.gguf", path: "/m/whp.gguf", role: "model", results: [suite("whp.gguf")], vsGold: { "muse/verbmem_f": 0.1 } },
        { name: "base.gguf", path: "/m/base.gguf", role: "compare", results: [suite("base.gguf")], vsGold: {} },
        { name: "gold.gguf", path: "/m/gold.gguf", role: "gold", results: [suite("gold.gguf")], vsGold: {} },
        { name: "gold-ish.gguf", role: "model", results: [] },
      ],
      warnings: ["VerbMem skipped"],
    },
    "eval",
  );
  assert.deepEqual(c.models, [{ name: "gold.gguf", role: "gold" }, { name: "whp.gguf", role: "unlearned" }, { name: "base.gguf" }, { name: "gold.gguf", role: "gold" }, { name: "gold-ish.gguf" }]);
  assert.deepEqual(
    c.suites.map((s) => s.model),
    ["whp.gguf", "base.gguf", "gold.gguf"],
  );
  assert.deepEqual(c.notes, ["eval: VerbMem skipped"]);
});

test("lethe unlearn's manifest lossCurve (means of tenths) is spread over the stage's steps", () => {
  const manifest = { version: 1, kind: "unlearn", stages: [{ name: "finetune", stats: { steps: 100, firstLoss: 3, lossCurve: [3, 2.5, 2, 1.8, 1.7], finalLoss: 1.6 } }] };
  assert.deepEqual(collectFromJson(manifest, "run").losses, [{ name: "unlearn · finetune", steps: [20, 40, 60, 80, 100], losses: [3, 2.5, 2, 1.8, 1.7], evals: [] }]);
});
