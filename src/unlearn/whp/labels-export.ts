/**
 * `lethe labels export`: the labels of a WHP run as a dataset that PyTorch reads without lethe
 * (safetensors shards and a JSON manifest; docs/labels-export.md has the layout and the loss). With
 * it, a distributed trainer elsewhere fine-tunes the base model as lethe's `finetune` stage would.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Model } from "../../engine/model.js";
import { ADAMW_DEFAULTS } from "../../engine/trainer.js";
import { InputError } from "../../errors.js";
import { writeSafetensors, type SafetensorsTensor } from "../../export/safetensors.js";
import { readGguf } from "../../gguf/read.js";
import { batchIndices, loadCorpus } from "../../corpus/blocks.js";
import { MANIFEST_FILE, parseManifest, type StageRecord } from "../../run/manifest.js";
import { readPackageJson } from "../../util/package-root.js";
import type { UnlearnConfig } from "../config.js";
import { LABEL_STATS_FILE, LABELS_FILE } from "../method.js";
import { readCompleteRunInfo } from "../run-info.js";
import { RETAIN_TARGETS_FILE, retainBlocks, retainBlocksUsed } from "../stages/retain-targets.js";
import { decodeBlocks, type LabelledBlock } from "./labels-file.js";
import { pairsPerPosition } from "./labels.js";

export const EXPORT_FORMAT = "lethe-whp-labels";
export const EXPORT_VERSION = 1;
export const EXPORT_MANIFEST = "manifest.json";
/** Per-step block indices of the fine-tune, for a trainer that follows lethe's order. */
export const EXPORT_SCHEDULE = "schedule.json";
/** Default shard size: large enough that a corpus of books is one or two files. */
export const DEFAULT_SHARD_BYTES = 256 * 1024 * 1024;

export interface ExportLabelsOptions {
  /** The unlearning run directory (holding manifest.json, unlearn.json and labels.bin). */
  runDir: string;
  /** The folder to write; refused when it exists and is not empty, unless `force`. */
  out: string;
  /** Upper bound on one shard's size in bytes (a block never spans two shards). */
  shardBytes?: number;
  /** Replace an existing export in `out`. */
  force?: boolean;
  threads?: number;
}

export interface ExportedShard {
  file: string;
  blocks: number;
  positions: number;
  sha256: string;
}

export interface ExportedSplit {
  k: number;
  blocks: number;
  /** Blocks the run cut from this corpus (block_index counts over these); more than `blocks` where only visited ones are exported. */
  run_blocks: number;
  positions: number;
  shards: ExportedShard[];
}

export interface LabelsExportManifest {
  format: typeof EXPORT_FORMAT;
  version: number;
  created: string;
  lethe: string;
  tokenizer: { sha256: string; n_vocab: number; bos_id: number; eos_id: number; add_bos: boolean };
  models: Record<string, { file: string; fingerprint: string }>;
  config: { labels: UnlearnConfig["labels"]; finetune: UnlearnConfig["finetune"]; seed: number; blockTokens: number };
  finetune: {
    steps: number;
    lr: number;
    batch_size: number;
    warmup_steps: number;
    weight_decay: number;
    clip: number;
    beta1: number;
    beta2: number;
    eps: number;
    retain_weight: number;
    retain_loss: "nll" | "kl";
    train_embeddings: boolean;
    seed: number;
  };
  stats: Record<string, unknown>;
  splits: { forget: ExportedSplit; retain?: ExportedSplit };
  schedule: string;
}

export interface ExportLabelsResult {
  manifest: LabelsExportManifest;
  /** Every file written, absolute. */
  files: string[];
}

/** One labelled sequence with its index in the run's own order. */
interface IndexedBlock extends LabelledBlock {
  index: number;
}

/** Writes the export; see the module comment. */
export async function exportLabels(options: ExportLabelsOptions): Promise<ExportLabelsResult> {
  const runDir = resolve(options.runDir);
  const out = resolve(options.out);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(Number.isFinite(shardBytes) && shardBytes > 0)) throw new InputError(`the shard size must be a positive number of bytes, got ${shardBytes}`, "pass e.g. --shard-mb 256");
  const labelsRecord = doneRecord(runDir, "labels");
  const info = readCompleteRunInfo(runDir);
  const labelsPath = join(runDir, LABELS_FILE);
  const forget = decodeBlocks(readFileSync(labelsPath), labelsPath).map((b, index) => ({ ...b, index }));
  if (forget.length === 0) throw new InputError(`${labelsPath} holds no blocks`, "rerun the labels stage on a non-empty forget corpus");
  const { config } = info;
  const settings = config.finetune;
  const retain = await retainSplit(runDir, info, options.threads);

  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const splits: LabelsExportManifest["splits"] = { forget: writeSplit(staging, "forget", forget, forget.length, shardBytes) };
    if (retain !== undefined) splits.retain = writeSplit(staging, "retain", retain.blocks, retain.total, shardBytes);
    const schedule = {
      forget: steps(settings.steps, (step) => batchIndices(forget.length, settings.batchSize, step, config.seed)),
      ...(retain !== undefined ? { retain: steps(settings.steps, (step) => batchIndices(retain.total, settings.batchSize, step, config.seed + 1)) } : {}),
    };
    writeFileSync(join(staging, EXPORT_SCHEDULE), JSON.stringify(schedule) + "\n");
    const manifest: LabelsExportManifest = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      created: new Date().toISOString(),
      lethe: readPackageJson().version,
      tokenizer: tokenizerFacts(info.model),
      models: Object.fromEntries(
        Object.entries(labelsRecord.inputHashes)
          .filter(([role]) => role === "model" || role === "reinforced")
          .map(([role, fingerprint]) => [role === "model" ? "base" : role, { file: basename(role === "model" ? info.model : (info.reinforced ?? "reinforced.gguf")), fingerprint }]),
      ),
      config: { labels: config.labels, finetune: settings, seed: config.seed, blockTokens: info.blockTokens },
      finetune: {
        steps: settings.steps,
        lr: settings.lr,
        batch_size: settings.batchSize,
        warmup_steps: settings.warmupSteps,
        weight_decay: settings.weightDecay,
        clip: settings.clip,
        beta1: ADAMW_DEFAULTS.beta1,
        beta2: ADAMW_DEFAULTS.beta2,
        eps: ADAMW_DEFAULTS.eps,
        retain_weight: retain !== undefined ? settings.retainWeight : 0,
        retain_loss: settings.retainLoss,
        train_embeddings: settings.trainEmbeddings,
        seed: config.seed,
      },
      stats: readStats(runDir),
      splits,
      schedule: EXPORT_SCHEDULE,
    };
    writeFileSync(join(staging, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    replaceFolder(staging, out, options.force ?? false);
    const files = [EXPORT_MANIFEST, EXPORT_SCHEDULE, ...Object.values(splits).flatMap((s) => s.shards.map((sh) => sh.file))].map((f) => join(out, f));
    return { manifest, files };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The `done` record of a stage, or an error saying what to run. */
function doneRecord(runDir: string, stage: string): StageRecord {
  const path = join(runDir, MANIFEST_FILE);
  if (!existsSync(path)) throw new InputError(`${runDir} has no ${MANIFEST_FILE}: it is not a run directory`, "pass the --run-dir of a `lethe unlearn` run");
  const record = parseManifest(readFileSync(path, "utf8"), path).stages.find((s) => s.name === stage);
  if (record?.status !== "done") {
    throw new InputError(`the ${stage} stage of ${runDir} has not finished`, `run \`lethe unlearn ... --run-dir ${runDir} --stage ${stage}\` first`);
  }
  return record;
}

function steps(count: number, of: (step: number) => number[]): number[][] {
  return Array.from({ length: count }, (_, step) => of(step));
}

/**
 * The retain blocks the fine-tune mixes in, when it does: next-token targets, or under
 * `retainLoss: "kl"` the base model's distribution from the retain-targets stage. Only the blocks
 * the fine-tune visits are exported, each with its index among all retain blocks (`total`).
 */
async function retainSplit(runDir: string, info: ReturnType<typeof readCompleteRunInfo>, threads?: number): Promise<{ blocks: IndexedBlock[]; total: number } | undefined> {
  const { config } = info;
  if (config.finetune.retainWeight <= 0 || info.retain.length === 0) return undefined;
  const model = await Model.load(info.model, { threads: threads ?? 1, contextLength: 256, maxSequences: 1 });
  let all: number[][];
  try {
    all = retainBlocks({ retain: loadCorpus(info.retain, "retain"), tokenizer: model, blockTokens: info.blockTokens });
  } finally {
    await model.dispose();
  }
  const indices = retainBlocksUsed({ config }, all.length);
  if (config.finetune.retainLoss === "kl") {
    doneRecord(runDir, "retain-targets");
    const path = join(runDir, RETAIN_TARGETS_FILE);
    const targets = decodeBlocks(readFileSync(path), path);
    if (targets.length !== indices.length) throw new InputError(`${path} holds ${targets.length} blocks, the fine-tune visits ${indices.length}`, `rerun the retain-targets stage`);
    return { blocks: targets.map((b, k) => ({ ...b, index: indices[k]! })), total: all.length };
  }
  const blocks = indices.map((index) => {
    const tokens = Int32Array.from(all[index]!);
    const target = new Int32Array(tokens.length).fill(-1);
    const weight = new Float32Array(tokens.length);
    for (let t = 0; t + 1 < tokens.length; t++) {
      target[t] = tokens[t + 1]!;
      weight[t] = 1;
    }
    return { tokens, labels: { target, weight }, index };
  });
  return { blocks, total: all.length };
}

/** Writes one split's shards; a shard closes before the block that would take it past `shardBytes`. */
function writeSplit(dir: string, name: string, blocks: readonly IndexedBlock[], runBlocks: number, shardBytes: number): ExportedSplit {
  const k = pairsPerPosition(blocks[0]!.labels);
  const groups: IndexedBlock[][] = [[]];
  let bytes = 0;
  for (const block of blocks) {
    if (pairsPerPosition(block.labels) !== k) throw new InputError(`the ${name} blocks mix ${k} and ${pairsPerPosition(block.labels)} pairs per position`, "rerun the labels stage");
    const size = block.tokens.length * (4 + 8 * k) + 16;
    if (groups.at(-1)!.length > 0 && bytes + size > shardBytes) {
      groups.push([]);
      bytes = 0;
    }
    groups.at(-1)!.push(block);
    bytes += size;
  }
  const shards = groups.map((group, s) => {
    const file = `${name}-${String(s).padStart(5, "0")}-of-${String(groups.length).padStart(5, "0")}.safetensors`;
    const path = join(dir, file);
    writeSafetensors(path, shardTensors(group, k), { format: EXPORT_FORMAT, split: name });
    const positions = group.reduce((n, b) => n + b.tokens.length, 0);
    return { file, blocks: group.length, positions, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  });
  return { k, blocks: blocks.length, run_blocks: runBlocks, positions: shards.reduce((n, s) => n + s.positions, 0), shards };
}

/** The tensors of one shard (docs/labels-export.md). */
export function shardTensors(blocks: readonly IndexedBlock[], k: number): SafetensorsTensor[] {
  const n = blocks.reduce((a, b) => a + b.tokens.length, 0);
  const inputIds = new Int32Array(n);
  const offsets = new BigInt64Array(blocks.length + 1);
  const index = new BigInt64Array(blocks.length);
  const targets = new Int32Array(n * k).fill(-1);
  const weights = new Float32Array(n * k);
  let at = 0;
  blocks.forEach((block, b) => {
    offsets[b] = BigInt(at);
    index[b] = BigInt(block.index);
    inputIds.set(block.tokens, at);
    for (let j = 0; j < block.tokens.length * k; j++) {
      const w = block.labels.weight[j]!;
      const t = block.labels.target[j]!;
      // A masked pair is (−1, 0) whatever the labels file held there.
      if (w !== 0 && t >= 0) {
        targets[at * k + j] = t;
        weights[at * k + j] = w;
      }
    }
    at += block.tokens.length;
  });
  offsets[blocks.length] = BigInt(at);
  return [
    { name: "input_ids", dtype: "I32", shape: [n], data: inputIds },
    { name: "block_offsets", dtype: "I64", shape: [blocks.length + 1], data: offsets },
    { name: "block_index", dtype: "I64", shape: [blocks.length], data: index },
    { name: "target_ids", dtype: "I32", shape: [n, k], data: targets },
    { name: "target_weights", dtype: "F32", shape: [n, k], data: weights },
  ];
}

/**
 * The tokenizer's identity: SHA-256 over the GGUF's `tokenizer.ggml.*` metadata, so two models with
 * the same hash tokenize alike.
 */
export function tokenizerFacts(modelPath: string): LabelsExportManifest["tokenizer"] {
  const gguf = readGguf(modelPath);
  const entries = [...gguf.metadata.entries()].filter(([key]) => key.startsWith("tokenizer.ggml.")).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash("sha256");
  for (const [key, value] of entries) hash.update(`${key}\0${JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\0`);
  const num = (key: string, fallback: number) => {
    const v = gguf.metadata.get(key)?.value;
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : fallback;
  };
  const tokens = gguf.metadata.get("tokenizer.ggml.tokens")?.value;
  const addBos = gguf.metadata.get("tokenizer.ggml.add_bos_token")?.value;
  return {
    sha256: hash.digest("hex"),
    n_vocab: Array.isArray(tokens) ? tokens.length : 0,
    bos_id: num("tokenizer.ggml.bos_token_id", -1),
    eos_id: num("tokenizer.ggml.eos_token_id", -1),
    add_bos: typeof addBos === "boolean" ? addBos : true,
  };
}

function readStats(runDir: string): Record<string, unknown> {
  const path = join(runDir, LABEL_STATS_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : {};
}

/** Moves the finished export into place; an existing non-empty `out` is replaced only with `force`. */
function replaceFolder(staging: string, out: string, force: boolean): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!force) throw new InputError(`${out} exists and is not empty`, "choose another --out, or pass --force to replace it");
    rmSync(out, { recursive: true, force: true });
  } else if (existsSync(out)) {
    rmSync(out, { recursive: true });
  }
  renameSync(staging, out);
}
