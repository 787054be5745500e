import assert from "node:assert/strict";
import { test } from "node:test";
import { compareWithBase, formatMetric, formatTolerance, headline, judgeAgainstBase, metricInfo, metricTable, ratioTo, utilityScore } from "../../src/report/metrics.js";
import type { ReportData, ReportModel } from "../../src/report/types.js";

function model(name: string, role: ReportModel["role"], suites: Record<string, Record<string, number | null>>): ReportModel {
  return {
    name,
    label: name,
    role,
    suites: Object.fromEntries(Object.entries(suites).map(([suite, metrics]) => [suite, { suite, model: name, metrics, warnings: [] }])),
  };
}

const data = (models: ReportModel[]): ReportData => ({ title: "t", models, losses: [], sources: [], notes: [] });

test("formatMetric: percentages, counts, significant digits, n/a", () => {
  assert.equal(formatMetric(0.5834, "percent"), "58.3%");
  assert.equal(formatMetric(-0.154, "percent"), "-15.4%");
  assert.equal(formatMetric(450, "count"), "450");
  assert.equal(formatMetric(24.13, "number"), "24.1");
  assert.equal(formatMetric(1234.56, "number"), "1234.6");
  assert.equal(formatMetric(0.00012, "number"), "1.20e-4");
  assert.equal(formatMetric(0, "number"), "0.00");
  assert.equal(formatMetric(null, "number"), "n/a");
  assert.equal(formatMetric(undefined, "percent"), "n/a");
  assert.equal(formatMetric(NaN, "percent"), "n/a");
});

test("metricInfo knows the suites' metrics and reads utility task names", () => {
  assert.equal(metricInfo("muse", "knowmem_r").better, "higher");
  assert.equal(metricInfo("familiarity-completion", "familiarity").better, "lower");
  assert.deepEqual(
    [metricInfo("utility", "arc_easy/acc_norm").label, metricInfo("utility", "arc_easy/acc_norm").better],
    ["arc_easy acc_norm", "higher"],
  );
  assert.equal(metricInfo("utility", "lambada_openai/ppl").better, "lower");
  assert.deepEqual(metricInfo("custom", "x"), { label: "x", better: "none", format: "number", help: "x of the custom suite" });
});

test("metricTable: suites in order, known metrics first, stderr folded, not measured vs not computable", () => {
  const t = metricTable(
    data([
      model("b", "base", { utility: { "piqa/acc": 0.6, "piqa/acc_stderr": 0.01, perplexity: 20 }, muse: { extra: 1, verbmem_f: 0.3 } }),
      model("g", "gold", { muse: { verbmem_f: null } }),
    ]),
  );
  assert.deepEqual(t.models, [
    { label: "b", role: "base" },
    { label: "g", role: "gold" },
  ]);
  assert.deepEqual(
    t.groups.map((g) => [g.suite, g.rows.map((r) => r.metric)]),
    [
      ["muse", ["verbmem_f", "extra"]],
      ["utility", ["perplexity", "piqa/acc"]],
    ],
  );
  const verbmem = t.groups[0]!.rows[0]!;
  assert.deepEqual(verbmem.cells, [{ value: 0.3 }, { value: null }]);
  const piqa = t.groups[1]!.rows[1]!;
  assert.deepEqual(piqa.cells, [{ value: 0.6, stderr: 0.01 }, { value: undefined, stderr: null }]);
});

test("utilityScore averages acc_norm where present, else acc; falls back to retain KnowMem", () => {
  const m = model("m", "base", { utility: { "arc/acc": 0.4, "arc/acc_norm": 0.5, "piqa/acc": 0.7, "lambada/ppl": 30, "lambada/acc": null } });
  assert.deepEqual(utilityScore(m), { value: 0.6, label: "mean accuracy on 2 benchmarks" });
  assert.deepEqual(utilityScore(model("k", "base", { muse: { knowmem_r: 0.35 } })), { value: 0.35, label: "KnowMem (retain)" });
  assert.equal(utilityScore(model("n", "base", { muse: { verbmem_f: 0.1 } })), null);
});

test("headline: familiarity of base, unlearned and gold, the gap closed, and the utility change", () => {
  const h = headline(
    data([
      model("base", "base", { "familiarity-completion": { familiarity: 0.6 }, utility: { "a/acc": 0.5, perplexity: 20 } }),
      model("whp", "unlearned", { "familiarity-completion": { familiarity: 0.15 }, utility: { "a/acc": 0.48, perplexity: 22 } }),
      model("gold", "gold", { "familiarity-completion": { familiarity: 0.1 }, utility: { "a/acc": 0.49 } }),
    ]),
  );
  assert.equal(h.unlearned, "whp");
  assert.equal(h.forgetting?.label, "Familiarity");
  // (0.6 - 0.15) / (0.6 - 0.1) = 0.45 / 0.5
  assert.ok(Math.abs(h.forgetting!.gapClosed! - 0.9) < 1e-12);
  assert.ok(Math.abs(h.utility!.change! - -0.02) < 1e-12);
  assert.equal(h.utility!.gold, 0.49);
  assert.deepEqual(
    [h.perplexity?.base, h.perplexity?.unlearned, h.perplexity?.gold, h.perplexity?.vsGold, h.perplexity?.verdict],
    [20, 22, null, null, "worse"],
  );
  assert.ok(Math.abs(h.perplexity!.vsBase! - 1.1) < 1e-12);
});

test("headline without gold has no gap; without an unlearned model it uses another; empty data has none", () => {
  const h = headline(data([model("b", "base", { muse: { verbmem_f: 0.4 } }), model("x", "other", { muse: { verbmem_f: 0.2 } })]));
  assert.equal(h.unlearned, "x");
  assert.deepEqual(h.forgetting, { label: "VerbMem (forget)", format: "percent", base: 0.4, unlearned: 0.2, gold: null, gapClosed: null });
  assert.equal(h.utility, undefined);
  assert.deepEqual(headline(data([])), { base: undefined, unlearned: undefined, gold: undefined });
});

const ppl = metricInfo("utility", "perplexity");
const close = (a: number | null | undefined, b: number) => assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-4, `${a} ≈ ${b}`);

test("the registry says perplexity is better lower and tolerates 5% either way of the base", () => {
  assert.equal(ppl.better, "lower");
  assert.equal(ppl.baseTolerance, 0.05);
  assert.equal(formatTolerance(ppl.baseTolerance!), "5%");
  assert.equal(metricInfo("muse", "knowmem_r").baseTolerance, undefined);
});

test("ratioTo divides, and is null without both values or with a reference that is not positive", () => {
  close(ratioTo(1807, 681), 2.65345);
  assert.equal(ratioTo(null, 681), null);
  assert.equal(ratioTo(1807, null), null);
  assert.equal(ratioTo(1807, 0), null);
});

test("judgeAgainstBase: a rise of perplexity past 5% is worse, 2.8% is within, a fall past 5% is better", () => {
  assert.equal(judgeAgainstBase(ppl, 1807 / 681), "worse");
  assert.equal(judgeAgainstBase(ppl, 1.051), "worse");
  assert.equal(judgeAgainstBase(ppl, 700 / 681), "within");
  assert.equal(judgeAgainstBase(ppl, 0.96), "within");
  assert.equal(judgeAgainstBase(ppl, 0.9), "better");
  assert.equal(judgeAgainstBase(ppl, null), null);
  // Direction comes from the registry: a higher-is-better metric is worse when it falls.
  assert.equal(judgeAgainstBase({ ...metricInfo("muse", "knowmem_r"), baseTolerance: 0.05 }, 0.9), "worse");
  assert.equal(judgeAgainstBase(metricInfo("muse", "knowmem_r"), 0.5), null, "no tolerance, no verdict");
});

test("compareWithBase: the demo's 1807 against base 681 and gold 700 is flagged; missing models give nulls", () => {
  const base = model("b", "base", { utility: { perplexity: 681 } });
  const unlearned = model("u", "unlearned", { utility: { perplexity: 1807.1 } });
  const gold = model("g", "gold", { utility: { perplexity: 700 } });
  const c = compareWithBase("utility", "perplexity", { base, unlearned, gold });
  assert.equal(c.info, ppl);
  assert.deepEqual([c.unlearned, c.base, c.gold, c.verdict], [1807.1, 681, 700, "worse"]);
  close(c.vsBase, 2.65360);
  close(c.vsGold, 2.58157);

  const near = compareWithBase("utility", "perplexity", { base, unlearned: model("u", "unlearned", { utility: { perplexity: 700 } }), gold });
  assert.equal(near.verdict, "within");
  close(near.vsBase, 1.0279);

  const noGold = compareWithBase("utility", "perplexity", { base, unlearned });
  assert.deepEqual([noGold.gold, noGold.vsGold, noGold.verdict], [null, null, "worse"]);
  const noBase = compareWithBase("utility", "perplexity", { unlearned, gold });
  assert.deepEqual([noBase.base, noBase.vsBase, noBase.verdict], [null, null, null]);
  close(noBase.vsGold, 2.58157);
  const unmeasured = compareWithBase("utility", "perplexity", { base, unlearned: model("u", "unlearned", { muse: { knowmem_r: 0.9 } }), gold });
  assert.deepEqual([unmeasured.unlearned, unmeasured.vsBase, unmeasured.vsGold, unmeasured.verdict], [null, null, null, null]);
});

test("headline carries the perplexity comparison even when the unlearned model has none", () => {
  const h = headline(data([model("b", "base", { utility: { perplexity: 681 } }), model("u", "unlearned", { muse: { knowmem_r: 0.9 } })]));
  assert.equal(h.perplexity?.unlearned, null);
  assert.equal(h.perplexity?.base, 681);
});
