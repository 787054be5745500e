import assert from "node:assert/strict";
import { test } from "node:test";
import { assembleReport } from "../../src/report/assemble.js";
import { collectFromJson } from "../../src/report/collect.js";
import { perplexityVerdict, renderReport, signedPoints, times } from "../../src/report/html.js";
import { headline } from "../../src/report/metrics.js";
import type { ReportData, ReportModel } from "../../src/report/types.js";
import { ozEval } from "./fixture.js";

const CHART_STUB = "/* chart stub */ window.Chart = function () {};";

test("the page inlines everything, forbids the network and escapes untrusted text", () => {
  const data = assembleReport([collectFromJson(ozEval({ hostile: true }), "eval")], ["eval.json"]);
  const { html, sections } = renderReport(data, { chartJs: CHART_STUB, generator: "lethe 0.0.0", generatedAt: new Date("2025-01-02T03:04:05Z") });
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'/);
  assert.equal(/<(script|link|img|iframe)[^>]+(src|href)=/i.test(html), false, "no element loads anything");
  assert.ok(html.includes(CHART_STUB));
  assert.equal(html.includes("<img src=x"), false);
  assert.ok(html.includes("&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"));
  assert.equal((html.match(/<\/script>/g) ?? []).length, 3, "only the page's own three script elements close");
  assert.ok(html.includes("Made by lethe 0.0.0 on 2025-01-02 03:04 UTC"));
  assert.ok(html.includes('<canvas id="chart-familiarity"'));
  assert.ok(html.includes('<canvas id="chart-tradeoff"'));
  assert.ok(html.includes('id="metrics-table"'));
  assert.match(html, /Familiarity of oz-whp: 9\.4%, down from 58\.3% for the base model, against 4\.8% for the gold model/);
  assert.ok(html.includes('<canvas id="chart-tradeoff-perplexity"'));
  assert.ok(
    html.includes(
      `<p class="verdict" id="verdict-perplexity">Perplexity (held-out retain text) of oz-whp: 24.9 vs base 24.1 (×1.03) and gold 24.6 (×1.01), up 3.3% on the base model, within the 5% tolerance.</p>`,
    ),
  );
  assert.deepEqual(sections, { metrics: true, familiarity: true, tradeoff: true, losses: 0, nextTokens: 4, completions: 9 });
  assert.ok(html.includes("No loss history in the inputs"));
});

test("sections without data say so instead of drawing nothing", () => {
  const data = assembleReport([collectFromJson({ stage: "unlearn", losses: [3, 2, 1] }, "losses")], []);
  const { html, sections } = renderReport(data, { chartJs: CHART_STUB });
  assert.deepEqual(sections, { metrics: false, familiarity: false, tradeoff: false, losses: 1, nextTokens: 0, completions: 0 });
  assert.ok(html.includes("No evaluation results in the inputs"));
  assert.ok(html.includes("No familiarity, VerbMem or KnowMem results in the inputs."));
  assert.ok(html.includes("Needs a forgetting metric and a utility score"));
  assert.ok(html.includes("No next-token probabilities in the inputs"));
  assert.ok(html.includes("No completions in the inputs"));
  assert.ok(html.includes("The inputs hold no evaluation results"));
  assert.ok(html.includes('<canvas id="chart-loss-0"'));
  assert.equal(html.includes(`<canvas id="chart-familiarity"`), false);
});

test("signedPoints shows a change of a share in percentage points", () => {
  assert.equal(signedPoints(-0.0113), "−1.1 points");
  assert.equal(signedPoints(0.02), "+2.0 points");
  assert.equal(signedPoints(0.0001), "±0.0 points");
});

function model(name: string, role: ReportModel["role"], metrics: Record<string, number>): ReportModel {
  return { name, label: name, role, suites: { utility: { suite: "utility", model: name, metrics, warnings: [] } } };
}
const data = (models: ReportModel[]): ReportData => ({ title: "t", models, losses: [], sources: [], notes: [] });
const demoBase = model("base", "base", { perplexity: 681 });
const demoUnlearned = model("unlearned", "unlearned", { perplexity: 1807.1 });
const demoGold = model("gold", "gold", { perplexity: 700 });
const verdictOf = (models: ReportModel[]) => {
  const v = perplexityVerdict(headline(data(models)));
  assert.ok(v);
  assert.doesNotMatch(v.text, /NaN|undefined|null|n\/a/);
  return v;
};

test("perplexityVerdict: the demo's 2.65× rise over the base is flagged, with ratios to base and gold", () => {
  assert.deepEqual(verdictOf([demoBase, demoUnlearned, demoGold]), {
    text: "⚠ Warning: Perplexity (held-out retain text) of unlearned: 1807.1 vs base 681.0 (×2.65) and gold 700.0 (×2.58), up 165% on the base model, past the 5% tolerance: it lost general ability along with the forgotten text.",
    flagged: true,
  });
});

test("perplexityVerdict: within 5% of the base is said plainly and not flagged; a fall is not flagged", () => {
  assert.deepEqual(verdictOf([demoBase, model("u", "unlearned", { perplexity: 700 }), model("g", "gold", { perplexity: 690 })]), {
    text: "Perplexity (held-out retain text) of u: 700.0 vs base 681.0 (×1.03) and gold 690.0 (×1.01), up 2.8% on the base model, within the 5% tolerance.",
    flagged: false,
  });
  assert.deepEqual(verdictOf([demoBase, model("u", "unlearned", { perplexity: 600 }), demoGold]), {
    text: "Perplexity (held-out retain text) of u: 600.0 vs base 681.0 (×0.88) and gold 700.0 (×0.86), down 12% on the base model.",
    flagged: false,
  });
});

test("perplexityVerdict names what is missing: the gold model, the base model, or a measurement", () => {
  assert.equal(
    verdictOf([demoBase, demoUnlearned]).text,
    "⚠ Warning: Perplexity (held-out retain text) of unlearned: 1807.1 vs base 681.0 (×2.65), up 165% on the base model, past the 5% tolerance: it lost general ability along with the forgotten text; no gold model to compare with.",
  );
  assert.match(verdictOf([demoBase, demoUnlearned, model("g", "gold", { bits_per_byte: 1 })]).text, /; no perplexity for the gold model g\.$/);
  assert.deepEqual(verdictOf([demoUnlearned, demoGold]), {
    text: "Perplexity (held-out retain text) of unlearned: 1807.1 vs gold 700.0 (×2.58); no base model to compare with, so its change cannot be judged.",
    flagged: false,
  });
  assert.equal(
    verdictOf([model("b", "base", { bits_per_byte: 1 }), demoUnlearned]).text,
    "Perplexity (held-out retain text) of unlearned: 1807.1; no perplexity for the base model b, no gold model to compare with, so its change cannot be judged.",
  );
  assert.equal(
    verdictOf([demoBase, model("u", "unlearned", { bits_per_byte: 1 }), demoGold]).text,
    "Perplexity (held-out retain text) of u: not measured (the utility suite records it), so what the unlearning cost in general ability is unknown.",
  );
  assert.equal(perplexityVerdict(headline(data([demoBase]))), null);
});

test("the headline shows a flagged perplexity in the warning style, and a tolerated one without it", () => {
  const flagged = renderReport(data([demoBase, demoUnlearned, demoGold]), { chartJs: CHART_STUB }).html;
  assert.match(flagged, /<p class="verdict warn" id="verdict-perplexity">⚠ Warning: Perplexity \(held-out retain text\) of unlearned: 1807\.1 vs base 681\.0 \(×2\.65\) and gold 700\.0 \(×2\.58\)/);
  assert.match(flagged, /<div class="kpi warn"><div class="name">Retain perplexity ⚠<\/div><div class="value">1807\.1<\/div><div class="sub">base 681\.0 \(×2\.65\) · gold 700\.0 \(×2\.58\)<\/div>/);
  const fine = renderReport(data([demoBase, model("u", "unlearned", { perplexity: 700 }), demoGold]), { chartJs: CHART_STUB }).html;
  assert.match(fine, /<p class="verdict" id="verdict-perplexity">Perplexity/);
  assert.doesNotMatch(fine, /class="[^"]*\bwarn\b/);
});

test("times writes a ratio as a multiplier", () => {
  assert.equal(times(2.6536), "×2.65");
  assert.equal(times(1), "×1.00");
  assert.equal(times(1234.5), "×1235");
});
