/**
 * Finds the report's raw material in one parsed JSON document, whatever its layout: suite results,
 * model descriptions and loss histories. Being generous here lets the report read `lethe eval`'s
 * output, a hand-made comparison, a run manifest or a training history without a schema per file.
 *
 * Accepted shapes (documented for users in the `lethe report` help):
 * - suite results `{suite, model, metrics, details?, warnings?}`, alone, in arrays, or nested under
 *   any keys (`{results: [...]}`, `{base: [...], gold: [...]}`); a result without `model` takes
 *   the nearest enclosing key, else the file's name;
 * - model descriptions: a `models` array of `{name, role?, label?, method?, alpha?}`, and/or
 *   `roles: {base: name, gold: name, unlearned: name | name[]}`;
 * - `title` and `subject` (what was unlearned) strings at the top level;
 * - `lethe eval`'s JSON: `{gold, models: [{name, role: "model"|"compare"|"gold", results}], warnings}`;
 * - loss histories `{stage?|name?, losses|loss|lossCurve: number[], steps?: number[] | total,
 *   evals?: [{step, loss}]}` (lethe pretrain's `history.json` is one), alone or in arrays;
 * - a run manifest (`{kind, stages: [{name, stats}]}`): a stage whose stats hold such a loss
 *   array (lethe unlearn's `lossCurve`) becomes a curve.
 */
import type { SuiteResult } from "../eval/result.js";
import { guessRole } from "./model-names.js";
import type { LossCurve, ModelMeta, ReportRole } from "./types.js";

/** What one JSON document contributed. */
export interface Collected {
  suites: SuiteResult[];
  models: ModelMeta[];
  losses: LossCurve[];
  title?: string;
  subject?: string;
  /** Parts that looked meant for the report but could not be used, and why. */
  notes: string[];
}

const ROLES: readonly ReportRole[] = ["base", "unlearned", "gold", "other"];

/**
 * Roles of `lethe eval`'s JSON: "model" is the model under evaluation, normally the unlearned one
 * (unless its name says base or gold); "compare" models are placed by their names.
 */
function evalRole(role: unknown, name: string): ReportRole | undefined | "invalid" {
  if (ROLES.includes(role as ReportRole)) return role as ReportRole;
  if (role === "compare") return undefined;
  if (role === "model") return ["base", "gold"].includes(guessRole(name)) ? undefined : "unlearned";
  return "invalid";
}

/** Keys that group results without naming a model, so they never become a model name. */
const GROUPING_KEYS = new Set(["results", "suites", "evals", "evaluations", "data", "runs", "items"]);

/** Nesting deeper than this is not followed: real inputs are shallow, and it bounds the walk. */
const MAX_DEPTH = 12;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Whether `v` has the shape of a {@link SuiteResult}. */
export function looksLikeSuiteResult(v: unknown): v is Json {
  return isObject(v) && typeof v.suite === "string" && v.suite !== "" && isObject(v.metrics);
}

/** Keys a loss history's numbers may sit under; `lossCurve` is lethe unlearn's per-tenth means. */
const LOSS_KEYS = ["losses", "loss", "lossCurve"];

function lossArray(v: Json): unknown[] | undefined {
  const key = LOSS_KEYS.find((k) => Array.isArray(v[k]));
  const arr = key === undefined ? undefined : (v[key] as unknown[]);
  return arr && arr.some(finite) ? arr : undefined;
}

/** Whether `v` has the shape of a loss history. */
export function looksLikeLossHistory(v: unknown): v is Json {
  return isObject(v) && !looksLikeSuiteResult(v) && lossArray(v) !== undefined;
}

function toSuiteResult(v: Json, fallbackModel: string, where: string, notes: string[]): SuiteResult {
  const metrics: Record<string, number | null> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(v.metrics as Json)) {
    if (value === null || finite(value)) metrics[key] = value;
    else {
      metrics[key] = null;
      dropped.push(key);
    }
  }
  if (dropped.length > 0) notes.push(`${where}: metric(s) ${dropped.join(", ")} are not numbers, shown as not available`);
  const model = typeof v.model === "string" && v.model !== "" ? v.model : fallbackModel;
  const warnings = Array.isArray(v.warnings) ? v.warnings.filter((w): w is string => typeof w === "string") : [];
  return { suite: v.suite as string, model, metrics, details: v.details, warnings };
}

/**
 * A loss history as a curve: non-finite losses (skipped steps) are dropped with their steps; steps
 * default to 1, 2, ...; `steps` of the wrong length are ignored with a note. A number `steps`
 * larger than the list (a run summarised as means of equal parts) spreads the points evenly.
 */
export function toLossCurve(v: Json, fallbackName: string, where: string, notes: string[]): LossCurve {
  const raw = lossArray(v) ?? [];
  let stepOf = (i: number) => i + 1;
  if (finite(v.steps) && v.steps > raw.length) {
    const total = v.steps;
    stepOf = (i) => Math.round(((i + 1) * total) / raw.length);
  } else if (Array.isArray(v.steps)) {
    const steps = v.steps;
    if (steps.length === raw.length && steps.every(finite)) stepOf = (i) => steps[i] as number;
    else notes.push(`${where}: "steps" does not match the losses one to one, numbering them 1, 2, ...`);
  }
  const steps: number[] = [];
  const losses: number[] = [];
  raw.forEach((loss, i) => {
    if (finite(loss)) {
      steps.push(stepOf(i));
      losses.push(loss);
    }
  });
  const evals = Array.isArray(v.evals)
    ? v.evals.flatMap((e) => (isObject(e) && finite(e.step) && finite(e.loss) ? [{ step: e.step, loss: e.loss }] : []))
    : [];
  const name = typeof v.stage === "string" && v.stage !== "" ? v.stage : typeof v.name === "string" && v.name !== "" ? v.name : fallbackName;
  return { name, steps, losses, evals };
}

function toModelMeta(v: unknown, where: string, notes: string[]): ModelMeta | undefined {
  if (!isObject(v) || typeof v.name !== "string" || v.name === "") {
    notes.push(`${where}: a model description without a "name", skipped`);
    return undefined;
  }
  const meta: ModelMeta = { name: v.name };
  if (v.role !== undefined) {
    const role = evalRole(v.role, v.name);
    if (role === "invalid") notes.push(`${where}: role ${JSON.stringify(v.role)} of ${v.name} is not one of ${ROLES.join(", ")}, ignored`);
    else if (role !== undefined) meta.role = role;
  }
  if (typeof v.label === "string" && v.label !== "") meta.label = v.label;
  if (typeof v.method === "string" && v.method !== "") meta.method = v.method;
  if (finite(v.alpha)) meta.alpha = v.alpha;
  return meta;
}

function rolesToMeta(v: Json, where: string, notes: string[]): ModelMeta[] {
  const out: ModelMeta[] = [];
  for (const [role, names] of Object.entries(v)) {
    if (!ROLES.includes(role as ReportRole)) {
      notes.push(`${where}: "${role}" is not a role (${ROLES.join(", ")}), ignored`);
      continue;
    }
    for (const name of Array.isArray(names) ? names : [names]) {
      if (typeof name === "string" && name !== "") out.push({ name, role: role as ReportRole });
    }
  }
  return out;
}

function isManifest(v: unknown): v is { kind: string; stages: unknown[] } {
  return isObject(v) && typeof v.kind === "string" && Array.isArray(v.stages);
}

/**
 * Everything usable in one parsed JSON document. `source` (a file name without extension, or a
 * run directory's name) names results without a `model` and curves without a name.
 */
export function collectFromJson(value: unknown, source: string): Collected {
  const out: Collected = { suites: [], models: [], losses: [], notes: [] };
  if (isObject(value)) {
    if (typeof value.title === "string" && value.title.trim() !== "") out.title = value.title.trim();
    if (typeof value.subject === "string" && value.subject.trim() !== "") out.subject = value.subject.trim();
    // lethe eval names its gold model at the top and lists the run's warnings there.
    if (typeof value.gold === "string" && value.gold !== "") out.models.push({ name: value.gold, role: "gold" });
    if (Array.isArray(value.warnings) && typeof value.suite !== "string") {
      for (const w of value.warnings) if (typeof w === "string") out.notes.push(`${source}: ${w}`);
    }
  }
  if (isManifest(value)) {
    for (const stage of value.stages) {
      if (!isObject(stage) || !isObject(stage.stats) || !looksLikeLossHistory(stage.stats)) continue;
      const name = `${value.kind} · ${typeof stage.name === "string" ? stage.name : "stage"}`;
      out.losses.push(toLossCurve({ ...stage.stats, stage: undefined, name }, name, `${source} manifest`, out.notes));
    }
    return out;
  }

  const walk = (v: unknown, key: string | undefined, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (looksLikeSuiteResult(v)) {
      out.suites.push(toSuiteResult(v, key ?? source, `${source}${path}`, out.notes));
      return;
    }
    if (looksLikeLossHistory(v)) {
      out.losses.push(toLossCurve(v, key ?? source, `${source}${path}`, out.notes));
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, key, `${path}[${i}]`, depth + 1));
      return;
    }
    if (!isObject(v)) return;
    for (const [k, child] of Object.entries(v)) {
      const childPath = `${path}.${k}`;
      if (k === "models" && Array.isArray(child) && !child.some(looksLikeSuiteResult)) {
        child.forEach((m, i) => {
          const meta = toModelMeta(m, `${source}${childPath}[${i}]`, out.notes);
          if (meta) out.models.push(meta);
          // A description may carry its model's results: {name, role, results: [...]}.
          walk(m, meta?.name ?? key, `${childPath}[${i}]`, depth + 2);
        });
      } else if (k === "roles" && isObject(child)) {
        out.models.push(...rolesToMeta(child, `${source}${childPath}`, out.notes));
      } else {
        walk(child, GROUPING_KEYS.has(k) ? key : k, childPath, depth + 1);
      }
    }
  };
  walk(value, undefined, "", 0);
  return out;
}
