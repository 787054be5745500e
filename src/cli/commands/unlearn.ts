/** `lethe unlearn`: make a model forget a corpus (WHP by default), as a resumable run. */
import { resolve } from "node:path";
import { FILE_TYPE_NAMES } from "../../engine/file-types.js";
import { PRECISIONS } from "../../engine/trainer.js";
import { METHOD_NAMES } from "../../unlearn/config.js";
import { defineCommand, UsageError, type ParsedArgs } from "../args.js";
import { describeStageEvent } from "../../run/stages.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { Progress } from "../progress.js";
import type { UnlearnOptions, UnlearnPlan, UnlearnResult } from "../../unlearn/index.js";

export const spec = defineCommand({
  name: "unlearn",
  summary: "make a model forget a corpus (Who's Harry Potter, or a baseline method)",
  description:
    "Runs resumable stages in a run directory: reinforce (fine-tune on the forget corpus), anchors (a dictionary of " +
    "idiosyncratic terms and generic translations: --dictionary, --llm, or automatic), labels (generic predictions per " +
    "block) and finetune (train on them). Finished stages are skipped; a changed setting reruns its stage and the later " +
    "ones; after an interruption, rerun the same command. --dry-run prints the plan with time and memory estimates. " +
    "Settings come from --config (JSON, e.g. {\"labels\": {\"alpha\": 5}, \"finetune\": {\"steps\": 150}}).",
  options: {
    model: { type: "string", alias: "m", required: true, placeholder: "FILE", description: "the base model (.gguf)" },
    forget: { type: "string[]", required: true, placeholder: "PATH", description: "text files or directories to forget" },
    retain: { type: "string[]", placeholder: "PATH", description: "text to keep (reference for anchors; gradient-difference data)" },
    out: { type: "string", alias: "o", placeholder: "FILE", description: "where to write the unlearned model (.gguf)" },
    config: { type: "string", placeholder: "FILE", description: "JSON settings over the defaults" },
    runDir: { type: "string", placeholder: "DIR", defaultLabel: "<out>.run", description: "folder for resumable state" },
    method: { type: "string", choices: METHOD_NAMES, default: "whp", description: "unlearning method" },
    reinforced: { type: "string", placeholder: "FILE", description: "use this reinforced model instead of training one" },
    dictionary: { type: "string", placeholder: "FILE", description: "anchored terms, .json or .csv (merged with the other sources)" },
    llm: { type: "string", placeholder: "URL", description: "OpenAI-compatible endpoint that proposes anchored terms" },
    llmModel: { type: "string", placeholder: "NAME", description: "model name at --llm" },
    llmKeyEnv: { type: "string", placeholder: "VAR", description: "environment variable holding the --llm API key" },
    lora: { type: "number", integer: true, min: 1, max: 4096, placeholder: "RANK", description: "train a LoRA adapter of this rank instead of the weights (the base stays frozen in its type); --out gets the adapter" },
    outType: { type: "string", choices: FILE_TYPE_NAMES, placeholder: "TYPE", description: "write the model in this type (llama.cpp's quantizer), e.g. Q4_K_M; default the base's" },
    merge: { type: "boolean", description: "with --lora: write the base with the adapter merged in, in the base's types, instead of the adapter" },
    precision: {
      type: "string",
      choices: PRECISIONS,
      placeholder: "P",
      description: "training's matrix products: f32, bf16 (mixed precision: F32 weights and optimizer), or auto (bf16 where the CPU has AVX512-BF16); default the config's",
    },
    dryRun: { type: "boolean", description: "print the plan with time and memory estimates, run nothing" },
    force: { type: "boolean", description: "reuse a run directory made for another method or command" },
    stage: { type: "string", placeholder: "NAME", description: "stop after this stage (e.g. labels, to export the labels); the model is written only by a run that reaches the end" },
    shard: {
      type: "string",
      placeholder: "I/N",
      description: "with --stage labels: compute worker I's share (0-based) of N, reading the run directory without locking it; then `lethe labels merge RUN_DIR`",
    },
  },
  examples: [
    { command: "unlearn --model base.gguf --forget ../shared/data/forget/oz --retain ../shared/data/retain --out unlearned.gguf", description: "WHP with automatic anchors" },
    { command: "unlearn --model base.gguf --forget oz/ --out u.gguf --dictionary oz-terms.csv --dry-run", description: "the plan only" },
    { command: "unlearn --model base.gguf --forget oz/ --retain retain/ --method npo --out npo.gguf", description: "a baseline" },
    { command: "unlearn --model llama-q4_k_m.gguf --forget oz/ --retain retain/ --lora 16 --out oz-forgot.lora.gguf", description: "a LoRA adapter for llama.cpp / Ollama on a quantized base" },
    { command: "unlearn --model base.gguf --forget oz/ --run-dir r --stage anchors", description: "reinforce and anchors once, before label shards" },
    { command: "unlearn --model base.gguf --forget oz/ --run-dir r --stage labels --shard 2/8", description: "the third of eight label workers" },
  ],
});

export type UnlearnCommandResult = ({ dryRun: true } & UnlearnPlan) | ({ dryRun: false } & UnlearnResult);

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<UnlearnCommandResult> {
  const { unlearn, planUnlearn } = await import("../../unlearn/index.js");
  const path = (p: string) => resolve(ctx.cwd, p);
  if ((args.llm === undefined) !== (args.llmModel === undefined)) {
    throw new UsageError("--llm and --llm-model go together", "pass both the endpoint URL and the model name, or neither");
  }
  if (args.merge && args.lora === undefined) throw new UsageError("--merge needs --lora", "pass --lora RANK, or leave --merge out");
  const flags = {
    ...(args.lora === undefined ? {} : { lora: { rank: args.lora, ...(args.merge ? { merge: true } : {}) } }),
    ...(args.precision === undefined ? {} : { precision: args.precision }),
  };
  const shard = args.shard === undefined ? undefined : parseShard(args.shard);
  if (shard !== undefined && args.stage !== "labels") throw new UsageError("--shard computes a share of the labels stage", "add --stage labels");
  const options = {
    config: flags,
    model: path(args.model),
    forget: args.forget.map(path),
    retain: args.retain.map(path),
    out: args.out === undefined ? undefined : path(args.out),
    runDir: args.runDir === undefined ? undefined : path(args.runDir),
    configFile: args.config === undefined ? undefined : path(args.config),
    method: args.method,
    reinforced: args.reinforced === undefined ? undefined : path(args.reinforced),
    outType: args.outType,
    dictionary: args.dictionary === undefined ? undefined : path(args.dictionary),
    llm: args.llm === undefined ? undefined : { baseUrl: args.llm, model: args.llmModel!, apiKeyEnv: args.llmKeyEnv },
    threads: ctx.globals.threads,
    force: args.force,
    stage: args.stage,
    shard,
    signal: ctx.signal,
  };
  if (args.dryRun) {
    const plan = await planUnlearn({ ...options, onEvent: (e) => void (e.type === "warn" && ctx.out.warn(e.message)) });
    return { dryRun: true, ...plan };
  }

  const events = unlearnEvents(ctx);
  try {
    const result = await unlearn({ ...options, onEvent: events.onEvent });
    return { dryRun: false, ...result };
  } finally {
    events.close();
  }
}

/** "I/N" as a shard. */
function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) {
    throw new UsageError(`--shard ${text} is not a shard: it takes I/N with 0 ≤ I < N`, "pass e.g. --shard 0/4 to the first of four workers");
  }
  return { index, count };
}

/** Progress bars and messages for an unlearning run's events (shared with `lethe labels merge`). */
export function unlearnEvents(ctx: CommandContext): { onEvent: NonNullable<UnlearnOptions["onEvent"]>; close(): void } {
  let bar: Progress | undefined;
  let barKey = "";
  const open = (key: string, make: () => Progress) => {
    if (barKey !== key) {
      bar?.finish();
      bar = make();
      barKey = key;
    }
    return bar!;
  };
  const close = () => {
    bar?.finish();
    bar = undefined;
    barKey = "";
  };
  return {
    close,
    onEvent(e) {
      switch (e.type) {
        case "stage":
          close();
          if (e.event.type === "fail") return; // the error itself is printed by the framework
          ctx.out.info(describeStageEvent(e.event));
          return;
        case "train": {
          const p = e.progress;
          const b = open(`train:${p.stage}`, () =>
            ctx.out.progress({ label: p.stage, total: p.steps * p.tokensPerStep, start: (p.step - 1) * p.tokensPerStep, unit: "tok" }),
          );
          if (p.resumedFrom !== undefined) ctx.out.info(`${p.stage}: resumed at step ${p.resumedFrom} of ${p.steps}`);
          b.update(p.step * p.tokensPerStep, { step: `${p.step}/${p.steps}`, loss: p.loss });
          return;
        }
        case "work":
          open(`work:${e.stage}:${e.label}`, () => ctx.out.progress({ label: e.label, total: e.total, unit: e.unit })).update(e.done);
          return;
        case "info":
          ctx.out.info(e.message);
          return;
        case "warn":
          ctx.out.warn(e.message);
          return;
      }
    },
  };
}

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function bytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}

export function render(r: UnlearnCommandResult, out: Output): void {
  if (r.dryRun) {
    out.print(`plan: --method ${r.method} (${r.summary})`);
    out.table([
      ["model", `${(r.nParams / 1e6).toFixed(2)}M parameters, blocks of ${r.blockTokens} tokens`],
      ["corpora", `forget ${r.forgetTokens} tokens, retain ${r.retainTokens} tokens`],
      ["speed", `${r.speeds.measured ? "measured" : "rule of thumb"}: inference ${r.speeds.inferTokPerS.toFixed(0)} tok/s, training ${r.speeds.trainTokPerS.toFixed(0)} tok/s`],
      ["run dir", r.runDir],
      ...(r.out ? [["out", r.out]] : []),
    ]);
    out.table(
      r.stages.map((s) => [s.name, s.trainTokens, s.inferTokens, duration(s.seconds), bytes(s.memoryBytes)]),
      ["stage", "train tok", "infer tok", "time", "memory"],
    );
    out.print(`total about ${duration(r.totalSeconds)}; peak memory ${bytes(r.peakMemoryBytes)} of ${bytes(r.memoryBudgetBytes)} available`);
    return;
  }
  out.print(r.cached ? `everything was up to date in ${r.runDir}` : `done: --method ${r.method} in ${r.runDir}`);
  const rows: unknown[][] = r.stages.map((s) => [s.name, s.ran ? `ran in ${duration(s.wallS)}` : "up to date", summarise(s.stats)]);
  out.table(rows, ["stage", "status", "stats"]);
  const anchors = r.stages.find((s) => s.name === "anchors");
  const top = anchors?.stats.top;
  if (Array.isArray(top) && top.length > 0) out.print(`dictionary (${r.dictionary}, edit and rerun to change the labels):\n  ${top.join("\n  ")}`);
  if (r.out) out.print(r.adapterFor ? `wrote ${r.out} (a LoRA adapter for ${r.adapterFor}: llama.cpp --lora, Ollama ADAPTER)` : `wrote ${r.out}`);
  if (r.descriptor) out.print(`wrote ${r.descriptor} (score it with WhpLogitsModel; no model is written)`);
}

function summarise(stats: Record<string, unknown>): string {
  const keys = ["steps", "finalLoss", "entries", "absentTerms", "blocks", "changedShare", "npoMeanWeight", "npoLoss", "meanAbsDelta", "alpha"];
  return keys
    .filter((k) => typeof stats[k] === "number")
    .map((k) => `${k}=${Number((stats[k] as number).toPrecision(4))}`)
    .join(" ");
}
