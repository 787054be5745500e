/**
 * The metrics table and the headline: which metric is what, which way is better, how far from the
 * base model it may move, and the few numbers that say how well the model forgot and what it cost.
 */
import { KNOWN_METRICS, metricInfo, SUITE_ORDER, SUITE_TITLES, type MetricFormat, type MetricInfo } from "../eval/metric-registry.js";
import type { ReportRole, ReportData, ReportModel } from "./types.js";

export { metricInfo, type Better, type MetricFormat, type MetricInfo } from "../eval/metric-registry.js";

/** A number as the table shows it: percentages with one decimal, others with 3–4 significant digits. */
export function formatMetric(value: number | null | undefined, format: MetricFormat): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
  if (format === "count") return Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (format === "percent") return `${(value * 100).toFixed(1)}%`;
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return abs >= 100 ? value.toFixed(1) : value.toPrecision(3);
}

/** One cell: a value (null = the suite ran but could not compute it; undefined = not measured) and its standard error. */
export interface MetricCell {
  value: number | null | undefined;
  stderr?: number | null;
}

/** One row of the metrics table. */
export interface MetricRow {
  suite: string;
  metric: string;
  info: MetricInfo;
  cells: MetricCell[];
}

/** The metrics table: one column per model (in display order), rows grouped by suite. */
export interface MetricTable {
  models: { label: string; role: ReportRole }[];
  groups: { suite: string; title: string; rows: MetricRow[] }[];
}

function suiteRank(s: string): number {
  const i = SUITE_ORDER.indexOf(s);
  return i < 0 ? SUITE_ORDER.length : i;
}

/**
 * Every metric of every model. Rows of known metrics come in the catalogue's order, then the rest
 * as first seen; `<name>_stderr` metrics are folded into the row of `<name>` when it exists.
 */
export function metricTable(data: ReportData): MetricTable {
  const suites = [...new Set(data.models.flatMap((m) => Object.keys(m.suites)))].sort(
    (a, b) => suiteRank(a) - suiteRank(b) || a.localeCompare(b),
  );
  const knownOrder = Object.keys(KNOWN_METRICS);
  const groups = suites.map((suite) => {
    const names: string[] = [];
    for (const m of data.models) for (const k of Object.keys(m.suites[suite]?.metrics ?? {})) if (!names.includes(k)) names.push(k);
    const folded = new Set(names.filter((n) => n.endsWith("_stderr") && names.includes(n.slice(0, -"_stderr".length))));
    const rank = (n: string) => {
      const i = knownOrder.indexOf(`${suite}/${n}`);
      return i < 0 ? knownOrder.length : i;
    };
    const rows = names
      .filter((n) => !folded.has(n))
      .sort((a, b) => rank(a) - rank(b))
      .map((metric): MetricRow => ({
        suite,
        metric,
        info: metricInfo(suite, metric),
        cells: data.models.map((m) => {
          const metrics = m.suites[suite]?.metrics;
          const cell: MetricCell = { value: metrics?.[metric] };
          if (folded.has(`${metric}_stderr`)) cell.stderr = metrics?.[`${metric}_stderr`] ?? null;
          return cell;
        }),
      }));
    return { suite, title: SUITE_TITLES[suite] ?? suite, rows };
  });
  return { models: data.models.map((m) => ({ label: m.label, role: m.role })), groups };
}

/** A metric's value for a model, or null when it was not measured or not computable. */
export function metricValue(model: ReportModel | undefined, suite: string, metric: string): number | null {
  const v = model?.suites[suite]?.metrics[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** The forgetting metrics the report prefers, most telling first. */
export const FORGET_METRICS: readonly { suite: string; metric: string }[] = [
  { suite: "familiarity-completion", metric: "familiarity" },
  { suite: "familiarity-completion", metric: "share_ge2" },
  { suite: "familiarity-probability", metric: "familiarity_probability" },
  { suite: "muse", metric: "verbmem_f" },
  { suite: "muse", metric: "knowmem_f" },
];

/**
 * A model's utility as one number in [0, 1]: the mean benchmark accuracy (acc_norm where a
 * benchmark has it, else acc), else MUSE's retain KnowMem; null when neither was measured.
 */
export function utilityScore(model: ReportModel): { value: number; label: string } | null {
  const metrics = model.suites.utility?.metrics ?? {};
  const tasks = new Map<string, number>();
  for (const [key, v] of Object.entries(metrics)) {
    const m = /^(.+)\/(acc|acc_norm)$/.exec(key);
    if (!m || typeof v !== "number" || !Number.isFinite(v)) continue;
    if (m[2] === "acc_norm" || !tasks.has(m[1])) tasks.set(m[1], v);
  }
  if (tasks.size > 0) {
    const sum = [...tasks.values()].reduce((a, b) => a + b, 0);
    return { value: sum / tasks.size, label: `mean accuracy on ${tasks.size} benchmark${tasks.size === 1 ? "" : "s"}` };
  }
  const knowmem = metricValue(model, "muse", "knowmem_r");
  return knowmem === null ? null : { value: knowmem, label: "KnowMem (retain)" };
}

/** The first model of a role. */
export function firstOfRole(data: ReportData, role: ReportRole): ReportModel | undefined {
  return data.models.find((m) => m.role === role);
}

/** The model the headline calls "unlearned": the first unlearned one, else the first other one. */
export function headlineModel(data: ReportData): ReportModel | undefined {
  return firstOfRole(data, "unlearned") ?? firstOfRole(data, "other");
}

/** Held-out retain perplexity: the report's measure of what unlearning cost in plain language modelling. */
export const RETAIN_PERPLEXITY = { suite: "utility", metric: "perplexity" } as const;

/** `value / reference`, or null when either is missing or the reference is not positive. */
export function ratioTo(value: number | null, reference: number | null): number | null {
  return value === null || reference === null || !(reference > 0) ? null : value / reference;
}

/** How a value compares with the base model's: beyond the tolerance one way or the other, or within it. */
export type BaseVerdict = "worse" | "within" | "better";

/**
 * Judges `ratio` (a model's value over the base model's) by the metric's direction and
 * {@link MetricInfo.baseTolerance}; null when there is no ratio or the metric has no tolerance.
 */
export function judgeAgainstBase(info: MetricInfo, ratio: number | null): BaseVerdict | null {
  const tol = info.baseTolerance;
  if (ratio === null || tol === undefined || (info.better !== "lower" && info.better !== "higher")) return null;
  const up = ratio > 1 + tol;
  const down = ratio < 1 - tol;
  if (!up && !down) return "within";
  return up === (info.better === "lower") ? "worse" : "better";
}

/** A tolerance as a percentage, "5%". */
export function formatTolerance(tolerance: number): string {
  return `${+(tolerance * 100).toFixed(1)}%`;
}

/** A metric of the headline's unlearned model set against the base and gold models' values. */
export interface BaseComparison {
  info: MetricInfo;
  unlearned: number | null;
  base: number | null;
  gold: number | null;
  /** unlearned / base and unlearned / gold, null where a value is missing. */
  vsBase: number | null;
  vsGold: number | null;
  /** The change against the base, judged by the registry's tolerance; null when it cannot be judged. */
  verdict: BaseVerdict | null;
}

/** `metric` of `suite` for the unlearned, base and gold models, as ratios and a verdict. */
export function compareWithBase(
  suite: string,
  metric: string,
  models: { base?: ReportModel; unlearned?: ReportModel; gold?: ReportModel },
): BaseComparison {
  const info = metricInfo(suite, metric);
  const unlearned = metricValue(models.unlearned, suite, metric);
  const base = metricValue(models.base, suite, metric);
  const gold = metricValue(models.gold, suite, metric);
  const vsBase = ratioTo(unlearned, base);
  return { info, unlearned, base, gold, vsBase, vsGold: ratioTo(unlearned, gold), verdict: judgeAgainstBase(info, vsBase) };
}

/** The header's summary of how well the model forgot and what it cost. */
export interface Headline {
  base?: string;
  unlearned?: string;
  gold?: string;
  forgetting?: {
    label: string;
    format: MetricFormat;
    base: number | null;
    unlearned: number | null;
    gold: number | null;
    /** (base − unlearned) / (base − gold): 1 = as unfamiliar as gold, 0 = no change; null without gold. */
    gapClosed: number | null;
  };
  utility?: {
    label: string;
    base: number | null;
    unlearned: number | null;
    gold: number | null;
    /** unlearned − base, in the metric's units. */
    change: number | null;
  };
  /** Held-out retain perplexity; present whenever there is an unlearned model, measured or not. */
  perplexity?: BaseComparison;
}

/**
 * The headline numbers: the first forgetting metric measured on the unlearned model (with base
 * and gold where present), the utility score, and held-out retain perplexity against base and gold.
 */
export function headline(data: ReportData): Headline {
  const base = firstOfRole(data, "base");
  const gold = firstOfRole(data, "gold");
  const unlearned = headlineModel(data);
  const out: Headline = { base: base?.label, unlearned: unlearned?.label, gold: gold?.label };
  if (!unlearned) return out;

  const pick = FORGET_METRICS.find((f) => metricValue(unlearned, f.suite, f.metric) !== null);
  if (pick) {
    const info = metricInfo(pick.suite, pick.metric);
    const b = metricValue(base, pick.suite, pick.metric);
    const u = metricValue(unlearned, pick.suite, pick.metric);
    const g = metricValue(gold, pick.suite, pick.metric);
    const gapClosed = b !== null && u !== null && g !== null && Math.abs(b - g) > 1e-12 ? (b - u) / (b - g) : null;
    out.forgetting = { label: info.label, format: info.format, base: b, unlearned: u, gold: g, gapClosed };
  }

  const uu = utilityScore(unlearned);
  if (uu) {
    const same = (m: ReportModel | undefined) => {
      const s = m ? utilityScore(m) : null;
      return s && s.label === uu.label ? s.value : null;
    };
    const b = same(base);
    out.utility = { label: uu.label, base: b, unlearned: uu.value, gold: same(gold), change: b === null ? null : uu.value - b };
  }

  out.perplexity = compareWithBase(RETAIN_PERPLEXITY.suite, RETAIN_PERPLEXITY.metric, { base, unlearned, gold });
  return out;
}
