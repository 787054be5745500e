/** `lethe pretrain`: train a small Llama testbed model from random init on a text corpus. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { Progress } from "../progress.js";
import type { PretrainEvent, PretrainPreset, PretrainResult } from "../../testbed/pretrain/index.js";

export const spec = defineCommand({
  name: "pretrain",
  summary: "pretrain a small Llama model from scratch on a text corpus",
  description:
    "Trains lethe's BPE tokenizer on the corpus (or uses --tokenizer), packs the documents into blocks, holds a few " +
    "percent out for an eval loss, and trains a Llama model with AdamW, warmup and cosine decay. Sizes: tiny " +
    "(4 layers x 256, vocab 4k, a few minutes) and small (6 layers x 384, vocab 8k, under an hour on 2 cores); " +
    'a JSON config file gives anything else: {"base": "tiny", "nLayer": 2, "nEmbd": 128, ...}. ' +
    "The run directory keeps checkpoints: rerun the same command after an interruption to continue; " +
    "rerunning a finished run does nothing. The model appears at --out only once complete.",
  options: {
    corpus: { type: "string[]", required: true, placeholder: "PATH", description: "text files or directories of .txt/.md files" },
    size: { type: "string", default: "tiny", placeholder: "tiny|small|FILE", description: "model size, or a JSON config file" },
    out: { type: "string", alias: "o", required: true, placeholder: "FILE", description: "where to write the model (.gguf)" },
    runDir: { type: "string", placeholder: "DIR", defaultLabel: "<out>.run", description: "folder for resumable state" },
    tokenizer: { type: "string", placeholder: "FILE", description: "use this tokenizer (tokenizer.json of a run, or a .gguf model) instead of training one" },
    vocab: { type: "number", integer: true, description: "tokenizer vocabulary size", defaultLabel: "the size's" },
    steps: { type: "number", integer: true, min: 1, description: "optimizer steps", defaultLabel: "the size's" },
    batchSize: { type: "number", integer: true, min: 1, placeholder: "N", description: "blocks per step", defaultLabel: "the size's" },
    context: { type: "number", integer: true, min: 2, description: "tokens per block and model context", defaultLabel: "the size's" },
    lr: { type: "number", min: 0, description: "peak learning rate", defaultLabel: "the size's" },
    evalEvery: { type: "number", integer: true, min: 1, description: "held-out loss every N steps", defaultLabel: "the size's" },
    checkpointEvery: { type: "number", integer: true, min: 1, description: "checkpoint every N steps", defaultLabel: "the size's" },
    seed: { type: "number", integer: true, min: 0, max: 2 ** 32 - 1, default: 1, description: "seed of the init, the split and the data order" },
    force: { type: "boolean", description: "use a --run-dir made by another command or holding other files" },
  },
  examples: [
    { command: "pretrain --corpus ../shared/data/retain --size tiny --out retain-tiny.gguf", description: "a tiny model in a few minutes" },
    {
      command: "pretrain --corpus ../shared/data/retain --corpus ../shared/data/forget/oz --size small --out gold.gguf",
      description: "the Oz testbed's gold model",
    },
    {
      command: "pretrain --corpus ../shared/data/retain --size small --tokenizer gold.gguf.run/tokenizer.json --out base.gguf",
      description: "a base model sharing the gold model's tokenizer",
    },
  ],
});

/** The result of `lethe pretrain`: PretrainResult without the per-step history (see historyFile). */
export type PretrainCommandResult = Omit<PretrainResult, "history"> & { historyFile: string };

/** Shows the run: stage lines, a bar per long stage, eval losses. */
export function reporter(out: Output): { onEvent(e: PretrainEvent): void; finish(): void } {
  let bar: Progress | undefined;
  let barKind: PretrainEvent["type"] | undefined;
  let tokensDone = 0;
  let explained = false;
  const open = (kind: PretrainEvent["type"], make: () => Progress) => {
    if (barKind !== kind) {
      bar?.finish();
      bar = make();
      barKind = kind;
    }
    return bar!;
  };
  const finish = () => {
    bar?.finish();
    bar = undefined;
    barKind = undefined;
  };
  return {
    finish,
    onEvent(e) {
      switch (e.type) {
        case "stage":
          if (e.status === "done") {
            finish();
          } else if (e.status === "skip") {
            out.debug(`${e.stage}: up to date`);
          } else {
            // Why work is redone (a changed setting, an interrupted attempt) is worth seeing; a first
            // run is not, nor are the later stages that only follow the first one.
            if (!explained && e.reason !== "not run yet") out.info(`${e.stage}: running because ${e.reason}`);
            else out.debug(`${e.stage}: running because ${e.reason}`);
            explained = true;
          }
          return;
        case "tokenizer":
          open("tokenizer", () => out.progress({ label: "tokenizer", total: e.total, unit: "tok" })).update(e.done);
          return;
        case "tokenize":
          open("tokenize", () => out.progress({ label: "tokenizing", total: e.total, unit: "doc" })).update(e.done);
          return;
        case "train-start":
          finish();
          out.info(`${e.step > 0 ? `resuming at step ${e.step} of ${e.steps}` : `training ${e.steps} steps`}: ${(e.nParams / 1e6).toFixed(2)}M parameters, ${e.tokensPerStep} tokens per step`);
          bar = out.progress({ label: "pretrain", total: e.steps * e.tokensPerStep, start: e.step * e.tokensPerStep, unit: "tok" });
          barKind = "step";
          return;
        case "step":
          tokensDone = e.tokens;
          bar?.update(tokensDone, { step: `${e.step}/${e.steps}`, loss: e.loss });
          return;
        case "eval":
          bar?.update(tokensDone, { eval: e.loss });
          out.debug(`step ${e.step}: held-out loss ${e.loss.toFixed(4)}`);
          return;
        case "checkpoint":
          out.debug(`checkpoint at step ${e.step}: ${e.dir}`);
          return;
      }
    },
  };
}

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<PretrainCommandResult> {
  const { pretrain } = await import("../../testbed/pretrain/index.js");
  const path = (p: string) => resolve(ctx.cwd, p);
  const overrides: Partial<PretrainPreset> = {};
  for (const key of ["vocab", "steps", "batchSize", "context", "lr", "evalEvery", "checkpointEvery"] as const) {
    if (args[key] !== undefined) overrides[key] = args[key];
  }
  // A config file is found relative to the working directory; anything else (tiny, small, a typo)
  // goes as typed, so an error quotes what the user wrote.
  const isFile = args.size !== "tiny" && args.size !== "small" && existsSync(path(args.size));
  const size = isFile ? path(args.size) : args.size;
  const report = reporter(ctx.out);
  try {
    const { history: _history, ...result } = await pretrain({
      corpus: args.corpus.map(path),
      out: path(args.out),
      size,
      overrides,
      runDir: args.runDir === undefined ? undefined : path(args.runDir),
      tokenizer: args.tokenizer === undefined ? undefined : path(args.tokenizer),
      seed: args.seed,
      threads: ctx.globals.threads,
      force: args.force,
      signal: ctx.signal,
      onEvent: report.onEvent,
    });
    return { ...result, historyFile: resolve(result.runDir, "history.json") };
  } finally {
    report.finish();
  }
}

export function render(r: PretrainCommandResult, out: Output): void {
  const c = r.config;
  out.print(r.cached ? `${r.model} is up to date (nothing to do)` : `wrote ${r.model}`);
  out.table([
    ["model", `${c.nLayer} layers x ${c.nEmbd}, ${c.nHead} heads, vocab ${c.nVocab}, context ${c.nCtx}, ${(r.nParams / 1e6).toFixed(2)}M parameters`],
    ["data", `${r.documents} documents, ${r.corpusTokens} tokens (${r.trainTokens} train, ${r.evalTokens} held out)`],
    ["training", `${r.steps} steps x ${r.tokensPerStep} tokens, seed ${r.seed}, ${(r.trainS / 60).toFixed(1)} min`],
    ["loss", `train ${r.finalLoss.toFixed(3)}, held-out ${r.finalEvalLoss.toFixed(3)}`],
    ["run dir", r.runDir],
    ["tokenizer", r.tokenizer],
  ]);
}
