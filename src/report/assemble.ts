/**
 * Merges what several inputs contributed into one {@link ReportData}: suite results grouped by
 * model, each model given a role (base, unlearned, gold, other), a label, and a method and α when
 * known, in display order.
 */
import type { Collected } from "./collect.js";
import { alphaFromName, guessRole, shortModelName } from "./model-names.js";
import type { ModelMeta, ReportRole, ReportData, ReportModel } from "./types.js";

/** Choices the caller makes explicitly; they win over what the files say and over name guesses. */
export interface AssembleOptions {
  title?: string;
  subject?: string;
  /** Model names (as in the suite results' `model`) for each role. */
  roles?: { base?: string; gold?: string; unlearned?: readonly string[] };
}

/** The report title when neither the caller nor an input gives one. */
export const DEFAULT_TITLE = "Unlearning report";

const ROLE_ORDER: Record<ReportRole, number> = { base: 0, unlearned: 1, other: 2, gold: 3 };

/** Orders models base, unlearned (by method, then α), other, gold; ties keep input order. */
export function compareModels(a: ReportModel, b: ReportModel): number {
  return (
    ROLE_ORDER[a.role] - ROLE_ORDER[b.role] ||
    (a.method ?? "").localeCompare(b.method ?? "") ||
    (a.alpha ?? Infinity) - (b.alpha ?? Infinity)
  );
}

/** Builds the report's data from the inputs' contributions, in input order (later inputs win). */
export function assembleReport(inputs: readonly Collected[], sources: readonly string[], opts: AssembleOptions = {}): ReportData {
  const meta = new Map<string, ModelMeta>();
  const models = new Map<string, ReportModel>();
  const notes: string[] = [];
  for (const input of inputs) {
    notes.push(...input.notes);
    for (const m of input.models) meta.set(m.name, { ...meta.get(m.name), ...m });
    for (const r of input.suites) {
      let model = models.get(r.model);
      if (!model) {
        model = { name: r.model, label: "", role: "other", suites: {} };
        models.set(r.model, model);
      }
      model.suites[r.suite] = r;
    }
  }

  const explicit = new Map<string, ReportRole>();
  if (opts.roles?.base) explicit.set(opts.roles.base, "base");
  if (opts.roles?.gold) explicit.set(opts.roles.gold, "gold");
  for (const name of opts.roles?.unlearned ?? []) explicit.set(name, "unlearned");
  for (const name of explicit.keys()) {
    if (!models.has(name)) notes.push(`model "${name}" was given a role but has no results in the inputs`);
  }

  for (const model of models.values()) {
    const m = meta.get(model.name);
    const guess = guessRole(model.name);
    // Naming the models of a role on the command line means the guesses for that role are not wanted.
    const guessed = [...explicit.values()].includes(guess) ? "other" : guess;
    model.role = explicit.get(model.name) ?? m?.role ?? guessed;
    model.method = m?.method;
    model.alpha = m?.alpha ?? alphaFromName(model.name);
    model.label = m?.label ?? shortModelName(model.name);
  }
  const list = [...models.values()];
  const seen = new Map<string, number>();
  for (const m of list) seen.set(m.label, (seen.get(m.label) ?? 0) + 1);
  for (const m of list) if ((seen.get(m.label) ?? 0) > 1) m.label = m.name;
  for (const role of ["base", "gold"] as const) {
    const holders = list.filter((m) => m.role === role);
    if (holders.length > 1) notes.push(`${holders.length} models have the role ${role} (${holders.map((m) => m.label).join(", ")}); the first is used for comparisons`);
  }

  const title = opts.title ?? [...inputs].reverse().find((i) => i.title)?.title ?? DEFAULT_TITLE;
  const subject = opts.subject ?? [...inputs].reverse().find((i) => i.subject)?.subject;
  return {
    title,
    subject,
    models: list.sort(compareModels),
    losses: inputs.flatMap((i) => i.losses),
    sources: [...sources],
    notes,
  };
}
