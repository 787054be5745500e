/** `lethe demo`: the whole job on a built-in synthetic saga — testbed, unlearning, evaluation, report. */
import { resolve } from "node:path";
import { PRECISIONS } from "../../engine/trainer.js";

import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { Progress } from "../progress.js";
import type { DemoResult, DemoRole } from "../../demo/demo.js";
import { defaultTestbedDir } from "../../testbed/cache-dir.js";
import { reporter } from "./pretrain.js";
import { machineInfo } from "../../util/machine.js";

export const spec = defineCommand({
  name: "demo",
  summary: "run the whole job on a built-in invented saga: testbed, unlearning, evaluation, report",
  description:
    "Builds (or reuses) a base model that learned an invented saga and a gold model that never read it, makes the " +
    "base model forget the saga with Who's Harry Potter, measures base, unlearned and gold the same way and writes " +
    "an HTML report. No data, model or network needed. The first run takes about 15 minutes on 2 cores; a repeat " +
    "run reads everything back in seconds. With --data the same job runs on the Oz testbed (the eleven Oz books " +
    "against public-domain novels), measured with lethe's hand-written Oz prompts and questions; that takes a few " +
    "hours on 2 cores the first time.",
  options: {
    data: { type: "string", placeholder: "DIR", description: "shared data folder (forget/oz, retain/): run on the Oz testbed" },
    runDir: { type: "string", placeholder: "DIR", defaultLabel: "runs/demo, or runs/demo-oz with --data", description: "where the run, eval and report go" },
    size: {
      type: "string",
      placeholder: "tiny|small|FILE",
      defaultLabel: "tiny, or small with --data",
      description: "testbed model size, or a JSON config file (as `lethe testbed --size`)",
    },
    precision: {
      type: "string",
      choices: PRECISIONS,
      placeholder: "P",
      defaultLabel: "f32",
      description: "the unlearning's training precision (as `lethe unlearn --precision`): bf16 trains 1.4-1.7x faster where the CPU has AVX512-BF16",
    },
    cache: {
      type: "string",
      placeholder: "DIR",
      defaultLabel: ".lethe-cache/testbeds/synthetic-<size>, or oz-<size> with --data",
      description: "where the testbed models are cached",
    },
  },
  examples: [
    { command: "demo", description: "run it and print the table" },
    { command: "demo --json", description: "the last line is {report, models}" },
    { command: "demo --data ../shared/data", description: "the same on the Oz books" },
    { command: "demo --data ../shared/data --size tiny", description: "the Oz books with tiny models (about 20 minutes of testbed training)" },
  ],
});

export interface DemoCommandResult {
  report: string;
  models: DemoResult["models"];
  relearning: DemoResult["relearning"];
  stages_s: DemoResult["stagesS"];
  wall_s: number;
  machine: ReturnType<typeof machineInfo>;
}

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<DemoCommandResult> {
  const { runDemo } = await import("../../demo/demo.js");
  const pretrainBars = reporter(ctx.out);
  let bar: Progress | undefined;
  let barLabel = "";
  const progress = (label: string, done: number, total: number, unit: string, fields?: Record<string, number>) => {
    if (barLabel !== label) {
      bar?.finish();
      bar = ctx.out.progress({ label, total, unit });
      barLabel = label;
    }
    bar!.update(done, fields);
  };
  const size = args.size ?? (args.data === undefined ? "tiny" : "small");
  const kind = args.data === undefined ? "synthetic" : "oz";
  try {
    const r = await runDemo({
      data: args.data === undefined ? undefined : resolve(ctx.cwd, args.data),
      runDir: resolve(ctx.cwd, args.runDir ?? (args.data === undefined ? "runs/demo" : "runs/demo-oz")),
      testbedDir: resolve(ctx.cwd, args.cache ?? defaultTestbedDir(kind, size)),
      scale: {
        size: size === "tiny" || size === "small" ? size : resolve(ctx.cwd, size),
        ...(args.precision === undefined ? {} : { unlearn: { precision: args.precision } }),
      },
      threads: ctx.globals.threads,
      signal: ctx.signal,
      onStep: (s) => {
        if (s.step === "info") {
          bar?.finish();
          barLabel = "";
          pretrainBars.finish();
          ctx.out.info(s.message);
        } else if (s.step === "testbed") {
          pretrainBars.onEvent(s.event);
        } else if (s.step === "unlearn") {
          const e = s.event as { type: string; stage?: string; label?: string; done?: number; total?: number; unit?: string; progress?: { stage: string; step: number; steps: number; loss: number } };
          if (e.type === "work") progress(`${e.stage}: ${e.label}`, e.done!, e.total!, e.unit!);
          else if (e.type === "train") progress(e.progress!.stage, e.progress!.step, e.progress!.steps, "step", { loss: e.progress!.loss });
        } else {
          const e = s.event as { type: string; model?: string; suite?: string; done?: number; total?: number; phase?: string };
          if (e.type === "progress") progress(`eval ${e.model}: ${e.suite}`, e.done!, e.total!, e.phase ?? "it");
        }
      },
    });
    return { report: r.report, models: r.models, relearning: r.relearning, stages_s: r.stagesS, wall_s: r.wallS, machine: machineInfo(ctx.globals.threads) };
  } finally {
    bar?.finish();
    pretrainBars.finish();
  }
}

const LABELS: Record<string, string> = {
  familiarity: "familiarity (0-1)",
  probability: "P(idiosyncratic token)",
  verbmem: "VerbMem (ROUGE-L)",
  knowmem_forget: "KnowMem forget",
  knowmem_retain: "KnowMem retain",
  ppl_retain: "perplexity, retain",
};

export function render(r: DemoCommandResult, out: Output): void {
  const roles: DemoRole[] = ["base", "unlearned", "gold"];
  const fmt = (x: number | null) => (x === null ? "n/a" : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3));
  out.table(
    Object.keys(LABELS).map((k) => [LABELS[k]!, ...roles.map((role) => fmt(r.models[role][k as keyof DemoResult["models"]["base"]]))]),
    ["metric", ...roles],
  );
  const after = (role: DemoRole) => fmt(r.relearning[role].probability_after);
  out.print(`after ${50} relearning steps, P(idiosyncratic token): base ${after("base")}, unlearned ${after("unlearned")}, gold ${after("gold")}`);
  out.print(`report: ${r.report}`);
}
