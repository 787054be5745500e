/**
 * Renders {@link ReportData} as one self-contained HTML page: styles, Chart.js, the chart data and
 * the page script are all inline, and a Content-Security-Policy forbids every network fetch, so the
 * file shows the same offline, attached to an e-mail or years later.
 */
import { escapeHtml, jsonForScript, visibleToken } from "./escape.js";
import { formatMetric, formatTolerance, headline, metricTable, type Headline, type MetricCell, type MetricFormat, type MetricTable } from "./metrics.js";
import { PAGE_SCRIPT } from "./page-script.js";
import { downsampleCurve, familiarityBars, modelColours, nextTokenComparison, perplexityTradeoff, sideBySide, tradeoff, type NextTokenPrompt, type SideBySide, type SideBySideRow } from "./sections.js";
import type { ReportRole, ReportData } from "./types.js";

/** Rendering settings. */
export interface RenderOptions {
  /** Chart.js's UMD build, inlined as is (see `chartJsSource`). */
  chartJs: string;
  /** Who made the page, e.g. "lethe 0.1.0"; shown in the footer. */
  generator?: string;
  /** Shown in the footer; defaults to now. */
  generatedAt?: Date;
}

/** Which sections had data to show; `lethe report` prints it. */
export interface RenderedSections {
  metrics: boolean;
  familiarity: boolean;
  /** Either trade-off chart: forgetting against utility, or against held-out retain perplexity. */
  tradeoff: boolean;
  losses: number;
  nextTokens: number;
  completions: number;
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const ROLE_NAMES: Record<ReportRole, string> = { base: "base", unlearned: "unlearned", gold: "gold", other: "other" };

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #fbfaf7; --panel: #ffffff; --ink: #1d1d1f; --muted: #5b5b63; --grid: #dcdad4; --accent: #0072B2;
  --hit: #fff1c2; --bar: #56B4E9; --shadow: 0 1px 2px rgb(0 0 0 / 6%), 0 2px 10px rgb(0 0 0 / 4%);
  --base: #E69F00; --unlearned: #0072B2; --gold: #009E73; --other: #CC79A7; --warn: #D55E00; --warn-bg: #fdebe0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16171a; --panel: #1f2126; --ink: #ececef; --muted: #a6a7ae; --grid: #393b42; --accent: #56B4E9;
    --hit: #4a3f14; --bar: #0072B2; --shadow: none; --unlearned: #56B4E9; --warn: #F0804A; --warn-bg: #3b2418;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.55; font-size: 16px; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 40px; padding-bottom: 8px; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 1.35rem; margin: 0 0 4px; }
h3 { font-size: 1.05rem; margin: 18px 0 6px; }
.lede { color: var(--muted); margin: 0 0 18px; font-size: 1.05rem; max-width: 72ch; }
.verdict { font-size: 1.1rem; max-width: 80ch; margin: 8px 0 20px; }
.verdict.warn { font-weight: 600; background: var(--warn-bg); border-left: 5px solid var(--warn); border-radius: 6px; padding: 8px 14px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 14px; margin: 0 0 8px; }
.kpi { background: var(--panel); border-radius: 12px; padding: 14px 16px; box-shadow: var(--shadow); border: 1px solid var(--grid); }
.kpi .name { color: var(--muted); font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.04em; }
.kpi .value { font-size: 1.9rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .sub { color: var(--muted); font-size: 0.9rem; }
.kpi.warn { border: 2px solid var(--warn); background: var(--warn-bg); }
.kpi.warn .value { color: var(--warn); }
nav { max-width: 1120px; margin: 12px auto 0; padding: 0 24px; font-size: 0.95rem; }
nav a { color: var(--accent); margin-right: 16px; text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { background: var(--panel); border: 1px solid var(--grid); border-radius: 14px; box-shadow: var(--shadow); padding: 20px 22px; margin: 22px 0; }
section > p.intro { color: var(--muted); margin: 0 0 14px; max-width: 80ch; }
.chart { position: relative; height: 360px; }
.chart.small { height: 260px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
.empty { color: var(--muted); font-style: italic; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--grid); text-align: left; vertical-align: top; }
thead th { font-size: 0.85rem; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--grid); }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.group th { padding-top: 16px; font-size: 1rem; border-bottom: 1px solid var(--grid); }
.stderr { color: var(--muted); font-size: 0.8rem; }
.dir { color: var(--muted); font-size: 0.8rem; margin-left: 6px; }
.role { display: inline-block; width: 0.75em; height: 0.75em; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.table-scroll { overflow-x: auto; }
.next { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 14px; margin-bottom: 18px; }
.next .col { border: 1px solid var(--grid); border-radius: 10px; padding: 10px 12px; }
.next .col h4 { margin: 0 0 6px; font-size: 0.95rem; }
.tok { display: grid; grid-template-columns: minmax(70px, auto) 1fr 52px; gap: 8px; align-items: center; font-size: 0.9rem; margin: 3px 0; }
.tok code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre; overflow: hidden; text-overflow: ellipsis; }
.tok .track { background: var(--grid); border-radius: 3px; height: 10px; overflow: hidden; }
.tok .fill { height: 100%; border-radius: 3px; }
.tok.hit code { background: var(--hit); border-radius: 3px; padding: 0 3px; }
.prompt { font-family: ui-serif, Georgia, "Times New Roman", serif; font-size: 1.02rem; }
.target { color: var(--muted); font-size: 0.9rem; }
.sbs td { width: 33%; }
.sbs caption { text-align: left; color: var(--muted); padding: 0 0 8px; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-serif, Georgia, "Times New Roman", serif; }
.sbs tr.prompt-row td { background: var(--bg); color: var(--muted); font-style: italic; }
.sbs + .sbs, .table-scroll + .table-scroll { margin-top: 22px; }
.score { display: inline-block; font-size: 0.75rem; font-weight: 650; border-radius: 999px; padding: 1px 8px; margin-bottom: 4px; border: 1px solid var(--grid); }
.score.s2, .score.s3 { border-color: #D55E00; color: #D55E00; }
.score.s0 { color: var(--muted); }
ul.notes { margin: 0; padding-left: 20px; color: var(--muted); font-size: 0.92rem; }
footer { color: var(--muted); font-size: 0.85rem; padding-bottom: 40px; }
code.path { overflow-wrap: anywhere; }
`;

const pct = (v: number | null | undefined) => formatMetric(v, "percent");

function roleSwatch(colour: string): string {
  return `<span class="role" style="background:${escapeHtml(colour)}"></span>`;
}

function renderHeadline(data: ReportData, h: Headline): string {
  const subject = data.subject ?? "the forget corpus";
  const f = h.forgetting;
  let verdict: string;
  if (!h.unlearned) {
    verdict = "The inputs hold no evaluation results, so there is nothing to compare yet.";
  } else if (!f) {
    verdict = `${h.unlearned} has no forgetting measurement in the inputs.`;
  } else {
    verdict = `${f.label} of ${h.unlearned}: ${formatMetric(f.unlearned, f.format)}`;
    if (f.base !== null) {
      const direction = f.unlearned !== null && f.unlearned > f.base ? "up" : "down";
      verdict += `, ${direction} from ${formatMetric(f.base, f.format)} for the base model`;
    }
    verdict += f.gold !== null ? `, against ${formatMetric(f.gold, f.format)} for the gold model that never saw ${subject}.` : " (no gold model to compare with).";
    if (h.utility?.change !== null && h.utility?.change !== undefined) {
      verdict += ` Utility (${h.utility.label}) changed by ${signedPoints(h.utility.change)}.`;
    }
  }

  const cards: string[] = [];
  if (f) {
    cards.push(card(`${f.label}`, formatMetric(f.unlearned, f.format), `base ${formatMetric(f.base, f.format)} · gold ${formatMetric(f.gold, f.format)}`));
    cards.push(
      card(
        "Gap to gold closed",
        f.gapClosed === null ? "n/a" : `${Math.round(f.gapClosed * 100)}%`,
        f.gapClosed === null ? "needs base and gold results" : "0% = unchanged, 100% = as unfamiliar as gold",
      ),
    );
  }
  if (h.utility) {
    cards.push(card("Utility", pct(h.utility.unlearned), `${h.utility.label}; base ${pct(h.utility.base)}${h.utility.change === null ? "" : ` (${signedPoints(h.utility.change)})`}`));
  }
  const ppl = perplexityVerdict(h);
  const p = h.perplexity;
  if (p && p.unlearned !== null) {
    const sub = `${against("base", p.base, p.vsBase, p.info.format)} · ${against("gold", p.gold, p.vsGold, p.info.format)}`;
    cards.push(card(ppl?.flagged ? "Retain perplexity ⚠" : "Retain perplexity", formatMetric(p.unlearned, p.info.format), sub, ppl?.flagged));
  }
  return `<header>
<h1>${escapeHtml(data.title)}</h1>
<p class="lede">What was unlearned: <strong>${escapeHtml(subject)}</strong>. Models: ${
    [h.base && `base <strong>${escapeHtml(h.base)}</strong>`, h.unlearned && `unlearned <strong>${escapeHtml(h.unlearned)}</strong>`, h.gold && `gold <strong>${escapeHtml(h.gold)}</strong>`]
      .filter(Boolean)
      .join(", ") || "none found"
  }.</p>
<p class="verdict" id="verdict">${escapeHtml(verdict)}</p>
${ppl ? `<p class="verdict${ppl.flagged ? " warn" : ""}" id="verdict-perplexity">${escapeHtml(ppl.text)}</p>\n` : ""}${cards.length > 0 ? `<div class="kpis">${cards.join("\n")}</div>` : ""}
</header>`;
}

/** A ratio as a multiplier, "×2.65". */
export function times(ratio: number): string {
  return `×${ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(2)}`;
}

/** "base 681.0 (×2.65)": a reference model's value and the unlearned model's ratio to it. */
function against(role: string, value: number | null, ratio: number | null, format: MetricFormat): string {
  return `${role} ${formatMetric(value, format)}${ratio === null ? "" : ` (${times(ratio)})`}`;
}

/** How far a ratio is from 1, as a percentage without sign: "165%", "2.8%". */
function percentOff(ratio: number): string {
  const pct = Math.abs(ratio - 1) * 100;
  return `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/**
 * The headline's sentence on held-out retain perplexity: the unlearned model's value against the
 * base and gold models' as ratios, and whether it rose past the registry's tolerance over the base
 * (then `flagged`, and the text opens with a warning). What is missing is named, never shown as a
 * number. Null without an unlearned model.
 */
export function perplexityVerdict(h: Headline): { text: string; flagged: boolean } | null {
  const p = h.perplexity;
  if (!h.unlearned || !p) return null;
  const { label, format, baseTolerance } = p.info;
  if (p.unlearned === null) {
    return { text: `${label} of ${h.unlearned}: not measured (the utility suite records it), so what the unlearning cost in general ability is unknown.`, flagged: false };
  }
  const vs: string[] = [];
  const missing: string[] = [];
  for (const [role, name, value, ratio] of [
    ["base", h.base, p.base, p.vsBase],
    ["gold", h.gold, p.gold, p.vsGold],
  ] as const) {
    if (value !== null) vs.push(against(role, value, ratio, format));
    else missing.push(name === undefined ? `no ${role} model to compare with` : `no perplexity for the ${role} model ${name}`);
  }
  let text = `${label} of ${h.unlearned}: ${formatMetric(p.unlearned, format)}${vs.length > 0 ? ` vs ${vs.join(" and ")}` : ""}`;
  const tolerance = baseTolerance === undefined ? "" : formatTolerance(baseTolerance);
  if (p.vsBase !== null) {
    const change = `${p.vsBase > 1 ? "up" : "down"} ${percentOff(p.vsBase)} on the base model`;
    if (p.verdict === "worse") text += `, ${change}, past the ${tolerance} tolerance: it lost general ability along with the forgotten text`;
    else if (p.verdict === "within") text += `, ${change}, within the ${tolerance} tolerance`;
    else text += `, ${change}`;
  } else if (p.base === null) {
    missing.push("so its change cannot be judged");
  }
  if (missing.length > 0) text += `; ${missing.join(", ")}`;
  const flagged = p.verdict === "worse";
  return { text: `${flagged ? "⚠ Warning: " : ""}${text}.`, flagged };
}

/** A change of a [0, 1] score in percentage points, with its sign. */
export function signedPoints(change: number): string {
  const pts = change * 100;
  const sign = pts > 0.05 ? "+" : pts < -0.05 ? "−" : "±";
  return `${sign}${Math.abs(pts).toFixed(1)} points`;
}

function card(name: string, value: string, sub: string, warn = false): string {
  return `<div class="kpi${warn ? " warn" : ""}"><div class="name">${escapeHtml(name)}</div><div class="value">${escapeHtml(value)}</div><div class="sub">${escapeHtml(sub)}</div></div>`;
}

const BETTER_HINT: Record<string, string> = { lower: "↓", higher: "↑", zero: "→ 0", gold: "≈ gold", none: "" };

function renderCell(cell: MetricCell, format: Parameters<typeof formatMetric>[1]): string {
  if (cell.value === undefined) return `<td class="num empty-cell" title="not measured">–</td>`;
  const se = cell.stderr !== undefined && cell.stderr !== null ? ` <span class="stderr">± ${escapeHtml(formatMetric(cell.stderr, format))}</span>` : "";
  return `<td class="num">${escapeHtml(formatMetric(cell.value, format))}${se}</td>`;
}

function renderMetricTable(table: MetricTable, colours: string[]): string {
  if (table.groups.length === 0) return `<p class="empty">No evaluation results in the inputs. Run <code>lethe eval</code> and pass its JSON.</p>`;
  const head = table.models
    .map((m, i) => `<th class="num">${roleSwatch(colours[i]!)}${escapeHtml(m.label)}<br><span class="dir">${ROLE_NAMES[m.role]}</span></th>`)
    .join("");
  const body = table.groups
    .map((g) => {
      const rows = g.rows
        .map((r) => {
          const hint = BETTER_HINT[r.info.better];
          return `<tr><td title="${escapeHtml(r.info.help)}">${escapeHtml(r.info.label)}${hint ? `<span class="dir">${escapeHtml(hint)}</span>` : ""}</td>${r.cells
            .map((c) => renderCell(c, r.info.format))
            .join("")}</tr>`;
        })
        .join("\n");
      return `<tr class="group"><th colspan="${table.models.length + 1}">${escapeHtml(g.title)}</th></tr>\n${rows}`;
    })
    .join("\n");
  return `<div class="table-scroll"><table id="metrics-table"><thead><tr><th>metric</th>${head}</tr></thead><tbody>
${body}
</tbody></table></div>
<p class="intro">↓ lower is better (less familiar), ↑ higher is better, → 0 best at zero, ≈ gold best when equal to the gold model. n/a: measured but not computable (see the notes); –: not measured. Hover a metric for its definition.</p>`;
}

function section(id: string, title: string, intro: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2><p class="intro">${escapeHtml(intro)}</p>${body}</section>`;
}

function emptyNote(text: string): string {
  return `<p class="empty">${escapeHtml(text)}</p>`;
}

function isTargetToken(token: string, targets: readonly string[]): boolean {
  const t = token.trim().toLowerCase();
  return t !== "" && targets.some((target) => target.trim().toLowerCase().startsWith(t));
}

function renderNextTokens(prompts: NextTokenPrompt[]): string {
  if (prompts.length === 0) {
    return emptyNote("No next-token probabilities in the inputs: run the familiarity-probability suite with top-k recording (topNext) on the compared models.");
  }
  return prompts
    .map((p) => {
      const cols = p.columns
        .map((c) => {
          const rows =
            c.top.length === 0
              ? emptyNote("not recorded")
              : c.top
                  .map(
                    (t) =>
                      `<div class="tok${isTargetToken(t.token, p.targets) ? " hit" : ""}"><code>${escapeHtml(visibleToken(t.token))}</code><div class="track"><div class="fill" style="width:${(Math.min(1, Math.max(0, t.prob)) * 100).toFixed(1)}%;background:${escapeHtml(c.colour)}"></div></div><span class="num">${escapeHtml(pct(t.prob))}</span></div>`,
                  )
                  .join("");
          return `<div class="col"><h4>${roleSwatch(c.colour)}${escapeHtml(c.model)}</h4><div class="target">target probability ${escapeHtml(pct(c.targetProbability))}</div>${rows}</div>`;
        })
        .join("");
      const targets = p.targets.length > 0 ? `<div class="target">idiosyncratic continuation: ${p.targets.map((t) => `<code>${escapeHtml(t)}</code>`).join(", ")}</div>` : "";
      return `<h3 class="prompt">“${escapeHtml(p.prompt)}”</h3>${targets}<div class="next">${cols}</div>`;
    })
    .join("\n");
}

function scoreBadge(cell: SideBySideRow["cells"][number]): string {
  if (cell.score === undefined) return "";
  if (cell.score === null) return `<span class="score">not scored</span><br>`;
  if (cell.scoreKind === "judge") return `<span class="score s${cell.score}">familiarity ${cell.score}/3</span><br>`;
  return `<span class="score">ROUGE-L ${escapeHtml(pct(cell.score))}</span><br>`;
}

function renderRows(rows: SideBySideRow[], sbs: SideBySide, caption: string, id: string): string {
  const head = sbs.models.map((m) => `<th>${roleSwatch(m.colour)}${escapeHtml(m.label)}</th>`).join("");
  const body = rows
    .map((r) => {
      const prompt = r.prompt === undefined ? `prompt #${r.index} (text not recorded)` : `<span class="text">${escapeHtml(r.prompt)}</span>`;
      const cells = r.cells
        .map((c) => `<td>${scoreBadge(c)}${c.text === undefined ? `<span class="empty">no answer</span>` : `<span class="text">${escapeHtml(c.text)}</span>`}</td>`)
        .join("");
      return `<tr class="prompt-row"><td colspan="${sbs.models.length}">${prompt}</td></tr><tr>${cells}</tr>`;
    })
    .join("\n");
  return `<div class="table-scroll"><table class="sbs" id="${id}"><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function renderSideBySide(sbs: SideBySide): string {
  if (sbs.completions.length === 0 && sbs.knowmem.length === 0) {
    return emptyNote("No completions in the inputs: run the familiarity-completion suite (or MUSE's KnowMem) on the compared models.");
  }
  const parts: string[] = [];
  if (sbs.completions.length > 0) parts.push(renderRows(sbs.completions, sbs, "Greedy completions of familiarity prompts, with the judge's score.", "completions-table"));
  if (sbs.knowmem.length > 0) parts.push(renderRows(sbs.knowmem, sbs, "Answers to forget-set questions (MUSE KnowMem), with ROUGE-L against the true answer.", "knowmem-table"));
  return parts.join("\n");
}

function renderNotes(data: ReportData): string {
  const items: string[] = [...data.notes];
  for (const m of data.models) {
    for (const r of Object.values(m.suites)) for (const w of r.warnings) items.push(`${m.label} · ${r.suite}: ${w}`);
  }
  const list = items.length === 0 ? emptyNote("No warnings.") : `<ul class="notes">${items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`;
  const sources = data.sources.length === 0 ? "" : `<h3>Sources</h3><ul class="notes">${data.sources.map((s) => `<li><code class="path">${escapeHtml(s)}</code></li>`).join("")}</ul>`;
  return list + sources;
}

function renderTradeoffCharts(utility: boolean, perplexity: boolean): string {
  if (!utility && !perplexity) {
    return emptyNote("Needs a forgetting metric and a utility score (benchmark accuracy or retain KnowMem) or held-out retain perplexity for at least two models.");
  }
  const charts = [
    utility
      ? `<div class="chart"><canvas id="chart-tradeoff" role="img" aria-label="scatter of utility against familiarity"></canvas></div>`
      : emptyNote("No utility chart: needs a utility score (benchmark accuracy or retain KnowMem) for at least two models with a forgetting metric."),
    perplexity
      ? `<div class="chart"><canvas id="chart-tradeoff-perplexity" role="img" aria-label="scatter of held-out retain perplexity against familiarity"></canvas></div>`
      : emptyNote("No perplexity chart: needs held-out retain perplexity (the utility suite) for at least two models with a forgetting metric."),
  ];
  return `<div class="charts">${charts.join("")}</div>`;
}

/** The data the page script draws, embedded in the page as JSON. */
export interface ChartPayload {
  familiarity: ReturnType<typeof familiarityBars>;
  tradeoff: ReturnType<typeof tradeoff>;
  perplexityTradeoff: ReturnType<typeof perplexityTradeoff>;
  losses: (ReturnType<typeof downsampleCurve> & { colour: string })[];
}

/** The report page and which of its sections had data. */
export function renderReport(data: ReportData, opts: RenderOptions): { html: string; sections: RenderedSections } {
  const h = headline(data);
  const table = metricTable(data);
  const colours = modelColours(data.models);
  const fam = familiarityBars(data);
  const trade = tradeoff(data);
  const pplTrade = perplexityTradeoff(data);
  const lossColours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  const losses = data.losses.filter((c) => c.losses.length > 0).map((c, i) => ({ ...downsampleCurve(c), colour: lossColours[i % lossColours.length]! }));
  const next = nextTokenComparison(data);
  const sbs = sideBySide(data);
  const payload: ChartPayload = { familiarity: fam, tradeoff: trade, perplexityTradeoff: pplTrade, losses };
  const when = (opts.generatedAt ?? new Date()).toISOString().replace("T", " ").slice(0, 16) + " UTC";

  const sections = [
    section(
      "familiarity",
      "Familiarity before and after",
      "How much of the forgotten universe each model still shows. The goal is the gold model's level, not zero: a model that never read the text still guesses some things.",
      fam ? `<div class="chart"><canvas id="chart-familiarity" role="img" aria-label="bar chart of familiarity metrics per model"></canvas></div>` : emptyNote("No familiarity, VerbMem or KnowMem results in the inputs."),
    ),
    section(
      "tradeoff",
      "Forgetting against utility",
      "Each point is a model; models of one method with different α are joined, in order of α. Further left is less familiar with the forgotten text. A higher utility score keeps more general ability, and so does a lower perplexity on held-out retain text, shown as a multiple of the base model's: above the dashed line it rose past the tolerance. The target is the gold model's point.",
      renderTradeoffCharts(trade !== null, pplTrade !== null),
    ),
    section("metrics", "Every metric", "Each column is a model, each row a measurement; the same prompts and data for every model.", renderMetricTable(table, colours)),
    section(
      "training",
      "Training loss",
      "Loss per optimizer step of each training stage found in the inputs (run manifests and loss history files), with held-out loss where measured.",
      losses.length > 0
        ? `<div class="charts">${losses.map((c, i) => `<div class="chart small"><canvas id="chart-loss-${i}" role="img" aria-label="${escapeHtml(`loss curve of ${c.name}`)}"></canvas></div>`).join("")}</div>`
        : emptyNote("No loss history in the inputs: pass a run directory or a loss history JSON ({\"stage\": name, \"losses\": [...]})."),
    ),
    section(
      "next-token",
      "Next-token probabilities",
      "The most likely next tokens after prompts whose idiosyncratic continuation is known, for the prompts the base model predicts best. Highlighted tokens start the idiosyncratic continuation.",
      renderNextTokens(next),
    ),
    section("completions", "Side by side", "What each model writes for the same prompts, ordered by how familiar the base model's answer was.", renderSideBySide(sbs)),
    section("notes", "Warnings and sources", "Everything the evaluation or this report had to skip or estimate.", renderNotes(data)),
  ];

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="${escapeHtml(opts.generator ?? "lethe")}">
<title>${escapeHtml(data.title)}${data.subject ? ` — ${escapeHtml(data.subject)}` : ""}</title>
<style>${STYLE}</style>
</head>
<body>
${renderHeadline(data, h)}
<nav><a href="#familiarity">Familiarity</a><a href="#tradeoff">Trade-off</a><a href="#metrics">Metrics</a><a href="#training">Training</a><a href="#next-token">Next tokens</a><a href="#completions">Side by side</a><a href="#notes">Notes</a></nav>
<main>
${sections.join("\n")}
</main>
<footer>Made by ${escapeHtml(opts.generator ?? "lethe")} on ${escapeHtml(when)}. Self-contained: charts drawn with Chart.js, inlined; this page loads nothing from the network.</footer>
<script type="application/json" id="lethe-report-data">${jsonForScript(payload)}</script>
<script>${opts.chartJs}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
  return {
    html,
    sections: {
      metrics: table.groups.length > 0,
      familiarity: fam !== null,
      tradeoff: trade !== null || pplTrade !== null,
      losses: losses.length,
      nextTokens: next.length,
      completions: sbs.completions.length + sbs.knowmem.length,
    },
  };
}
