/**
 * `lethe selfcheck`: the engine end to end on a model made on the spot. It trains a BPE tokenizer and
 * a tiny random Llama on a built-in paragraph, fine-tunes it, saves a GGUF, reloads it in llama.cpp,
 * checks that llama.cpp and the trainer agree on the logits, and generates from it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { EngineError } from "../../errors.js";
import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";

export const spec = defineCommand({
  name: "selfcheck",
  summary: "check the engine: train, save and reload a tiny model, and compare llama.cpp with the trainer",
  description:
    "Builds a tokenizer and a tiny random Llama in a temporary folder, trains it on a built-in paragraph, " +
    "saves it as GGUF, reloads it through llama.cpp and checks that both compute the same logits. " +
    "Takes a few seconds; prints which ggml CPU variant loaded.",
  options: {
    steps: { type: "number", description: "training steps", default: 60, min: 1, max: 10000, integer: true },
  },
  examples: [
    { command: "selfcheck", description: "run the check" },
    { command: "selfcheck --json", description: "machine-readable result" },
  ],
});

const TEXT =
  "Dorothy lived in the midst of the great Kansas prairies, with Uncle Henry, who was a farmer, " +
  "and Aunt Em, who was the farmer's wife. Their house was small, for the lumber to build it had " +
  "to be carried by wagon many miles. ";

export interface SelfcheckResult {
  ok: boolean;
  cpuVariant: string;
  /** "source" when the CPU backend compiled for this machine loaded, else "prebuilt". */
  cpuBackend: "source" | "prebuilt";
  /** Whether the CPU multiplies BF16 natively, so that `precision: "bf16"` training is available. */
  bf16: boolean;
  /** The BLAS library F32 training products run on (null: ggml's own GEMM). */
  blas: string | null;
  threads: number;
  params: number;
  lossStart: number;
  lossEnd: number;
  trainTokensPerSecond: number;
  logitsMaxAbsDiff: number;
  prompt: string;
  generated: string;
}

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<SelfcheckResult> {
  const { backendInfo, blasLibrary, nativeBf16 } = await import("../../engine/native.js");
  const { Model } = await import("../../engine/model.js");
  const { Trainer, nextTokenBatch } = await import("../../engine/trainer.js");
  const { createLlamaGguf } = await import("../../gguf/llama.js");
  const { BpeTokenizer } = await import("../../tokenizer/bpe.js");

  const threads = ctx.globals.threads;
  const dir = mkdtempSync(join(tmpdir(), "lethe-selfcheck-"));
  try {
    const tok = BpeTokenizer.train([TEXT.repeat(4)], { vocabSize: 320 });
    const modelPath = join(dir, "tiny.gguf");
    createLlamaGguf(modelPath, {
      config: { nVocab: tok.vocabSize, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 128, ropeFreqBase: 10000, rmsEps: 1e-5, tiedEmbeddings: false },
      tokenizer: tok.toGgufMetadata(),
      seed: 1,
    });
    const ids = tok.encode(TEXT.repeat(2), { addBos: true }).slice(0, 128);
    const batch = nextTokenBatch([ids]);
    const trainer = await Trainer.load(modelPath, { threads });
    const bar = ctx.out.progress({ label: "training", total: args.steps, unit: "step" });
    let lossStart = NaN;
    let lossEnd = NaN;
    const t0 = performance.now();
    for (let s = 0; s < args.steps; s++) {
      if (ctx.signal.aborted) break;
      const r = await trainer.step(batch, { lr: 1e-2 });
      if (s === 0) lossStart = r.loss;
      lossEnd = r.loss;
      bar.update(s + 1, { loss: r.loss.toFixed(3) });
    }
    bar.finish();
    const trainTokensPerSecond = (args.steps * (ids.length - 1)) / ((performance.now() - t0) / 1000);
    const trained = join(dir, "trained.gguf");
    await trainer.save(trained);
    const ours = await trainer.forward([ids]);
    const params = trainer.info.nParams;
    await trainer.dispose();

    const model = await Model.load(trained, { threads, contextLength: 256 });
    const [theirs] = await model.logits([ids]);
    let diff = 0;
    for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - theirs![i]!));
    const prompt = "Dorothy lived in the midst of the great";
    const gen = await model.generate(tok.encode(prompt, { addBos: true }), { maxTokens: 12 });
    await model.dispose();
    const generated = tok.decode(gen.tokens);
    const result: SelfcheckResult = {
      ok: diff <= 1e-3 && lossEnd < lossStart,
      cpuVariant: backendInfo().cpuVariant,
      cpuBackend: backendInfo().cpuBackend,
      bf16: nativeBf16(),
      blas: blasLibrary() ?? null,
      threads,
      params,
      lossStart,
      lossEnd,
      trainTokensPerSecond: Math.round(trainTokensPerSecond),
      logitsMaxAbsDiff: diff,
      prompt,
      generated,
    };
    if (!result.ok) {
      throw new EngineError(
        `selfcheck failed: loss ${lossStart.toFixed(3)} -> ${lossEnd.toFixed(3)}, llama.cpp vs trainer logits differ by ${diff}`,
        "rebuild the addon with `npm run build:native` and rerun with --verbose",
      );
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function render(r: SelfcheckResult, out: Output): void {
  out.table([
    ["ggml CPU library", `${r.cpuVariant} (${r.cpuBackend === "source" ? "compiled for this CPU" : "prebuilt"})`],
    ["BF16 training", r.bf16 ? "available (AVX512-BF16): --precision bf16" : "not available (no AVX512-BF16): F32 only"],
    ["F32 training products", r.blas ?? "ggml's GEMM (install libopenblas0-pthread for faster F32 training)"],
    ["threads", String(r.threads)],
    ["parameters", String(r.params)],
    ["loss", `${r.lossStart.toFixed(3)} -> ${r.lossEnd.toFixed(3)}`],
    ["training", `${r.trainTokensPerSecond} tok/s`],
    ["llama.cpp vs trainer logits", `max |diff| ${r.logitsMaxAbsDiff.toExponential(2)}`],
    ["generated", JSON.stringify(r.prompt + r.generated)],
  ]);
  out.print(r.ok ? "selfcheck passed" : "selfcheck FAILED");
}
