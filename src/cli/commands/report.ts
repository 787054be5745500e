/** `lethe report`: one self-contained HTML page from eval results, loss histories and run directories. */
import { statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { refuseOverwritingInputs } from "../../run/paths.js";
import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import { readPackageJson } from "../../util/package-root.js";

export const spec = defineCommand({
  name: "report",
  summary: "write a self-contained HTML report of eval results and training runs",
  usage: "report <run-dir|eval.json|losses.json>... [--out report.html]",
  description:
    "Reads the JSON written by `lethe eval` (its models and their roles, or any suite results {suite, model, metrics, details, warnings} at any depth, " +
    'with optional "models": [{name, role, label, method, alpha}], "roles": {base, gold, unlearned}, "title" and "subject"), ' +
    'loss histories ({"stage": name, "losses": [...], "steps"?: [...], "evals"?: [{step, loss}]}, or lethe pretrain\'s history.json) ' +
    "and run directories (manifest.json stage stats with a losses or lossCurve array, and every JSON file in the directory and its direct subfolders). " +
    "Writes one HTML file that needs no network: the metrics of every model, familiarity before and after against gold, " +
    "the forgetting/utility trade-off across methods and α, training loss curves, next-token probabilities and side-by-side completions. " +
    "Roles come from --base/--gold/--unlearned, else from the inputs, else from the model names (gold, base, unlearned/whp). " +
    "A section without data says so.",
  positionals: [{ name: "inputs", variadic: true, required: true, description: "eval JSON files, loss history files or run directories" }],
  options: {
    out: { type: "string", alias: "o", placeholder: "FILE", defaultLabel: "<run-dir>/report.html, else report.html", description: "where to write the HTML" },
    title: { type: "string", description: "the report's title", defaultLabel: "the inputs' title, else \"Unlearning report\"" },
    subject: { type: "string", description: "what was unlearned, in words (e.g. \"the Oz books\")" },
    base: { type: "string", placeholder: "MODEL", description: "the base model's name in the results" },
    gold: { type: "string", placeholder: "MODEL", description: "the gold model's name in the results" },
    unlearned: { type: "string[]", placeholder: "MODEL", description: "unlearned models' names in the results" },
  },
  examples: [
    { command: "report runs/demo --out runs/demo/report.html", description: "the report of a run directory" },
    { command: "report eval.json --subject \"the Oz books\" -o oz.html", description: "from `lethe eval --out eval.json`" },
    { command: "report base.json whp.json gold.json --gold gold-model", description: "several eval files, naming the gold model" },
  ],
});

/** The result of `lethe report`. */
export interface ReportResult {
  report: string;
  models: { name: string; label: string; role: string }[];
  sections: { metrics: boolean; familiarity: boolean; tradeoff: boolean; losses: number; nextTokens: number; completions: number };
  notes: string[];
}

function defaultOut(inputs: readonly string[], cwd: string): string {
  const first = inputs[0] === undefined ? undefined : resolve(cwd, inputs[0]);
  const isDir = first !== undefined && statSync(first, { throwIfNoEntry: false })?.isDirectory() === true;
  return isDir ? join(first, "report.html") : resolve(cwd, "report.html");
}

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<ReportResult> {
  const { writeReport } = await import("../../report/index.js");
  const inputs = args.inputs.map((p) => resolve(ctx.cwd, p));
  const out = args.out === undefined ? defaultOut(args.inputs, ctx.cwd) : resolve(ctx.cwd, args.out);
  // The report may go inside an input run directory (the default), never over an input file.
  refuseOverwritingInputs({ flag: "--out", path: out }, inputs.map((path) => ({ flag: "the input", path })));
  const pkg = readPackageJson();
  const { data, sections } = await writeReport(inputs, out, {
    title: args.title,
    subject: args.subject,
    roles: { base: args.base, gold: args.gold, unlearned: args.unlearned.length > 0 ? args.unlearned : undefined },
    generator: `${pkg.name} ${pkg.version}`,
  });
  for (const note of data.notes) ctx.out.warn(note);
  const shown = relative(ctx.cwd, out);
  return {
    report: shown.startsWith("..") || shown === "" ? out : shown,
    models: data.models.map((m) => ({ name: m.name, label: m.label, role: m.role })),
    sections,
    notes: data.notes,
  };
}

export function render(r: ReportResult, out: Output): void {
  out.table(r.models.map((m) => [m.role, m.label]), ["role", "model"]);
  const s = r.sections;
  const empty = [
    !s.metrics && "metrics",
    !s.familiarity && "familiarity chart",
    !s.tradeoff && "trade-off chart",
    s.losses === 0 && "loss curves",
    s.nextTokens === 0 && "next-token probabilities",
    s.completions === 0 && "side-by-side completions",
  ].filter((x): x is string => typeof x === "string");
  if (empty.length > 0) out.info(`no data for: ${empty.join(", ")}`);
  out.print(`wrote ${r.report}`);
}
