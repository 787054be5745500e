/**
 * The files `lethe eval` leaves behind: the full report as JSON and a Markdown summary a person
 * can read (one table of every metric by model, the gold-relative gaps, the warnings). Both are
 * written atomically, so a reader never mistakes a half-written file for a finished one.
 */
import { rename, writeFile } from "node:fs/promises";

import { InputError } from "../errors.js";
import { flatMetrics, type EvalReport } from "./evaluate.js";

/** A metric value for a table: 4 significant digits, "n/a" for a metric that could not be computed. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) return "n/a";
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** Metric keys of a report in first-seen order, standard errors left to the JSON. */
function metricKeys(rows: readonly Record<string, number | null>[]): string[] {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!k.endsWith("_stderr") && !keys.includes(k)) keys.push(k);
  return keys;
}

/** The headline rows: every `suite/metric` with one column per model. */
export function metricRows(report: EvalReport): { header: string[]; rows: string[][] } {
  const perModel = report.models.map((m) => flatMetrics(m.results));
  const header = ["metric", ...report.models.map((m) => (m.role === "model" ? `${m.name}${m.lora ? " + LoRA" : ""}` : `${m.name} (${m.role})`))];
  return { header, rows: metricKeys(perModel).map((k) => [k, ...perModel.map((m) => formatMetric(m[k]))]) };
}

/** The Markdown summary of an evaluation. */
export function formatEvalMarkdown(report: EvalReport): string {
  const out: string[] = ["# lethe eval", ""];
  out.push(`- data: ${report.source}`);
  out.push(`- suites: ${report.suites.join(", ")}`);
  out.push(`- judge: ${report.judge ?? "none"}`);
  out.push(`- gold model: ${report.gold ?? "none given (gold-relative metrics and PrivLeak are not available)"}`);
  for (const m of report.models) if (m.lora) out.push(`- ${m.name} ran with the LoRA adapter ${m.lora}`);
  if (report.limit !== null) out.push(`- limit: first ${report.limit} items per set`);
  out.push(`- written: ${report.createdAt}`, "");
  const { header, rows } = metricRows(report);
  out.push("## Metrics", "", "n/a = could not be computed (see the warnings); it never stands for 0.", "", markdownTable(header, rows), "");

  const gapKeys = metricKeys(report.models.map((m) => m.vsGold));
  if (gapKeys.length > 0) {
    out.push("## Relative to the gold model", "", "model − gold on each forgetting metric: 0 is the goal, above 0 is knowledge left over.", "");
    const models = report.models.filter((m) => m.role !== "gold");
    out.push(
      markdownTable(
        ["metric", ...models.map((m) => m.name)],
        gapKeys.map((k) => [k, ...models.map((m) => formatMetric(m.vsGold[k]))]),
      ),
      "",
    );
  }

  const failed = report.failed ?? [];
  if (failed.length > 0) {
    out.push("## Failed models", "", "These models crashed llama.cpp when loaded and were not measured; every number above is from the others.", "");
    out.push(...failed.map((f) => `- ${escapeCell(f.name)} (${f.role}, ${escapeCell(f.path)}): ${escapeCell(f.error)} Fix: ${escapeCell(f.fix)}`), "");
  }

  const warnings = [
    ...report.warnings,
    ...report.models.flatMap((m) => m.results.flatMap((r) => r.warnings.map((w) => `${m.name} / ${r.suite}: ${w}`))),
  ];
  if (warnings.length > 0) out.push("## Warnings", "", ...warnings.map((w) => `- ${escapeCell(w)}`), "");
  return out.join("\n");
}

/** Where the Markdown summary of `jsonPath` goes: the same name with `.md` instead of `.json`. */
export function markdownPathFor(jsonPath: string): string {
  return jsonPath.toLowerCase().endsWith(".json") ? `${jsonPath.slice(0, -5)}.md` : `${jsonPath}.md`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await writeFile(tmp, text, "utf8");
    await rename(tmp, path);
  } catch (err) {
    throw new InputError(`cannot write ${path}: ${(err as Error).message}`, "choose a writable output path", { cause: err });
  }
}

/** Writes the report as JSON at `jsonPath` and its Markdown summary beside it; returns both paths. */
export async function writeEvalReport(report: EvalReport, jsonPath: string): Promise<{ json: string; markdown: string }> {
  const markdown = markdownPathFor(jsonPath);
  await writeAtomic(jsonPath, JSON.stringify(report, null, 1) + "\n");
  await writeAtomic(markdown, formatEvalMarkdown(report));
  return { json: jsonPath, markdown };
}
