import assert from "node:assert/strict";
import { test } from "node:test";
import { assembleReport } from "../../src/report/assemble.js";
import { collectFromJson } from "../../src/report/collect.js";
import { renderReport, signedPoints } from "../../src/report/html.js";
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
