/**
 * LoRA benchmark: peak memory and seconds per 512-token training step of full fine-tuning against
 * LoRA on the shapes users run, from random-init models lethe writes (F16) and llama.cpp quantizes.
 *
 *   npx tsx bench/lora.ts [--models 1b-f16,1b-q8_0,8b-q4_k] [--rank 16] [--steps 1] [--threads 2]
 *                         [--layers N] [--work DIR] [--out bench/results/lora.json] [--prepare]
 *
 * Each (model, mode) runs in a child process of its own, so its peak RSS is its own. A step is timed
 * after one warm-up step (graph build and allocation), or with `--steps 0` the first step itself. Full fine-tuning is skipped where the dry
 * run's estimate (16 bytes per parameter plus activations) exceeds the memory free, and the file
 * says so. `--layers N` keeps only N layers of each shape (a quick check of the script, not a
 * result). The generated models are kept in --work and reused; `--prepare` only writes them. Each
 * model's entry is written into --out as soon as it is measured, keeping the others already there.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import type { FileType } from "../src/engine/file-types.js";
import { quantizeModel } from "../src/engine/quantize.js";
import { resolveThreads } from "../src/engine/native.js";
import { LORA_TARGETS, Trainer, nextTokenBatch } from "../src/engine/trainer.js";
import { llamaMetadata, llamaTensorShapes, type LlamaConfig } from "../src/gguf/llama.js";
import { GgmlType, type GgufTensorInput } from "../src/gguf/types.js";
import { writeGguf } from "../src/gguf/write.js";
import { SeededRandom } from "../src/util/random.js";
import { loraParams, modelSize, stageMemory } from "../src/unlearn/estimate.js";
import { machineInfo } from "../src/util/machine.js";
import { byteTokenizerMetadata } from "../test/fixtures/tiny-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const T = 512;

/** Llama-3.2-1B and Llama-3-8B dimensions (their config.json files). */
const SHAPES: Record<string, LlamaConfig> = {
  "1b": { nVocab: 128256, nCtx: 512, nEmbd: 2048, nLayer: 16, nHead: 32, nHeadKv: 8, nFf: 8192, ropeFreqBase: 500000, rmsEps: 1e-5, tiedEmbeddings: true, name: "llama-3.2-1b-shaped" },
  "8b": { nVocab: 128256, nCtx: 512, nEmbd: 4096, nLayer: 32, nHead: 32, nHeadKv: 8, nFf: 14336, ropeFreqBase: 500000, rmsEps: 1e-5, tiedEmbeddings: false, name: "llama-3-8b-shaped" },
};
const TYPES: Record<string, FileType> = { f16: "F16", q8_0: "Q8_0", q4_k: "Q4_K_M" };

interface Measurement {
  peak_rss_mb: number;
  s_per_step: number;
  rank?: number;
  trainable?: number;
}

const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: "1b-f16,1b-q8_0,8b-q4_k" },
    rank: { type: "string", default: "16" },
    steps: { type: "string", default: "1" },
    threads: { type: "string", default: "2" },
    layers: { type: "string" },
    work: { type: "string", default: join(here, "..", ".lethe-cache", "bench", "lora") },
    out: { type: "string", default: join(here, "results", "lora.json") },
    child: { type: "string" },
    prepare: { type: "boolean" },
  },
});
const threads = resolveThreads(Number(args.threads));
const rank = Number(args.rank);
const steps = Number(args.steps);

/**
 * An F16 model of `config` whose matrices tile one block of N(0, 0.02) values: the values do not
 * matter for time and memory, and drawing 8 billion normals in JS would take longer than the bench.
 */
function writeShapedModel(path: string, config: LlamaConfig): void {
  const block = new Float32Array(1 << 20);
  new SeededRandom(1).fillNormal(block, 0.02);
  const metadata = llamaMetadata(config, "f16");
  for (const [key, value] of byteTokenizerMetadata(config.nVocab)) metadata.set(key, value);
  const tensors: GgufTensorInput[] = llamaTensorShapes(config).map(({ name, dims }) => ({
    name,
    dims,
    type: dims.length > 1 ? GgmlType.F16 : GgmlType.F32,
    data: () => {
      const values = new Float32Array(dims.reduce((n, d) => n * d, 1));
      if (dims.length === 1) return values.fill(1);
      for (let i = 0; i < values.length; i += block.length) values.set(block.subarray(0, Math.min(block.length, values.length - i)), i);
      return values;
    },
  }));
  writeGguf(path, { metadata, tensors });
}

/** The model file of `id` (e.g. "8b-q4_k"), written and quantized once. */
async function modelFile(id: string): Promise<string> {
  const [shapeName, typeName] = id.split("-") as [string, string];
  const shape = SHAPES[shapeName];
  const type = TYPES[typeName];
  if (!shape || !type) throw new Error(`unknown model ${id}: use ${Object.keys(SHAPES).join("/")}-${Object.keys(TYPES).join("/")}`);
  const config = args.layers ? { ...shape, nLayer: Number(args.layers) } : shape;
  const tag = `${shapeName}${args.layers ? `-${args.layers}l` : ""}`;
  mkdirSync(args.work!, { recursive: true });
  const f16 = join(args.work!, `${tag}-f16.gguf`);
  if (!existsSync(f16)) {
    console.error(`writing ${f16}`);
    writeShapedModel(f16, config);
  }
  if (type === "F16") return f16;
  const out = join(args.work!, `${tag}-${typeName}.gguf`);
  if (!existsSync(out)) {
    console.error(`quantizing to ${out}`);
    await quantizeModel(f16, out, type, { threads });
  }
  return out;
}

/** One measurement, in this (child) process. */
async function measure(path: string, mode: "full" | "lora"): Promise<Measurement> {
  const trainer = await Trainer.load(path, { threads, ...(mode === "lora" ? { lora: { rank } } : {}) });
  const tokens = Array.from({ length: T }, (_, i) => 258 + ((i * 7919) % 1000));
  const batch = nextTokenBatch([tokens]);
  // --steps 0 times the first step alone, graph build and allocation included (for the 8B shape,
  // where a step takes many minutes).
  const t0 = performance.now();
  await trainer.step(batch, { lr: 1e-4 });
  const t1 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(batch, { lr: 1e-4 });
  const seconds = steps === 0 ? (t1 - t0) / 1000 : (performance.now() - t1) / 1000 / steps;
  const trainable = trainer.info.nTrainable;
  await trainer.dispose();
  return {
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    s_per_step: Math.round(seconds * 100) / 100,
    ...(mode === "lora" ? { rank, trainable } : {}),
  };
}

if (args.child) {
  const [path, mode] = args.child.split("::") as [string, "full" | "lora"];
  console.log(JSON.stringify(await measure(path, mode)));
  process.exit(0);
}

type Entry = { full?: Measurement; full_skipped?: string; lora: Measurement; file_mb: number; estimate_lora_mb: number };
const previous = !args.layers && existsSync(args.out!) ? (JSON.parse(readFileSync(args.out!, "utf8")) as { models: Record<string, Entry> }).models : {};
const results: Record<string, Entry> = { ...previous };
const write = () => {
  const report = { machine: machineInfo(threads), context: T, layers: args.layers ? Number(args.layers) : "all", models: results };
  if (args.layers) return console.log(JSON.stringify(report, null, 2));
  const tmp = `${args.out}.tmp`;
  writeFileSync(tmp, JSON.stringify(report, null, 2) + "\n");
  renameSync(tmp, args.out!);
  console.error(`wrote ${args.out}`);
};
for (const id of args.models!.split(",")) {
  const path = await modelFile(id);
  if (args.prepare) continue;
  const size = modelSize(path);
  const run = (mode: "full" | "lora"): Measurement => {
    console.error(`${id}: ${mode}`);
    const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", `${path}::${mode}`, "--rank", String(rank), "--steps", String(steps), "--threads", String(threads)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(`${id} ${mode} failed (exit ${r.status})`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Measurement;
  };
  const train = { stage: "bench", trainTokens: T, inferTokens: 0, inferenceModels: 0, trains: true };
  const fullEstimate = stageMemory(train, size, T, 1);
  const loraEstimate = stageMemory(train, size, T, 1, { rank, targets: LORA_TARGETS });
  // Against the memory free now (other jobs may hold some): a full run that does not fit is killed.
  const fits = fullEstimate < 0.9 * freemem();
  const full = fits ? run("full") : undefined;
  results[id] = {
    ...(full ? { full } : { full_skipped: `estimated ${Math.round(fullEstimate / 2 ** 20)} MiB, more than 90% of the ${Math.round(freemem() / 2 ** 20)} MiB free (of ${Math.round(totalmem() / 2 ** 20)} MiB)` }),
    lora: run("lora"),
    file_mb: Math.round(size.fileBytes / 2 ** 20),
    estimate_lora_mb: Math.round(loraEstimate / 2 ** 20),
  };
  console.error(JSON.stringify({ [id]: results[id], lora_params: loraParams(size, { rank, targets: LORA_TARGETS }) }));
  write();
}
