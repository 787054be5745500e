/**
 * Stage `labels`: the generic predictions of the "Who's Harry Potter" method, block by block over
 * the forget corpus. Each block is translated with the dictionary (translate.ts); the base model
 * reads the translated block and the reinforced model the original; their logits are combined as
 * v_base(translated, mapped back) − α·ReLU(v_reinforced(original) − v_base(...)) and the argmax is
 * the label, with the consistency rules of labels.ts.
 *
 * Blocks are cut at word and anchor boundaries (splitIntoBlocks) so that both sides fit the block
 * size; the model's BOS, where it uses one, is put in front of both sides and its row is dropped.
 * Each finished block is kept in `work/labels-<key>/` so a killed run resumes at the next block.
 * The logits come from lethe's own forward graph where it outruns libllama (F32 models with OpenBLAS:
 * the Oz small model's 4 × 256-token groups in 190 ms instead of 255), else from libllama; see
 * logitsEngine in common.ts.
 *
 * Shards (`lethe unlearn --stage labels --shard I/N`): worker I labels every N-th group of blocks
 * into `shards/labels-<key>/I-of-N/`, reading the run directory without locking it, so N workers
 * share one run directory (or each a copy, whose `shards/` folder is copied back). The stage then
 * takes every block it finds there instead of computing it. Groups, not blocks, are dealt out: a
 * block's logits depend on the batch it ran in, so the same groups give byte-identical labels.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { CancelledError, FileFormatError, InputError } from "../../errors.js";
import { hashConfig } from "../../run/hash.js";
import type { Stage, StageContext } from "../../run/stages.js";
import { loadDictionary } from "../whp/dictionary.js";
import { observedRise } from "../maths/generic-logits.js";
import { anchorTokens, labelStats, pairsPerPosition, type BlockLabels, type GenericRowStats, type LabelChange, type TargetRules } from "../whp/labels.js";
import { LabelWorkers } from "../whp/label-workers.js";
import { AnchorMatcher, splitIntoBlocks, translateBlock, type Alignment } from "../whp/translate.js";
import { decodeBlocks, encodeBlock, type LabelledBlock } from "../whp/labels-file.js";
import { DICTIONARY_FILE, LABEL_STATS_FILE, LABELS_FILE, type MethodContext } from "../method.js";
import { retainBlocks } from "./retain-targets.js";
import {
  checkSameVocabulary,
  corpusInputs,
  fragmentEncoder,
  inputFingerprints,
  loadBlockLogits,
  logitsEngine,
  logitsGroups,
  modelInputs,
  reinforcedModel,
  specialTokens,
  type BlockLogitsModel,
  type LogitsEngine,
} from "./common.js";

/** Retain blocks, evenly spaced over the corpus, that measure the reinforced model's generic rise. */
const RISE_BLOCKS = 16;
const RISE_FILE = "retain-rise.json";

/**
 * labels.riseBaseline "retain": the mean rise of the next token's logit (reinforced over base) on
 * retain text, floored at 0 so it never penalises more than the paper's rule. Kept in the stage's
 * cache, so a resumed run labels its remaining blocks with the same value to the last bit.
 */
async function retainRise(ctx: MethodContext, file: string, base: BlockLogitsModel, reinforced: BlockLogitsModel): Promise<number> {
  const stored = storedRise(file);
  if (stored !== undefined) return stored;
  const blocks = retainBlocks(ctx);
  const picked = blocks.length <= RISE_BLOCKS ? blocks : Array.from({ length: RISE_BLOCKS }, (_, j) => blocks[Math.floor((j * blocks.length) / RISE_BLOCKS)]!);
  let sum = 0;
  let count = 0;
  let done = 0;
  for (const group of logitsGroups(picked)) {
    const [b, r] = [await base.logits(group), await reinforced.logits(group)];
    group.forEach((tokens, k) => {
      const part = observedRise(b[k]!, r[k]!, tokens, ctx.tokenizer.info.nVocab);
      sum += part.sum;
      count += part.count;
    });
    done += group.length;
    ctx.emit({ type: "work", stage: "labels", label: "rise on retain text", done, total: picked.length, unit: "block" });
  }
  const rise = count > 0 ? Math.max(0, sum / count) : 0;
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ rise, positions: count, blocks: picked.length }));
  renameSync(tmp, file);
  return rise;
}

function storedRise(file: string): number | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { rise: number }).rise : undefined;
}

/** The stage's configuration and inputs, which key its block cache and its shards. */
function labelsSetup(ctx: MethodContext) {
  const { alpha, suppressAnchors, topK, tail, temperature, keepOriginalAbove, riseBaseline } = ctx.config.labels;
  // Settings at their paper defaults stay out of the key, so runs labelled before they existed resume.
  const rules = { ...(tail > 0 ? { tail } : {}), ...(temperature !== 1 ? { temperature } : {}), ...(keepOriginalAbove > 0 ? { keepOriginalAbove } : {}) };
  const fromRetain = riseBaseline === "retain" && ctx.retain.length > 0;
  const config = { alpha, suppressAnchors, topK, ...rules, ...(fromRetain ? { riseBaseline } : {}), blockTokens: ctx.blockTokens, seed: ctx.config.seed };
  const inputs = {
    model: ctx.basePath,
    ...modelInputs("reinforced", reinforcedModel(ctx)),
    dictionary: ctx.runDir.path(DICTIONARY_FILE),
    ...corpusInputs("forget", ctx.forgetPaths),
    ...(fromRetain ? corpusInputs("retain", ctx.retainPaths) : {}),
  };
  return { config, inputs, rules, fromRetain };
}

/** The translated blocks and everything labelling them needs, with the block cache. */
async function labelJob(ctx: MethodContext): Promise<LabelJob & { anchorCounts: Map<string, number> }> {
  const { config, inputs, rules, fromRetain } = labelsSetup(ctx);
  checkSameVocabulary(ctx.basePath, reinforcedModel(ctx).path, "reinforced");
  const { texts, matcher, encode, head } = await forgetBlocks(ctx);
  const engine = logitsEngine([{ path: ctx.basePath }, reinforcedModel(ctx)]);
  // The engine keys the cache, not the stage: its logits differ from the other's in their last bits
  // only, but a block is byte for byte what its group made (see the module comment).
  const cache = await blockCache(ctx, { ...config, ...(engine === "graph" ? { engine } : {}) }, inputs);
  const alignments = texts.map((text, i) => translateBlock(text, matcher, encode, { seed: ctx.config.seed + i }));
  const suppress = config.suppressAnchors ? anchorTokens(alignments) : new Set<number>();
  if (ctx.config.labels.riseBaseline === "retain" && !fromRetain) ctx.emit({ type: "warn", message: 'labels.riseBaseline "retain" needs a retain corpus; without --retain the paper\'s rule (zero) is used' });
  return { alignments, head, suppress, cache, engine, alpha: config.alpha, topK: config.topK, rules, fromRetain, anchorCounts: countAnchors(alignments) };
}

export function labelsStage(ctx: MethodContext): Stage {
  const { config, inputs } = labelsSetup(ctx);
  return {
    name: "labels",
    config,
    inputs,
    outputs: [LABELS_FILE, LABEL_STATS_FILE],
    async run(stage) {
      const job = await labelJob(ctx);
      claimBlockCache(ctx, job.cache);
      const rise = await labelBlocks(ctx, stage.signal, job);
      const blocks = joinBlocks(stage, job);
      const stats = labelStatistics(ctx, job, blocks, job.anchorCounts, rise);
      writeFileSync(stage.tmpPath(LABEL_STATS_FILE), JSON.stringify({ ...stats, anchors: Object.fromEntries(job.anchorCounts) }, null, 2) + "\n");
      rmSync(job.cache.dir, { recursive: true, force: true });
      rmSync(job.cache.shardsDir, { recursive: true, force: true });
      return { ...stats, suppressedTokens: stats.suppressedTokens.slice(0, 20), topChanges: stats.topChanges.slice(0, 10).map((c) => `${JSON.stringify(c.fromText)} → ${JSON.stringify(c.toText)} ×${c.count}`) };
    },
  };
}

/** Which share of the labels one worker computes: every `count`-th group of blocks from `index`. */
export interface LabelsShard {
  index: number;
  count: number;
}

/** What one shard worker did. */
export interface LabelsShardResult {
  shard: LabelsShard;
  /** Where its blocks are (`shards/labels-<key>/I-of-N/`). */
  dir: string;
  /** Blocks of this shard, and of the whole stage. */
  blocks: number;
  totalBlocks: number;
  /** Blocks it computed now (the rest were already there). */
  computed: number;
}

/** Marks a finished shard, with the facts `lethe labels merge` checks. */
const SHARD_DONE = "done.json";

/**
 * Labels one shard's blocks into its own folder (see the module comment). The caller has checked that
 * the stages before labels are done; the run directory itself is not written.
 */
export async function runLabelsShard(ctx: MethodContext, shard: LabelsShard, signal: AbortSignal): Promise<LabelsShardResult> {
  const job = await labelJob(ctx);
  const dir = shardDir(job.cache, shard);
  const shardJob: LabelJob = { ...job, cache: { ...job.cache, dir, blockFile: (i) => join(dir, blockName(i)), riseFile: join(dir, RISE_FILE) } };
  mkdirSync(dir, { recursive: true });
  const mine = logitsGroups(job.alignments.map((_, i) => i)).filter((_, g) => g % shard.count === shard.index);
  const before = mine.flat().filter((i) => job.cache.existing(i) !== undefined).length;
  await labelBlocks(ctx, signal, shardJob, mine);
  const blocks = mine.flat();
  const done = { key: basename(job.cache.dir), index: shard.index, count: shard.count, blocks, totalBlocks: job.alignments.length };
  writeFileSync(join(dir, `${SHARD_DONE}.tmp`), JSON.stringify(done) + "\n");
  renameSync(join(dir, `${SHARD_DONE}.tmp`), join(dir, SHARD_DONE));
  return { shard, dir, blocks: blocks.length, totalBlocks: job.alignments.length, computed: blocks.length - before };
}

/** The shards found for a run: their folders, and which shards of which count are complete. */
export function shardsOf(runDir: string): { key: string; dir: string; index: number; count: number; blocks: number[]; totalBlocks: number }[] {
  const root = join(runDir, SHARDS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => name.startsWith("labels-"))
    .flatMap((name) =>
      readdirSync(join(root, name))
        .map((sub) => join(root, name, sub, SHARD_DONE))
        .filter((file) => existsSync(file))
        .map((file) => ({ ...(JSON.parse(readFileSync(file, "utf8")) as { key: string; index: number; count: number; blocks: number[]; totalBlocks: number }), dir: join(file, "..") })),
    );
}

/** The forget corpus cut into blocks, with what translating them needs. */
async function forgetBlocks(ctx: MethodContext) {
  // The user may have edited the dictionary; it is checked like any user file.
  const dictionary = await loadDictionary(ctx.runDir.path(DICTIONARY_FILE), "user");
  const matcher = new AnchorMatcher(dictionary);
  const encode = fragmentEncoder(ctx);
  const { bosId } = specialTokens(ctx);
  const head = bosId >= 0 ? [bosId] : [];
  const texts = ctx.forget.flatMap((doc) => splitIntoBlocks(doc.text, encode, ctx.blockTokens - head.length, matcher));
  return { texts, matcher, encode, head };
}

/**
 * Where finished blocks are kept until the stage is done, keyed by everything that shapes them: new
 * blocks go to `dir`, and a block is also taken from any shard folder of the same key.
 */
interface BlockCache {
  dir: string;
  /** `shards/labels-<key>/`: the shard workers' folders. */
  shardsDir: string;
  /** Where a block computed now is written. */
  blockFile(i: number): string;
  /** Where finished blocks are looked for: `dir`, then the shard folders present when the cache was opened. */
  searchDirs: readonly string[];
  /** Where block `i` already is (this cache or a shard's folder), or undefined. */
  existing(i: number): string | undefined;
  riseFile: string;
}

/** Shard workers' output, beside the stage's own `work/` cache. */
const SHARDS_DIR = "shards";

const blockName = (i: number) => `block-${String(i).padStart(6, "0")}.bin`;
/** A block's generic-row statistics sit beside it. */
const rowStatsFile = (blockFile: string) => `${blockFile}.json`;

function shardDir(cache: BlockCache, shard: LabelsShard): string {
  return join(cache.shardsDir, `${shard.index}-of-${shard.count}`);
}

async function blockCache(ctx: MethodContext, config: unknown, inputs: Readonly<Record<string, string>>): Promise<BlockCache> {
  const work = join(ctx.runDir.dir, "work");
  const key = `labels-${hashConfig({ config, inputs: await inputFingerprints(inputs) }).slice(0, 16)}`;
  const dir = join(work, key);
  const shardsDir = join(ctx.runDir.dir, SHARDS_DIR, key);
  const blockFile = (i: number) => join(dir, blockName(i));
  // Listed once: every lookup of every block searches the same folders.
  const searchDirs = [dir, ...(existsSync(shardsDir) ? readdirSync(shardsDir).map((d) => join(shardsDir, d)) : [])];
  const existing = (i: number) => searchDirs.map((d) => join(d, blockName(i))).find((f) => existsSync(f));
  return { dir, shardsDir, blockFile, searchDirs, existing, riseFile: join(dir, RISE_FILE) };
}

/** The rise baseline the cached blocks were labelled with (this cache's, or a shard's). */
function recordedRise(cache: BlockCache): number {
  const rise = cache.searchDirs.map((d) => storedRise(join(d, RISE_FILE))).find((r) => r !== undefined);
  if (rise === undefined) throw new FileFormatError(`the labels cache ${cache.dir} lacks the rise baseline its blocks were labelled with`, `delete ${cache.dir} and rerun`);
  return rise;
}

/** Removes block caches of other keys (superseded settings) and creates this one. */
function claimBlockCache(ctx: MethodContext, cache: BlockCache): void {
  const work = join(ctx.runDir.dir, "work");
  for (const name of existsSync(work) ? readdirSync(work) : []) {
    if (name.startsWith("labels-") && join(work, name) !== cache.dir) rmSync(join(work, name), { recursive: true, force: true });
  }
  mkdirSync(cache.dir, { recursive: true });
}

function countAnchors(alignments: readonly Alignment[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const alignment of alignments) for (const span of alignment.anchors) counts.set(span.term, (counts.get(span.term) ?? 0) + 1);
  return counts;
}

/** The translated blocks and the settings that turn them into labels. */
interface LabelJob {
  alignments: readonly Alignment[];
  /** BOS, where the model uses one, in front of both sides of every block. */
  head: readonly number[];
  suppress: ReadonlySet<number>;
  cache: BlockCache;
  engine: LogitsEngine;
  alpha: number;
  topK: number;
  rules: Partial<TargetRules>;
  fromRetain: boolean;
}

/**
 * Labels every block not yet in the cache, loading the models only when one is left. Returns the
 * rise baseline used, undefined when every block was already labelled.
 */
async function labelBlocks(ctx: MethodContext, signal: AbortSignal, job: LabelJob, groups = logitsGroups(job.alignments.map((_, i) => i))): Promise<number | undefined> {
  let base: BlockLogitsModel | undefined;
  let reinforced: BlockLogitsModel | undefined;
  let workers: LabelWorkers | undefined;
  let rise: number | undefined;
  try {
    // A resumed run recomputes a partly finished group whole (see LOGITS_GROUP): soft labels keep
    // the logits' last bits.
    const todo = groups.filter((group) => group.some((i) => job.cache.existing(i) === undefined));
    if (ctx.labelsFromShardsOnly && todo.length > 0) {
      const missing = todo.flat().filter((i) => job.cache.existing(i) === undefined);
      throw new InputError(
        `${missing.length} of ${job.alignments.length} blocks (the first: ${missing[0]}) are in no shard under ${job.cache.shardsDir}`,
        "run the missing shards, or check that every shard ran with the run's own settings and inputs (a shard made with others is kept under another key)",
      );
    }
    const total = groups.reduce((n, group) => n + group.length, 0);
    let done = total - todo.reduce((n, group) => n + group.length, 0);
    for (const group of todo) {
      if (signal.aborted) throw new CancelledError("the labels stage");
      base ??= await loadBlockLogits({ path: ctx.basePath }, job.engine, ctx.blockTokens, ctx.threads);
      reinforced ??= await loadBlockLogits(reinforcedModel(ctx), job.engine, ctx.blockTokens, ctx.threads);
      rise ??= job.fromRetain ? await retainRise(ctx, job.cache.riseFile, base, reinforced) : 0;
      workers ??= LabelWorkers.start(ctx.threads);
      await labelGroup(ctx, job, group, base, reinforced, workers, rise);
      done += group.length;
      ctx.emit({ type: "work", stage: "labels", label: "labels", done, total, unit: "block" });
    }
  } finally {
    await base?.dispose();
    await reinforced?.dispose();
    await workers?.close();
  }
  return rise;
}

/** One batch of blocks through both models, each block's labels written to the cache. */
async function labelGroup(
  ctx: MethodContext,
  job: LabelJob,
  group: readonly number[],
  base: BlockLogitsModel,
  reinforced: BlockLogitsModel,
  workers: LabelWorkers,
  rise: number,
): Promise<void> {
  const { alignments, head } = job;
  const vocab = ctx.tokenizer.info.nVocab;
  const originals = group.map((i) => [...head, ...alignments[i]!.original]);
  const baseLogits = await base.logits(group.map((i) => [...head, ...alignments[i]!.translated]));
  const reinforcedLogits = await reinforced.logits(originals);
  const built = await workers.build(
    group.map((i, k) => ({
      alignment: alignments[i]!,
      // With BOS in front, drop BOS's row so rows line up with the alignment's positions.
      baseLogits: baseLogits[k]!.subarray(head.length * vocab),
      reinforcedLogits: reinforcedLogits[k]!.subarray(head.length * vocab),
      vocab,
      alpha: job.alpha,
      suppress: job.suppress,
      topK: job.topK,
      rules: job.rules,
      seed: ctx.config.seed * 1_000_003 + i,
      riseBaseline: rise,
    })),
  );
  group.forEach((i, k) => {
    const { stats, ...labels } = built[k]!;
    // BOS's row has no label: K masked pairs in front.
    const pad = head.length * pairsPerPosition(labels);
    const withHead: BlockLabels = {
      ...labels,
      target: Int32Array.from([...new Array<number>(pad).fill(-1), ...labels.target]),
      weight: Float32Array.from([...new Array<number>(pad).fill(0), ...labels.weight]),
    };
    // The row statistics first: a block file on disk means its statistics are there too.
    writeFileSync(rowStatsFile(job.cache.blockFile(i)), JSON.stringify(summariseRows(stats)));
    const tmp = `${job.cache.blockFile(i)}.tmp`;
    writeFileSync(tmp, encodeBlock({ tokens: Int32Array.from(originals[k]!), labels: withHead }));
    renameSync(tmp, job.cache.blockFile(i));
  });
}

/** Concatenates the cached blocks into the labels file and returns them decoded. */
function joinBlocks(stage: StageContext, job: LabelJob): LabelledBlock[] {
  const files = job.alignments.map((_, i) => job.cache.existing(i)!);
  const parts = files.map((file) => readFileSync(file));
  const blocks = parts.flatMap((p, i) => decodeBlocks(p, files[i]!));
  writeFileSync(stage.tmpPath(LABELS_FILE), Buffer.concat(parts));
  return blocks;
}

/** The statistics of the labels, for label-stats.json and the stage's summary. */
function labelStatistics(ctx: MethodContext, job: LabelJob, blocks: readonly LabelledBlock[], anchorCounts: ReadonlyMap<string, number>, rise: number | undefined) {
  const { positions, labelled, changed, changes } = countChanges(blocks);
  const rows = job.alignments.map((_, i) => {
    const file = rowStatsFile(job.cache.existing(i)!);
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as RowSummary) : undefined;
  });
  const frequent = mostFrequentTokens(blocks.map((b) => b.tokens), 20);
  const topChanges = [...changes.values()]
    .sort((a, b) => b.count - a.count || a.from - b.from || a.to - b.to)
    .slice(0, 20)
    .map((c) => ({ ...c, fromText: ctx.tokenizer.detokenize([c.from]), toText: ctx.tokenizer.detokenize([c.to]) }));
  return {
    blocks: blocks.length,
    positions,
    labelled,
    changed,
    changedShare: labelled === 0 ? 0 : Math.round((changed / labelled) * 1e4) / 1e4,
    anchorOccurrences: [...anchorCounts.values()].reduce((a, b) => a + b, 0),
    ...labelShape(blocks, frequent, rows),
    // The logit rise α ignored (labels.riseBaseline), in logits.
    riseBaseline: job.fromRetain ? Math.round((rise ?? recordedRise(job.cache)) * 1e4) / 1e4 : 0,
    suppressedTokens: [...job.suppress].map((t) => ctx.tokenizer.detokenize([t])),
    topChanges,
  };
}

/** Positions, labelled positions and those whose label differs from the text, over all blocks. */
function countChanges(blocks: readonly LabelledBlock[]) {
  let labelled = 0;
  let changed = 0;
  let positions = 0;
  const changes = new Map<string, LabelChange>();
  for (const block of blocks) {
    positions += block.tokens.length;
    const s = labelStats(block.tokens, block.labels, undefined, 1_000_000);
    labelled += s.labelled;
    changed += s.changed;
    for (const c of s.topChanges) {
      const key = `${c.from}:${c.to}`;
      const entry = changes.get(key);
      if (entry) entry.count += c.count;
      else changes.set(key, { ...c });
    }
  }
  return { positions, labelled, changed, changes };
}

/** Sums of one block's generic-row statistics over its labelled positions. */
interface RowSummary {
  positions: number;
  entropy: number;
  originalProbability: number;
}

function summariseRows(stats: GenericRowStats): RowSummary {
  const out: RowSummary = { positions: 0, entropy: 0, originalProbability: 0 };
  stats.entropy.forEach((h, i) => {
    const p = stats.originalProbability[i]!;
    if (Number.isNaN(h) || Number.isNaN(p)) return;
    out.positions++;
    out.entropy += h;
    out.originalProbability += p;
  });
  return out;
}

/** The `count` most frequent tokens of the forget blocks (ties: lower id first). */
function mostFrequentTokens(blocks: readonly Int32Array[], count: number): Set<number> {
  const counts = new Map<number, number>();
  for (const tokens of blocks) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return new Set([...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, count).map(([t]) => t));
}

/**
 * What the labels look like, for the diagnosis of what the fine-tune teaches: how many first labels
 * equal the text's own next token, how many are among the corpus's 20 most frequent tokens, and the
 * mean entropy of softmax(v_generic) and probability it gives the text's own token.
 */
function labelShape(blocks: readonly LabelledBlock[], frequent: ReadonlySet<number>, rows: readonly (RowSummary | undefined)[]) {
  let labelled = 0;
  let same = 0;
  let common = 0;
  for (const { tokens, labels } of blocks) {
    const k = pairsPerPosition(labels);
    for (let i = 0; i + 1 < tokens.length; i++) {
      if (!(labels.weight[i * k]! > 0)) continue;
      labelled++;
      if (labels.target[i * k] === tokens[i + 1]) same++;
      if (frequent.has(labels.target[i * k]!)) common++;
    }
  }
  const known = rows.filter((r): r is RowSummary => r !== undefined);
  const positions = known.reduce((a, r) => a + r.positions, 0);
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    sameAsTextShare: labelled === 0 ? 0 : round(same / labelled),
    frequentTokenShare: labelled === 0 ? 0 : round(common / labelled),
    meanGenericEntropy: positions === 0 ? null : round(known.reduce((a, r) => a + r.entropy, 0) / positions),
    meanGenericProbabilityOfText: positions === 0 ? null : round(known.reduce((a, r) => a + r.originalProbability, 0) / positions),
  };
}
