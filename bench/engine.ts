/**
 * Engine benchmark: training and inference throughput of three model sizes at context 256, peak
 * memory, training GFLOP/s against a GEMM peak measured in the same run, and the same model and
 * batch in PyTorch side by side.
 *
 *   npm run bench:engine -- [--json] [--sizes S,M,L] [--steps N] [--rounds N] [--threads N] [--out bench/results/engine.json]
 *
 * Each size runs in a child process of its own so that its peak RSS is its own. The PyTorch peer needs
 * Debian's python3-torch with OpenBLAS (`apt-get install python3-torch libopenblas0-pthread`); without
 * it the torch fields are null.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Model } from "../src/engine/model.js";
import { gemmGflops, resolveThreads } from "../src/engine/native.js";
import { Trainer, nextTokenBatch } from "../src/engine/trainer.js";
import type { LlamaConfig } from "../src/gguf/llama.js";
import { machineInfo } from "../src/util/machine.js";
import { TINY_LLAMA_CONFIG, makeTinyModel } from "../test/fixtures/tiny-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const T = 256;
const B = 4;

const SIZES: Record<string, Partial<LlamaConfig>> = {
  S: { nLayer: 4, nEmbd: 256, nHead: 4, nHeadKv: 4, nFf: 704, nVocab: 4096 },
  M: { nLayer: 8, nEmbd: 512, nHead: 8, nHeadKv: 8, nFf: 1408, nVocab: 8192 },
  L: { nLayer: 12, nEmbd: 768, nHead: 12, nHeadKv: 12, nFf: 2048, nVocab: 16384 },
};

interface SizeResult {
  params: number;
  train_tok_s: number;
  infer_tok_s: number;
  train_gflops: number;
  peak_rss_mb: number;
  torch_train_tok_s: number | null;
  torch_infer_tok_s: number | null;
}

/** FLOPs per trained token: 6 per matmul weight (forward + backward) plus attention (nanoGPT's estimate). */
function trainFlopsPerToken(c: LlamaConfig): number {
  const perLayer = 4 * c.nEmbd * c.nEmbd + 3 * c.nEmbd * c.nFf;
  const matmulParams = c.nLayer * perLayer + c.nEmbd * c.nVocab;
  return 6 * matmulParams + 12 * c.nLayer * c.nEmbd * T;
}

function randomSeq(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return 258 + (s % (vocab - 258));
  });
}

async function runSize(name: string, steps: number, threads: number, workDir: string): Promise<Omit<SizeResult, "torch_train_tok_s" | "torch_infer_tok_s">> {
  const overrides = { ...SIZES[name]!, nCtx: 512, seed: 1 };
  const path = makeTinyModel(workDir, overrides);
  const config: LlamaConfig = { ...TINY_LLAMA_CONFIG, ...overrides };

  const trainer = await Trainer.load(path, { threads });
  const batch = nextTokenBatch(Array.from({ length: B }, (_, i) => randomSeq(T, config.nVocab, i + 1)));
  await trainer.step(batch, { lr: 1e-4 }); // warm-up: graph build and allocation
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(batch, { lr: 1e-4 });
  const trainTokS = (B * T * steps) / ((performance.now() - t0) / 1000);
  const params = trainer.info.nParams;
  await trainer.dispose();

  const model = await Model.load(path, { threads, contextLength: B * T, maxSequences: B });
  const seqs = Array.from({ length: B }, (_, i) => randomSeq(T, config.nVocab, 100 + i));
  await model.logits(seqs);
  t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.logits(seqs);
  const inferTokS = (B * T * steps) / ((performance.now() - t0) / 1000);
  await model.dispose();

  return {
    params,
    train_tok_s: round(trainTokS),
    infer_tok_s: round(inferTokS),
    train_gflops: round((trainTokS * trainFlopsPerToken(config)) / 1e9),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
  };
}

function torchPeer(name: string, steps: number, threads: number): { train_tok_s: number; infer_tok_s: number } | null {
  const c = SIZES[name]!;
  const cfg = { n_vocab: c.nVocab, n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_ff: c.nFf, B, T, steps, threads };
  // This machine pins OpenBLAS to Haswell kernels for old builds' sake; that slows PyTorch ~8x, so
  // the peer runs without the pin (as the environment notes advise for benchmarks).
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync("/usr/bin/python3", [join(here, "peer", "torch_llama.py"), JSON.stringify(cfg)], { encoding: "utf8", env });
  if (r.status !== 0) {
    process.stderr.write(`PyTorch peer unavailable for ${name} (install Debian's python3-torch): ${(r.stderr || r.error?.message || "").split("\n").slice(-3).join(" ")}\n`);
    return null;
  }
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { train_tok_s: number; infer_tok_s: number };
  return { train_tok_s: round(out.train_tok_s), infer_tok_s: round(out.infer_tok_s) };
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      sizes: { type: "string", default: "S,M,L" },
      steps: { type: "string", default: "4" },
      rounds: { type: "string", default: "2" },
      threads: { type: "string" },
      out: { type: "string", default: join(here, "results", "engine.json") },
      child: { type: "string" },
      dir: { type: "string" },
    },
  });
  const steps = Number(values.steps);
  const rounds = Number(values.rounds);
  const threads = resolveThreads(values.threads ? Number(values.threads) : undefined);
  if (values.child) {
    const r = await runSize(values.child, steps, threads, values.dir!);
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  const workDir = join(here, "..", ".lethe-cache", "bench");
  mkdirSync(workDir, { recursive: true });
  const log = (s: string) => process.stderr.write(s + "\n");
  const gemm = round(Math.max(gemmGflops(1024, 10, threads), gemmGflops(2048, 3, threads)));
  log(`GEMM peak (ggml fp32, ${threads} threads): ${gemm} GFLOP/s`);
  const sizes: Record<string, SizeResult> = {};
  for (const name of values.sizes!.split(",")) {
    if (!SIZES[name]) throw new Error(`unknown size ${name}; use S, M or L`);
    // Rounds alternate lethe and PyTorch so that both see the same load; each keeps its best round.
    let mine: Omit<SizeResult, "torch_train_tok_s" | "torch_infer_tok_s"> | undefined;
    let peer: { train_tok_s: number; infer_tok_s: number } | null = null;
    for (let round = 1; round <= rounds; round++) {
      log(`size ${name}, round ${round}/${rounds}: lethe…`);
      const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", name, "--dir", workDir, "--steps", String(steps), "--threads", String(threads)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      if (child.status !== 0) throw new Error(`size ${name} failed`);
      const r = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as NonNullable<typeof mine>;
      mine = !mine ? r : { ...r, train_tok_s: Math.max(mine.train_tok_s, r.train_tok_s), infer_tok_s: Math.max(mine.infer_tok_s, r.infer_tok_s), train_gflops: Math.max(mine.train_gflops, r.train_gflops), peak_rss_mb: Math.max(mine.peak_rss_mb, r.peak_rss_mb) };
      log(`size ${name}, round ${round}/${rounds}: PyTorch…`);
      const p = torchPeer(name, steps, threads);
      if (p) peer = !peer ? p : { train_tok_s: Math.max(peer.train_tok_s, p.train_tok_s), infer_tok_s: Math.max(peer.infer_tok_s, p.infer_tok_s) };
    }
    sizes[name] = { ...mine!, torch_train_tok_s: peer?.train_tok_s ?? null, torch_infer_tok_s: peer?.infer_tok_s ?? null };
    log(`size ${name}: ${JSON.stringify(sizes[name])}`);
  }
  const result = {
    machine: machineInfo(threads),
    context: T,
    batch: B,
    steps,
    rounds,
    gemm_peak_gflops: gemm,
    sizes,
    train_fraction_of_gemm_peak: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, round(v.train_gflops / gemm, 2)])),
    lethe_over_torch: Object.fromEntries(
      Object.entries(sizes).map(([k, v]) => [
        k,
        {
          train: v.torch_train_tok_s ? round(v.train_tok_s / v.torch_train_tok_s, 2) : null,
          infer: v.torch_infer_tok_s ? round(v.infer_tok_s / v.torch_infer_tok_s, 2) : null,
        },
      ]),
    ),
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out! + ".tmp", JSON.stringify(result, null, 2) + "\n");
  renameSync(values.out! + ".tmp", values.out!);
  if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
  else log(`wrote ${values.out}`);
}

await main();
