/**
 * The report's charts and comparisons as plain data, computed from {@link ReportData}: what the
 * page's charts draw and what its side-by-side tables list. Kept free of HTML so it can be tested.
 */
import { FORGET_METRICS, RETAIN_PERPLEXITY, firstOfRole, formatTolerance, headlineModel, metricInfo, metricValue, ratioTo, utilityScore, type MetricFormat } from "./metrics.js";
import type { LossCurve, ReportRole, ReportData, ReportModel } from "./types.js";

/**
 * The Okabe–Ito palette, distinguishable with every common colour-vision deficiency. Base is
 * orange, the unlearned model blue, gold green; further models take the remaining hues.
 */
export const ROLE_COLOURS: Record<"base" | "unlearned" | "gold", string> = { base: "#E69F00", unlearned: "#0072B2", gold: "#009E73" };
const EXTRA_COLOURS = ["#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];

/** A colour per model, in display order; the first base, unlearned and gold models get their role's colour. */
export function modelColours(models: readonly { role: ReportRole }[]): string[] {
  const used = new Set<string>();
  let extra = 0;
  return models.map((m) => {
    const own = m.role === "other" ? undefined : ROLE_COLOURS[m.role];
    if (own && !used.has(own)) {
      used.add(own);
      return own;
    }
    return EXTRA_COLOURS[extra++ % EXTRA_COLOURS.length]!;
  });
}

/** A dataset of a chart: one model (or one group of models). */
export interface BarDataset {
  label: string;
  role: ReportRole;
  colour: string;
  values: (number | null)[];
}

/** Grouped bars of the forgetting metrics, one bar per model. */
export interface FamiliarityBars {
  categories: string[];
  datasets: BarDataset[];
}

/** Short category names, so the bar chart's axis stays readable. */
const BAR_LABELS: Record<string, string> = {
  "familiarity-completion/familiarity": "Familiarity",
  "familiarity-completion/share_ge2": "Scored ≥ 2",
  "familiarity-probability/familiarity_probability": "P(idiosyncratic token)",
  "muse/verbmem_f": "VerbMem",
  "muse/knowmem_f": "KnowMem (forget)",
};

/** Bars of every forgetting metric (in [0, 1]) that at least one model has; null when none has any. */
export function familiarityBars(data: ReportData): FamiliarityBars | null {
  const present = FORGET_METRICS.filter((f) => data.models.some((m) => metricValue(m, f.suite, f.metric) !== null));
  if (present.length === 0) return null;
  const colours = modelColours(data.models);
  return {
    categories: present.map((f) => BAR_LABELS[`${f.suite}/${f.metric}`] ?? metricInfo(f.suite, f.metric).label),
    datasets: data.models.map((m, i) => ({
      label: m.label,
      role: m.role,
      colour: colours[i]!,
      values: present.map((f) => metricValue(m, f.suite, f.metric)),
    })),
  };
}

/** One point of a trade-off scatter. */
export interface TradeoffPoint {
  x: number;
  y: number;
  /** The metric's own value where y is its ratio to the base model's, for the tooltip. */
  value?: number;
  /** The model's label, for the tooltip. */
  label: string;
  alpha?: number;
}

/** A series of a trade-off scatter: one model, or one method's α sweep (joined by a line). */
export interface TradeoffSeries {
  label: string;
  role: ReportRole;
  colour: string;
  points: TradeoffPoint[];
  line: boolean;
}

/** Forgetting against one measure of what the model kept. */
export interface Tradeoff {
  /** What y measures, shown above the chart. */
  title: string;
  xLabel: string;
  xFormat: MetricFormat;
  yLabel: string;
  /** What y measures, in a word, for the tooltip. */
  yName: string;
  /** How y reads: a share, a ratio to the base model's value, or a plain number. */
  yFormat: "percent" | "ratio" | "number";
  /** A logarithmic y axis, on which ×2 and ×½ lie equally far from the base. */
  yLog: boolean;
  /** Where y leaves the range the metric registry tolerates around the base, drawn as a dashed line. */
  yLimit: { value: number; label: string } | null;
  series: TradeoffSeries[];
}

/** The forgetting metric both trade-off charts put on x: the first one measured on at least two models. */
function forgettingAxis(data: ReportData): { suite: string; metric: string } | undefined {
  return FORGET_METRICS.find((f) => data.models.filter((m) => metricValue(m, f.suite, f.metric) !== null).length >= 2);
}

interface Placed {
  m: ReportModel;
  colour: string;
  x: number;
  y: number;
  value?: number;
}

/** One series per model, except that unlearned models of one method with an α form one series, sorted by α and joined. */
function tradeoffSeries(placed: readonly Placed[]): TradeoffSeries[] {
  const series: TradeoffSeries[] = [];
  const sweeps = new Map<string, TradeoffSeries>();
  for (const { m, colour, x, y, value } of placed) {
    const point: TradeoffPoint = { x, y, label: m.alpha === undefined ? m.label : `${m.label} (α = ${m.alpha})`, alpha: m.alpha };
    if (value !== undefined) point.value = value;
    if (m.role !== "base" && m.role !== "gold" && m.alpha !== undefined) {
      // One method's α sweep is one curve, whether a point is the chosen model or a variant.
      const key = m.method ?? "";
      let s = sweeps.get(key);
      if (!s) {
        s = { label: m.method ? `${m.method} (α sweep)` : "unlearned (α sweep)", role: m.role, colour, points: [], line: false };
        sweeps.set(key, s);
        series.push(s);
      }
      s.points.push(point);
      s.line = s.points.length > 1;
    } else {
      series.push({ label: m.label, role: m.role, colour, points: [point], line: false });
    }
  }
  for (const s of sweeps.values()) s.points.sort((a, b) => (a.alpha ?? 0) - (b.alpha ?? 0));
  return series;
}

function forgettingLabel(pick: { suite: string; metric: string }): { xLabel: string; xFormat: MetricFormat } {
  const info = metricInfo(pick.suite, pick.metric);
  return { xLabel: `${info.label} (lower = forgot more)`, xFormat: info.format };
}

/**
 * Forgetting (x) against utility (y) for every model that has both. x is the first forgetting
 * metric measured on at least two models; y is {@link utilityScore} when all plotted models share
 * its kind. Null when fewer than two models can be placed.
 */
export function tradeoff(data: ReportData): Tradeoff | null {
  const pick = forgettingAxis(data);
  if (!pick) return null;
  const colours = modelColours(data.models);
  const placed = data.models.flatMap((m, i) => {
    const x = metricValue(m, pick.suite, pick.metric);
    const u = utilityScore(m);
    return x !== null && u !== null ? [{ m, x, u, colour: colours[i]! }] : [];
  });
  // Utility scores of different kinds (benchmark accuracy vs KnowMem) are not comparable on one axis.
  const kind = placed[0]?.u.label.startsWith("mean accuracy") ? "accuracy" : "knowmem";
  const comparable = placed.filter((p) => (p.u.label.startsWith("mean accuracy") ? "accuracy" : "knowmem") === kind);
  if (comparable.length < 2) return null;
  return {
    ...forgettingLabel(pick),
    title: kind === "accuracy" ? "Mean benchmark accuracy" : "KnowMem on retain QA",
    yLabel: "higher = kept more",
    yName: "utility",
    yFormat: "percent",
    yLog: false,
    yLimit: null,
    series: tradeoffSeries(comparable.map(({ m, x, u, colour }) => ({ m, x, y: u.value, colour }))),
  };
}

/** The widest max/min ratio of the perplexity chart's values that it still draws on a linear axis. */
const LOG_SPAN = 10;

/**
 * Forgetting (x, as in {@link tradeoff}) against held-out retain perplexity (y) for every model
 * that has both. y is the ratio to the base model's perplexity when the base has one, with the
 * registry's tolerance drawn as a line, else the perplexity itself. Null when fewer than two models
 * can be placed.
 */
export function perplexityTradeoff(data: ReportData): Tradeoff | null {
  const pick = forgettingAxis(data);
  if (!pick) return null;
  const { suite, metric } = RETAIN_PERPLEXITY;
  const info = metricInfo(suite, metric);
  const basePpl = metricValue(firstOfRole(data, "base"), suite, metric);
  const relative = basePpl !== null && basePpl > 0;
  const colours = modelColours(data.models);
  const placed = data.models.flatMap((m, i): Placed[] => {
    const x = metricValue(m, pick.suite, pick.metric);
    const value = metricValue(m, suite, metric);
    const y = relative ? ratioTo(value, basePpl) : value;
    return x !== null && value !== null && y !== null ? [{ m, x, y, value, colour: colours[i]! }] : [];
  });
  if (placed.length < 2) return null;
  const ys = placed.map((p) => p.y);
  // Over a narrow span a linear axis reads more easily; over a wide one only a log axis keeps
  // ×1.0 and ×1.1 apart next to ×50.
  const yLog = Math.min(...ys) > 0 && Math.max(...ys) / Math.min(...ys) > LOG_SPAN;
  const tol = info.baseTolerance;
  const lowerIsBetter = info.better === "lower";
  return {
    ...forgettingLabel(pick),
    title: `${info.label}${relative ? " ÷ base model's" : ""}`,
    yLabel: `${yLog ? "log scale, " : ""}${info.better} = kept more`,
    yName: "perplexity",
    yFormat: relative ? "ratio" : "number",
    yLog,
    yLimit:
      relative && tol !== undefined
        ? { value: lowerIsBetter ? 1 + tol : 1 - tol, label: `base ${lowerIsBetter ? "+" : "−"}${formatTolerance(tol)}` }
        : null,
    series: tradeoffSeries(placed),
  };
}

/**
 * A curve thinned to at most `max` points by averaging equal runs of steps, so a 100k-step run
 * does not bloat the page; evals are kept as they are.
 */
export function downsampleCurve(curve: LossCurve, max = 1000): LossCurve {
  const n = curve.losses.length;
  if (n <= max) return curve;
  const steps: number[] = [];
  const losses: number[] = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor((b * n) / max);
    const to = Math.floor(((b + 1) * n) / max);
    let sum = 0;
    for (let i = from; i < to; i++) sum += curve.losses[i]!;
    steps.push(curve.steps[to - 1]!);
    losses.push(sum / (to - from));
  }
  return { ...curve, steps, losses };
}

/** One model's view of a probability prompt. */
export interface NextTokenColumn {
  model: string;
  role: ReportRole;
  colour: string;
  /** Summed probability of the known targets, null when not scored. */
  targetProbability: number | null;
  top: { token: string; prob: number }[];
}

/** One prompt of the next-token comparison. */
export interface NextTokenPrompt {
  prompt: string;
  targets: string[];
  columns: NextTokenColumn[];
}

interface ProbabilityEntry {
  prompt: string;
  probability: number | null;
  targets: { target: string }[];
  topNext?: { token: string; prob: number }[];
}

function probabilityEntries(model: ReportModel): ProbabilityEntry[] {
  const details = model.suites["familiarity-probability"]?.details as { prompts?: unknown } | undefined;
  if (!Array.isArray(details?.prompts)) return [];
  return details.prompts.filter(
    (p): p is ProbabilityEntry => typeof p === "object" && p !== null && typeof (p as ProbabilityEntry).prompt === "string",
  );
}

/** The models a side-by-side comparison shows: base, the headline unlearned model, gold (those present). */
export function comparisonModels(data: ReportData): ReportModel[] {
  const picked = [firstOfRole(data, "base"), headlineModel(data), firstOfRole(data, "gold")];
  return picked.filter((m, i): m is ReportModel => m !== undefined && picked.indexOf(m) === i);
}

const cleanTop = (top: unknown): { token: string; prob: number }[] =>
  Array.isArray(top)
    ? top.filter((t): t is { token: string; prob: number } => typeof t?.token === "string" && Number.isFinite(t?.prob))
    : [];

/**
 * The top next tokens after a few familiarity-probability prompts, for base, unlearned and gold.
 * Prompts are those whose top tokens were recorded, ordered by how strongly the base model
 * predicts the idiosyncratic token (the prompts where forgetting can show), ties by input order.
 */
export function nextTokenComparison(data: ReportData, maxPrompts = 4, topK = 5): NextTokenPrompt[] {
  const models = comparisonModels(data);
  const colours = modelColours(data.models);
  const colourOf = (m: ReportModel) => colours[data.models.indexOf(m)]!;
  const byModel = models.map((m) => new Map(probabilityEntries(m).map((e) => [e.prompt, e])));
  const order: string[] = [];
  for (const entries of byModel) for (const [prompt, e] of entries) if (e.topNext && !order.includes(prompt)) order.push(prompt);
  const base = firstOfRole(data, "base");
  const baseEntries = base ? byModel[models.indexOf(base)] : undefined;
  const strength = (p: string) => baseEntries?.get(p)?.probability ?? -1;
  const chosen = order
    .map((p, i) => ({ p, i }))
    .sort((a, b) => strength(b.p) - strength(a.p) || a.i - b.i)
    .slice(0, maxPrompts)
    .map((x) => x.p);
  return chosen.map((prompt) => {
    const any = byModel.map((e) => e.get(prompt)).find((e) => e !== undefined);
    return {
      prompt,
      targets: (any?.targets ?? []).map((t) => t.target).filter((t) => typeof t === "string"),
      columns: models.map((m, i) => {
        const e = byModel[i]!.get(prompt);
        return { model: m.label, role: m.role, colour: colourOf(m), targetProbability: e?.probability ?? null, top: cleanTop(e?.topNext).slice(0, topK) };
      }),
    };
  });
}

/** One model's answer in a side-by-side row; undefined text when the model has no answer to it. */
export interface SideBySideCell {
  text?: string;
  /** Judge score 0–3 of a completion, or ROUGE-L of an answer. */
  score?: number | null;
  scoreKind?: "judge" | "rouge";
}

/** A row of side-by-side answers. */
export interface SideBySideRow {
  /** The prompt or question, when the input recorded it. */
  prompt?: string;
  /** The prompt's number in its set, 1-based, shown when the text is unknown. */
  index: number;
  cells: SideBySideCell[];
}

/** Side-by-side answers of base, unlearned and gold. */
export interface SideBySide {
  models: { label: string; role: ReportRole; colour: string }[];
  completions: SideBySideRow[];
  knowmem: SideBySideRow[];
}

interface Completion {
  prompt: number;
  sample: number;
  completion: string;
  score: number | null;
}

function greedyCompletions(model: ReportModel): { byPrompt: Map<number, Completion>; prompts: (string | undefined)[] } {
  const details = model.suites["familiarity-completion"]?.details as { completions?: unknown; prompts?: unknown } | undefined;
  const byPrompt = new Map<number, Completion>();
  if (Array.isArray(details?.completions)) {
    for (const c of details.completions as Completion[]) {
      if (typeof c?.completion === "string" && Number.isInteger(c.prompt) && c.sample === -1) byPrompt.set(c.prompt, c);
    }
  }
  // lethe eval may record the prompt texts as strings or {prompt} records; the suite itself does not.
  const prompts = Array.isArray(details?.prompts)
    ? details.prompts.map((p: unknown) =>
        typeof p === "string" ? p : typeof (p as { prompt?: unknown })?.prompt === "string" ? (p as { prompt: string }).prompt : undefined,
      )
    : [];
  return { byPrompt, prompts };
}

interface KnowmemEntry {
  question: string;
  output: string;
  rougeL: number;
}

function knowmemForget(model: ReportModel): Map<string, KnowmemEntry> {
  const details = model.suites.muse?.details as { knowmemForget?: unknown } | undefined;
  const list = Array.isArray(details?.knowmemForget) ? (details.knowmemForget as KnowmemEntry[]) : [];
  return new Map(list.filter((k) => typeof k?.question === "string" && typeof k.output === "string").map((k) => [k.question, k]));
}

/**
 * Greedy familiarity completions and forget-set KnowMem answers of base, unlearned and gold, side
 * by side. Completions are ordered by the base model's judge score (highest first: where the base
 * shows the universe, the unlearned model should not), ties by prompt number.
 */
export function sideBySide(data: ReportData, maxRows = 8): SideBySide {
  const models = comparisonModels(data);
  const colours = modelColours(data.models);
  const greedy = models.map(greedyCompletions);
  const indices = [...new Set(greedy.flatMap((g) => [...g.byPrompt.keys()]))];
  const base = firstOfRole(data, "base");
  const baseGreedy = base ? greedy[models.indexOf(base)] : undefined;
  const baseScore = (i: number) => baseGreedy?.byPrompt.get(i)?.score ?? -1;
  indices.sort((a, b) => baseScore(b) - baseScore(a) || a - b);
  const completions = indices.slice(0, maxRows).map((i): SideBySideRow => ({
    index: i + 1,
    prompt: greedy.map((g) => g.prompts[i]).find((p) => p !== undefined),
    cells: greedy.map((g) => {
      const c = g.byPrompt.get(i);
      return c ? { text: c.completion, score: c.score, scoreKind: "judge" } : {};
    }),
  }));

  const answers = models.map(knowmemForget);
  const questions = [...new Set(answers.flatMap((a) => [...a.keys()]))];
  const knowmem = questions.slice(0, maxRows).map((q, i): SideBySideRow => ({
    index: i + 1,
    prompt: q,
    cells: answers.map((a) => {
      const k = a.get(q);
      return k ? { text: k.output, score: Number.isFinite(k.rougeL) ? k.rougeL : null, scoreKind: "rouge" } : {};
    }),
  }));
  return {
    models: models.map((m) => ({ label: m.label, role: m.role, colour: colours[data.models.indexOf(m)]! })),
    completions,
    knowmem,
  };
}
