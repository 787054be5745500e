/** `lethe testbed synthetic|oz|custom`: build (or reuse) a base model and a gold model that never saw the target. */
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import { InputError } from "../../errors.js";
import { defineCommand, UsageError, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { TestbedReport } from "../../testbed/build.js";
import { defaultTestbedDir } from "../../testbed/cache-dir.js";
import { reporter } from "./pretrain.js";

export const spec = defineCommand({
  name: "testbed",
  summary: "build a base model and a gold model (never saw the target) to unlearn on",
  description:
    "synthetic: an invented saga (no data needed) — the base model learns the saga and a generic corpus, the gold " +
    "model the generic corpus alone; takes ~10 minutes on 2 cores with the tiny size. " +
    "custom: any two folders of .txt files, --forget (the base model learns it, the gold model never sees it) and " +
    "--retain (both learn it); the last 3% of every document is held out of training. " +
    "oz: the custom testbed over the eleven Oz books (forget) and public-domain novels (retain) from --data, with " +
    "lethe's hand-written Oz evaluation set; the small size takes about an hour per model. " +
    "Both models share one tokenizer and the same size and steps. Everything is cached in --dir and an interrupted " +
    "build resumes. Reports held-out perplexity of both models on forget and retain text, greedy fact accuracy and " +
    "completions side by side, and writes what `lethe eval --testbed DIR` needs into the folder.",
  positionals: [{ name: "kind", choices: ["synthetic", "oz", "custom"], required: true, description: "which testbed" }],
  options: {
    dir: { type: "string", placeholder: "DIR", defaultLabel: ".lethe-cache/testbeds/<kind>-<size>", description: "where models and text are kept" },
    data: { type: "string", placeholder: "DIR", default: "../shared/data", description: "shared data folder (oz only)" },
    forget: { type: "string", placeholder: "DIR", description: "folder of .txt files to forget (custom only)" },
    retain: { type: "string", placeholder: "DIR", description: "folder of .txt files to keep (custom only)" },
    name: { type: "string", placeholder: "NAME", defaultLabel: "the forget folder's name", description: "the testbed's name (custom only)" },
    size: { type: "string", placeholder: "tiny|small|FILE", defaultLabel: "tiny (synthetic, custom), small (oz)", description: "model size, or a JSON config file" },
    steps: { type: "number", integer: true, min: 1, description: "optimizer steps per model", defaultLabel: "the size's" },
    seed: { type: "number", integer: true, min: 0, default: 1, description: "training seed" },
    report: { type: "string", placeholder: "FILE", description: "also write the report JSON here (e.g. bench/results/testbed-oz.json)" },
  },
  examples: [
    { command: "testbed synthetic", description: "the demo's testbed" },
    { command: "testbed oz --data ../shared/data --report bench/results/testbed-oz.json", description: "the Oz testbed, as benchmarked" },
    { command: "testbed custom --forget my-books/ --retain other-books/ --size small", description: "a testbed from your own text" },
  ],
});

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<TestbedReport> {
  const { buildTestbed } = await import("../../testbed/build.js");
  const { customTestbed, ozTestbed, syntheticTestbed } = await import("../../testbed/testbeds.js");
  if (args.kind === "custom" && (args.forget === undefined || args.retain === undefined)) {
    throw new UsageError("testbed custom needs --forget and --retain", "give two folders of .txt files: --forget DIR --retain DIR");
  }
  if (args.kind !== "custom" && (args.forget !== undefined || args.retain !== undefined || args.name !== undefined)) {
    throw new UsageError(`--forget, --retain and --name are for testbed custom, not ${args.kind}`, `drop them, or run \`lethe testbed custom\``);
  }
  const size = args.size ?? (args.kind === "oz" ? "small" : "tiny");
  const name = args.kind === "custom" ? (args.name ?? basename(resolve(ctx.cwd, args.forget!))) : args.kind;
  const dir = resolve(ctx.cwd, args.dir ?? defaultTestbedDir(name, size));
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new InputError(`--dir ${dir} is a file, not a folder`, "give the path of a folder (it is made if missing), or move the file away");
  }
  const report = reporter(ctx.out);
  const common = {
    dir,
    size,
    overrides: args.steps === undefined ? undefined : { steps: args.steps },
    seed: args.seed,
    threads: ctx.globals.threads,
    signal: ctx.signal,
    onEvent: (model: "base" | "gold", e: Parameters<typeof report.onEvent>[0]) => {
      if (e.type === "train-start") ctx.out.info(`${model} model:`);
      report.onEvent(e);
    },
  };
  try {
    const spec =
      args.kind === "oz"
        ? ozTestbed({ ...common, data: resolve(ctx.cwd, args.data) })
        : args.kind === "custom"
          ? customTestbed({ ...common, name, forget: resolve(ctx.cwd, args.forget!), retain: resolve(ctx.cwd, args.retain!) })
          : syntheticTestbed(common);
    const result = await buildTestbed(spec);
    if (args.report) {
      const out = resolve(ctx.cwd, args.report);
      mkdirSync(dirname(out), { recursive: true });
      // A benchmark result names the machine it was measured on.
      const { machineInfo } = await import("../../util/machine.js");
      writeFileSync(`${out}.tmp`, JSON.stringify({ machine: machineInfo(ctx.globals.threads), ...result }, null, 2) + "\n");
      renameSync(`${out}.tmp`, out);
    }
    return result;
  } finally {
    report.finish();
  }
}

export function render(r: TestbedReport, out: Output): void {
  const acc = (x: number | null) => (x === null ? "n/a" : `${(100 * x).toFixed(1)}%`);
  out.print(`${r.testbed} testbed (${r.size}, ${r.steps} steps, ${r.tokens} tokens, ${Math.round(r.wall_s / 60)} min of training)`);
  out.table(
    [
      ["base", String(r.base.ppl_forget), String(r.base.ppl_retain), acc(r.base.fact_accuracy), r.base.path],
      ["gold", String(r.gold.ppl_forget), String(r.gold.ppl_retain), acc(r.gold.fact_accuracy), r.gold.path],
    ],
    ["model", "ppl forget", "ppl retain", "facts", "file"],
  );
  for (const c of r.completions.slice(0, 4)) {
    out.print(`\n${c.prompt}\n  base: ${JSON.stringify(c.base)}\n  gold: ${JSON.stringify(c.gold)}`);
  }
  out.print(`\nmeasure any model on it: lethe eval --testbed ${dirname(r.base.path)} --model MODEL.gguf --out eval.json`);
}
