/** `lethe labels export|merge`: WHP labels beyond one run — as a dataset for other trainers, and from shards. */
import { resolve } from "node:path";

import { defineCommand, UsageError, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { ExportLabelsResult } from "../../unlearn/whp/labels-export.js";
import type { MergeLabelsResult } from "../../unlearn/whp/labels-merge.js";
import { unlearnEvents } from "./unlearn.js";

export const spec = defineCommand({
  name: "labels",
  summary: "export a WHP run's labels as a PyTorch dataset, or join label shards",
  description:
    "export: writes the labels of a finished labels stage as safetensors shards with a JSON manifest " +
    "(docs/labels-export.md), with the retain blocks the fine-tune mixes in and its step order, so a distributed " +
    "trainer fine-tunes the base model as lethe would (integrations/pytorch/train.py is one). " +
    "merge: after `lethe unlearn ... --stage labels --shard I/N` ran for every I, checks the shards and finishes the " +
    "run's labels stage from them (labels.bin byte-identical to an unsharded run); `lethe unlearn` with the same " +
    "arguments then fine-tunes.",
  positionals: [
    { name: "action", choices: ["export", "merge"], required: true, description: "what to do" },
    { name: "runDir", required: true, description: "the unlearning run directory (--run-dir of `lethe unlearn`)" },
  ],
  options: {
    out: { type: "string", alias: "o", placeholder: "DIR", description: "export: the dataset folder to write" },
    shardMb: { type: "number", min: 1, default: 256, placeholder: "MB", description: "export: largest shard file, in MiB" },
    force: { type: "boolean", description: "export: replace an existing --out folder" },
  },
  examples: [
    { command: "labels export runs/demo/unlearn --out whp-labels/", description: "the demo's labels for PyTorch" },
    { command: "labels merge runs/oz", description: "join the shards of runs/oz" },
  ],
});

export type LabelsCommandResult = ({ action: "export" } & ExportLabelsResult) | ({ action: "merge" } & MergeLabelsResult);

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<LabelsCommandResult> {
  const runDir = resolve(ctx.cwd, args.runDir);
  if (args.action === "export") {
    if (args.out === undefined) throw new UsageError("labels export needs --out", "pass --out DIR, a new folder for the dataset");
    const { exportLabels } = await import("../../unlearn/whp/labels-export.js");
    const result = await exportLabels({ runDir, out: resolve(ctx.cwd, args.out), shardBytes: args.shardMb * 1024 * 1024, force: args.force, threads: ctx.globals.threads });
    return { action: "export", ...result };
  }
  if (args.out !== undefined || args.force) throw new UsageError("--out and --force are for labels export", "drop them: merge writes the run's own labels.bin");
  const { mergeLabelShards } = await import("../../unlearn/whp/labels-merge.js");
  const events = unlearnEvents(ctx);
  try {
    return { action: "merge", ...(await mergeLabelShards({ runDir, threads: ctx.globals.threads, signal: ctx.signal, onEvent: events.onEvent })) };
  } finally {
    events.close();
  }
}

export function render(r: LabelsCommandResult, out: Output): void {
  if (r.action === "merge") {
    out.print(`joined ${r.shards} shards (${r.blocks} blocks) into ${r.labels}`);
    return;
  }
  const { forget, retain } = r.manifest.splits;
  out.table(
    [
      ["forget", forget.blocks, forget.positions, forget.k, forget.shards.length],
      ...(retain ? [["retain", retain.blocks, retain.positions, retain.k, retain.shards.length]] : []),
    ],
    ["split", "blocks", "positions", "K", "shards"],
  );
  out.print(`wrote ${r.files.length} files; read them with integrations/pytorch/lethe_labels.py, train with integrations/pytorch/train.py`);
}
