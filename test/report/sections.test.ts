import assert from "node:assert/strict";
import { test } from "node:test";
import { downsampleCurve, familiarityBars, modelColours, nextTokenComparison, perplexityTradeoff, ROLE_COLOURS, sideBySide, tradeoff } from "../../src/report/sections.js";
import type { ReportData, ReportModel } from "../../src/report/types.js";

function model(name: string, role: ReportModel["role"], suites: Record<string, { metrics: Record<string, number | null>; details?: unknown }>, alpha?: number, method?: string): ReportModel {
  return {
    name,
    label: name,
    role,
    alpha,
    method,
    suites: Object.fromEntries(Object.entries(suites).map(([suite, r]) => [suite, { suite, model: name, metrics: r.metrics, details: r.details, warnings: [] }])),
  };
}
const data = (models: ReportModel[]): ReportData => ({ title: "t", models, losses: [], sources: [], notes: [] });

test("modelColours gives base, unlearned and gold their colours once, others the remaining hues", () => {
  assert.deepEqual(modelColours([{ role: "base" }, { role: "unlearned" }, { role: "unlearned" }, { role: "other" }, { role: "gold" }]), [
    ROLE_COLOURS.base,
    ROLE_COLOURS.unlearned,
    "#CC79A7",
    "#56B4E9",
    ROLE_COLOURS.gold,
  ]);
});

test("familiarityBars keeps only forgetting metrics some model has, null where a model lacks one", () => {
  const bars = familiarityBars(
    data([
      model("b", "base", { "familiarity-completion": { metrics: { familiarity: 0.6 } }, muse: { metrics: { knowmem_f: 0.4, knowmem_r: 0.3 } } }),
      model("g", "gold", { muse: { metrics: { knowmem_f: 0.1 } } }),
    ]),
  );
  assert.deepEqual(bars, {
    categories: ["Familiarity", "KnowMem (forget)"],
    datasets: [
      { label: "b", role: "base", colour: ROLE_COLOURS.base, values: [0.6, 0.4] },
      { label: "g", role: "gold", colour: ROLE_COLOURS.gold, values: [null, 0.1] },
    ],
  });
  assert.equal(familiarityBars(data([model("b", "base", { utility: { metrics: { perplexity: 3 } } })])), null);
});

test("tradeoff: familiarity against mean accuracy, an α sweep joined in α order", () => {
  const fam = (f: number, acc: number) => ({ "familiarity-completion": { metrics: { familiarity: f } }, utility: { metrics: { "a/acc": acc } } });
  const t = tradeoff(
    data([
      model("base", "base", fam(0.6, 0.5)),
      model("w2", "unlearned", fam(0.1, 0.45), 2, "whp"),
      model("w5", "other", fam(0.05, 0.4), 5, "whp"),
      model("w1", "other", fam(0.3, 0.48), 1, "whp"),
      model("noutil", "other", { "familiarity-completion": { metrics: { familiarity: 0.2 } } }),
      model("gold", "gold", fam(0.04, 0.49)),
    ]),
  )!;
  assert.equal(t.xLabel, "Familiarity (lower = forgot more)");
  assert.deepEqual(
    t.series.map((s) => [s.label, s.line, s.points.map((p) => [p.x, p.y])]),
    [
      ["base", false, [[0.6, 0.5]]],
      ["whp (α sweep)", true, [[0.3, 0.48], [0.1, 0.45], [0.05, 0.4]]],
      ["gold", false, [[0.04, 0.49]]],
    ],
  );
  assert.equal(t.series[1]!.colour, ROLE_COLOURS.unlearned);
  assert.deepEqual([t.title, t.yLabel, t.yName, t.yFormat, t.yLog, t.yLimit], ["Mean benchmark accuracy", "higher = kept more", "utility", "percent", false, null]);
});

const famPpl = (f: number, ppl?: number) => ({
  "familiarity-completion": { metrics: { familiarity: f } },
  ...(ppl === undefined ? {} : { utility: { metrics: { perplexity: ppl } } }),
});

test("perplexityTradeoff: every model with perplexity is a point at its ratio to the base, with the 5% line", () => {
  const t = perplexityTradeoff(
    data([
      model("base", "base", famPpl(0.6, 681)),
      model("w2", "unlearned", famPpl(0.02, 1807.1), 2, "whp"),
      model("w5", "other", famPpl(0.01, 2724), 5, "whp"),
      model("npo", "other", famPpl(0.2, 700.5)),
      model("noppl", "other", famPpl(0.3)),
      model("gold", "gold", famPpl(0.0, 700)),
    ]),
  )!;
  assert.equal(t.xLabel, "Familiarity (lower = forgot more)");
  assert.deepEqual([t.title, t.yLabel], ["Perplexity (held-out retain text) ÷ base model's", "lower = kept more"]);
  assert.deepEqual([t.yName, t.yFormat, t.yLog, t.yLimit], ["perplexity", "ratio", false, { value: 1.05, label: "base +5%" }]);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  assert.deepEqual(
    t.series.map((s) => [s.label, s.line, s.points.map((p) => [p.x, round(p.y), p.value])]),
    [
      ["base", false, [[0.6, 1, 681]]],
      ["whp (α sweep)", true, [[0.02, 2.654, 1807.1], [0.01, 4, 2724]]],
      ["npo", false, [[0.2, 1.029, 700.5]]],
      ["gold", false, [[0, 1.028, 700]]],
    ],
  );
});

test("perplexityTradeoff turns to a log axis when the ratios span more than a factor of 10", () => {
  const t = perplexityTradeoff(data([model("base", "base", famPpl(0.6, 20)), model("u", "unlearned", famPpl(0.02, 201)), model("g", "gold", famPpl(0, 21))]))!;
  assert.deepEqual([t.yLog, t.yLabel], [true, "log scale, lower = kept more"]);
  assert.deepEqual(
    t.series.map((s) => s.points.map((p) => Math.round(p.y * 100) / 100)),
    [[1], [10.05], [1.05]],
  );
});

test("perplexityTradeoff without a base perplexity plots perplexity itself, with no tolerance line; needs two models", () => {
  const t = perplexityTradeoff(data([model("base", "base", famPpl(0.6)), model("u", "unlearned", famPpl(0.02, 1807)), model("gold", "gold", famPpl(0.0, 700))]))!;
  assert.deepEqual([t.title, t.yFormat, t.yLog, t.yLimit], ["Perplexity (held-out retain text)", "number", false, null]);
  assert.deepEqual(
    t.series.map((s) => s.points.map((p) => [p.y, p.value])),
    [[[1807, 1807]], [[700, 700]]],
  );
  assert.equal(perplexityTradeoff(data([model("base", "base", famPpl(0.6, 681)), model("u", "unlearned", famPpl(0.02))])), null);
});

test("tradeoff needs two placeable models", () => {
  const one = data([model("b", "base", { "familiarity-completion": { metrics: { familiarity: 0.6 } }, utility: { metrics: { "a/acc": 0.5 } } }), model("g", "gold", { "familiarity-completion": { metrics: { familiarity: 0.1 } } })]);
  assert.equal(tradeoff(one), null);
});

test("downsampleCurve averages equal runs and keeps the last step of each", () => {
  const curve = { name: "c", steps: [1, 2, 3, 4, 5, 6], losses: [6, 4, 3, 1, 2, 2], evals: [{ step: 6, loss: 1 }] };
  assert.deepEqual(downsampleCurve(curve, 3), { name: "c", steps: [2, 4, 6], losses: [5, 2, 2], evals: [{ step: 6, loss: 1 }] });
  assert.equal(downsampleCurve(curve, 6), curve);
});

const probDetails = (entries: [string, number, [string, number][]][]) => ({
  metrics: { familiarity_probability: 0.1 },
  details: {
    prompts: entries.map(([prompt, probability, top]) => ({ prompt, probability, targets: [{ target: " X", probability }], topNext: top.map(([token, prob]) => ({ token, prob })) })),
  },
});

test("nextTokenComparison orders prompts by the base model's target probability and shows base, unlearned, gold", () => {
  const rows = nextTokenComparison(
    data([
      model("b", "base", { "familiarity-probability": probDetails([["p1", 0.2, [[" a", 0.5]]], ["p2", 0.9, [[" X", 0.9], [" b", 0.05]]]]) }),
      model("o", "other", { "familiarity-probability": probDetails([["p2", 0.01, [[" c", 0.3]]]]) }),
      model("u", "unlearned", { "familiarity-probability": probDetails([["p2", 0.02, [[" b", 0.4]]]]) }),
      model("g", "gold", {}),
    ]),
    4,
    1,
  );
  assert.deepEqual(
    rows.map((r) => r.prompt),
    ["p2", "p1"],
  );
  assert.deepEqual(rows[0], {
    prompt: "p2",
    targets: [" X"],
    columns: [
      { model: "b", role: "base", colour: ROLE_COLOURS.base, targetProbability: 0.9, top: [{ token: " X", prob: 0.9 }] },
      { model: "u", role: "unlearned", colour: ROLE_COLOURS.unlearned, targetProbability: 0.02, top: [{ token: " b", prob: 0.4 }] },
      { model: "g", role: "gold", colour: ROLE_COLOURS.gold, targetProbability: null, top: [] },
    ],
  });
});

test("sideBySide: greedy completions ordered by the base score, prompt texts when recorded, KnowMem by question", () => {
  const comp = (scores: number[], prompts?: string[]) => ({
    metrics: { familiarity: 0.1 },
    details: {
      prompts,
      completions: scores.flatMap((score, p) => [
        { prompt: p, sample: -1, completion: `greedy ${p}`, score },
        { prompt: p, sample: 0, completion: `sample ${p}`, score: 0 },
      ]),
    },
  });
  const sbs = sideBySide(
    data([
      model("b", "base", { "familiarity-completion": comp([1, 3, 3], ["P0", "P1", "P2"]), muse: { metrics: {}, details: { knowmemForget: [{ question: "Q?", output: "A", rougeL: 1 }] } } }),
      model("u", "unlearned", { "familiarity-completion": comp([0, 0]) }),
    ]),
  );
  assert.deepEqual(
    sbs.models.map((m) => m.label),
    ["b", "u"],
  );
  assert.deepEqual(
    sbs.completions.map((r) => [r.index, r.prompt, r.cells.map((c) => c.text ?? "-")]),
    [
      [2, "P1", ["greedy 1", "greedy 1"]],
      [3, "P2", ["greedy 2", "-"]],
      [1, "P0", ["greedy 0", "greedy 0"]],
    ],
  );
  assert.deepEqual(sbs.knowmem, [{ index: 1, prompt: "Q?", cells: [{ text: "A", score: 1, scoreKind: "rouge" }, {}] }]);
});
