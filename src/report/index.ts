/**
 * `lethe report`'s API: turn eval JSON files, loss histories and run directories into one
 * self-contained HTML page with a metrics table, charts and side-by-side completions.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { InputError } from "../errors.js";
import { assembleReport, type AssembleOptions } from "./assemble.js";
import { chartJsSource } from "./chartjs.js";
import { renderReport, type RenderedSections } from "./html.js";
import { loadReportInputs } from "./load.js";
import type { ReportData } from "./types.js";

export type { ReportData, ReportModel, ReportRole, ModelMeta, LossCurve } from "./types.js";
export { collectFromJson, type Collected } from "./collect.js";
export { assembleReport, type AssembleOptions } from "./assemble.js";
export { guessRole, alphaFromName, shortModelName } from "./model-names.js";
export { loadReportInputs, type LoadedInputs } from "./load.js";
export { metricTable, headline, utilityScore, formatMetric, metricInfo, type MetricTable, type Headline } from "./metrics.js";
export { familiarityBars, tradeoff, nextTokenComparison, sideBySide, downsampleCurve, modelColours } from "./sections.js";
export { renderReport, type RenderOptions, type RenderedSections } from "./html.js";
export { escapeHtml, jsonForScript, visibleToken } from "./escape.js";
export { chartJsSource } from "./chartjs.js";

/** Options of {@link buildReport} and {@link writeReport}. */
export interface ReportOptions extends AssembleOptions {
  /** Shown in the footer, e.g. "lethe 0.1.0". */
  generator?: string;
  generatedAt?: Date;
}

/** A built report. */
export interface BuiltReport {
  data: ReportData;
  html: string;
  sections: RenderedSections;
}

/** Reads the inputs (eval JSON files, loss histories, run directories) and renders the page. */
export async function buildReport(inputs: readonly string[], opts: ReportOptions = {}): Promise<BuiltReport> {
  const { collected, sources } = await loadReportInputs(inputs);
  const data = assembleReport(collected, sources, opts);
  const { html, sections } = renderReport(data, { chartJs: chartJsSource(), generator: opts.generator, generatedAt: opts.generatedAt });
  return { data, html, sections };
}

/** Writes `html` to `path` atomically (a `.tmp` file renamed into place), creating its folder. */
export async function writeHtmlAtomic(path: string, html: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, html, "utf8");
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new InputError(`cannot write the report to ${path}: ${(err as Error).message}`, "choose a writable --out path", { cause: err });
  }
}

/** Builds the report from `inputs` and writes it to `out`. */
export async function writeReport(inputs: readonly string[], out: string, opts: ReportOptions = {}): Promise<BuiltReport> {
  const report = await buildReport(inputs, opts);
  await writeHtmlAtomic(out, report.html);
  return report;
}
