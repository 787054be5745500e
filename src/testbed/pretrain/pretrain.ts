/**
 * `pretrain`: a small Llama trained from random init on a text corpus, with lethe's own BPE
 * tokenizer. The work runs as resumable stages in a run directory:
 *
 *   tokenizer  tokenizer.json  trained on the corpus, or the one given
 *   tokens     tokens.bin      the corpus tokenized and packed (uint32, little-endian)
 *   train      model.gguf, history.json   with checkpoints/ while it runs
 *
 * A run that is killed (even with kill -9) continues from its newest checkpoint when run again with
 * the same options; a finished run run again does nothing. The model reaches `out` as a copy of its
 * own (never a link into the run directory), by one rename, only once complete; `out` is locked
 * while the run works, so two runs cannot both write it.
 */
import { availableParallelism } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { FileFormatError, InputError, LetheError } from "../../errors.js";
import { readGguf } from "../../gguf/read.js";
import { llamaTensorShapes, type LlamaConfig } from "../../gguf/llama.js";
import { fingerprintFile, hashConfig } from "../../run/hash.js";
import { checkOutputFile, refuseOverwritingInputs, type NamedPath } from "../../run/paths.js";
import { lockOutput, publishFile } from "../../run/publish.js";
import type { RunLock } from "../../run/lock.js";
import { RunDir } from "../../run/run-dir.js";
import { runStages, type Stage, type StageEvent } from "../../run/stages.js";
import { BpeTokenizer } from "../../tokenizer/bpe.js";
import { readCorpus, type CorpusText } from "../../corpus/read.js";
import { removeCheckpoints, type TrainHistory } from "./checkpoint.js";
import { blockCount, packDocuments, splitBlocks } from "./data.js";
import type { PretrainEvent } from "./events.js";
import { llamaConfigOf, resolvePreset, validatePreset, type PretrainPreset, type PresetName } from "./presets.js";
import { trainModel } from "./train.js";

/** Options of {@link pretrain}. */
export interface PretrainOptions {
  /** Text files, or directories of .txt/.md files. */
  corpus: string[];
  /** Where the finished model is written. Its folder must exist. */
  out: string;
  /** A built-in size, the path of a JSON config file (see presetFromJson), or a preset. Default tiny. */
  size?: PresetName | string | PretrainPreset;
  /** Settings that replace the size's. */
  overrides?: Partial<PretrainPreset>;
  /** Run directory for resumable state; default `<out>.run`. */
  runDir?: string;
  /**
   * A tokenizer to use instead of training one: a tokenizer JSON (a run directory's tokenizer.json)
   * or a GGUF model whose tokenizer to share.
   */
  tokenizer?: string;
  /** Seed of the init, the held-out split and the data order; default 1. */
  seed?: number;
  /** CPU threads; default all cores. */
  threads?: number;
  /** Use a run directory made by another command, or a non-empty folder that is not one. */
  force?: boolean;
  /** Stops at the next step boundary, after a checkpoint; the promise rejects with the reason. */
  signal?: AbortSignal;
  onEvent?: (event: PretrainEvent) => void;
}

/** What {@link pretrain} made. */
export interface PretrainResult {
  /** The finished model (`options.out`). */
  model: string;
  runDir: string;
  /** The tokenizer as JSON, for `tokenizer` of another run that must share it. */
  tokenizer: string;
  /** True when everything was already done and nothing was computed. */
  cached: boolean;
  /** The step training resumed from; absent when training did not run in this call. */
  resumedFrom?: number;
  preset: PretrainPreset;
  config: LlamaConfig;
  nParams: number;
  seed: number;
  documents: number;
  /** Tokens of the packed corpus, and of its training and held-out blocks. */
  corpusTokens: number;
  trainTokens: number;
  evalTokens: number;
  steps: number;
  tokensPerStep: number;
  /** Mean training loss over the last 10 steps. */
  finalLoss: number;
  /** Held-out loss after the last step. */
  finalEvalLoss: number;
  /** Seconds of training over all sessions. */
  trainS: number;
  history: TrainHistory;
}

const SEED_LIMIT = 2 ** 32;
const RUN_KIND = "pretrain";

/** Everything checked and read before any long work starts. */
interface Plan {
  preset: PretrainPreset;
  corpus: CorpusText[];
  givenTokenizer?: { path: string; tokenizer: BpeTokenizer };
  out: string;
  runDir: string;
  seed: number;
  threads: number;
}

function loadTokenizer(path: string): BpeTokenizer {
  const fix = "give the tokenizer.json of a pretrain run directory, or a .gguf model with a GPT-2 style BPE tokenizer";
  const inFile = (error: unknown) =>
    error instanceof LetheError && !(error instanceof InputError) ? new InputError(`tokenizer ${path}: ${error.message}`, fix, { cause: error }) : error;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InputError(`cannot read tokenizer ${path} (${(error as NodeJS.ErrnoException).code})`, "check the --tokenizer path", { cause: error });
  }
  try {
    if (bytes.subarray(0, 4).toString("latin1") === "GGUF") return BpeTokenizer.fromGgufMetadata(readGguf(path).metadata);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString("utf8"));
    } catch (error) {
      throw new InputError(`tokenizer ${path} is neither a GGUF model nor valid JSON`, fix, { cause: error });
    }
    return BpeTokenizer.fromJSON(json);
  } catch (error) {
    throw inFile(error);
  }
}

function makePlan(options: PretrainOptions): Plan {
  const size = options.size ?? "tiny";
  const base = typeof size === "string" ? resolvePreset(size) : size;
  const preset = { ...base, ...options.overrides };
  validatePreset(preset, "pretrain settings");
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= SEED_LIMIT) {
    throw new InputError(`seed ${seed} is not a whole number in 0..${SEED_LIMIT - 1}`, "give a seed such as 1");
  }
  const threads = options.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new InputError(`threads ${threads} is not a positive whole number`, "give e.g. 2 threads");
  if (options.tokenizer !== undefined && options.overrides?.vocab !== undefined) {
    throw new InputError("both a tokenizer and a vocabulary size were given", "drop the vocabulary size: the given tokenizer fixes it");
  }
  const out = resolve(options.out);
  const runDir = resolve(options.runDir ?? `${out}.run`);
  checkOutputFile(out, "--out");
  const inputs: NamedPath[] = [
    ...options.corpus.map((path) => ({ flag: "--corpus", path, readWhole: true })),
    ...(options.tokenizer !== undefined ? [{ flag: "--tokenizer", path: options.tokenizer }] : []),
    ...(typeof size === "string" && size !== "tiny" && size !== "small" ? [{ flag: "--size", path: size }] : []),
  ];
  refuseOverwritingInputs({ flag: "--out", path: out }, inputs);
  refuseOverwritingInputs({ flag: "--run-dir", path: runDir }, inputs);
  const plan: Plan = {
    preset,
    corpus: readCorpus(options.corpus),
    out,
    runDir,
    seed,
    threads,
  };
  if (options.tokenizer !== undefined) plan.givenTokenizer = { path: resolve(options.tokenizer), tokenizer: loadTokenizer(options.tokenizer) };
  return plan;
}

function readTokens(path: string): Uint32Array {
  const bytes = readFileSync(path);
  if (bytes.byteLength % 4 !== 0) {
    throw new FileFormatError(`${path} is ${bytes.byteLength} bytes, not a whole number of uint32 tokens`, `delete ${path} and rerun`);
  }
  // Little-endian uint32 is the in-memory layout on x64, lethe's only target. The copy aligns it.
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function stagesOf(plan: Plan, runDir: RunDir, signal: AbortSignal, emit: (e: PretrainEvent) => void): Stage[] {
  const corpusInputs = Object.fromEntries(plan.corpus.map((doc, i) => [`corpus:${i}`, doc.name]));
  const tokenizerPath = runDir.path("tokenizer.json");
  const tokensPath = runDir.path("tokens.bin");
  const tokenizerStage: Stage = plan.givenTokenizer
    ? {
        name: "tokenizer",
        config: { source: "given" },
        inputs: { tokenizer: plan.givenTokenizer.path },
        outputs: ["tokenizer.json"],
        async run(ctx) {
          writeFileSync(ctx.tmpPath("tokenizer.json"), JSON.stringify(plan.givenTokenizer!.tokenizer.toJSON()));
          return { vocab: plan.givenTokenizer!.tokenizer.vocabSize };
        },
      }
    : {
        name: "tokenizer",
        config: { source: "trained", vocab: plan.preset.vocab },
        inputs: corpusInputs,
        outputs: ["tokenizer.json"],
        async run(ctx) {
          const tokenizer = BpeTokenizer.train(
            plan.corpus.map((doc) => doc.text),
            { vocabSize: plan.preset.vocab, onProgress: (done, total) => emit({ type: "tokenizer", done, total }) },
          );
          writeFileSync(ctx.tmpPath("tokenizer.json"), JSON.stringify(tokenizer.toJSON()));
          return { vocab: tokenizer.vocabSize };
        },
      };
  const tokensStage: Stage = {
    name: "tokens",
    config: { packing: "bos-document-eos" },
    inputs: corpusInputs,
    outputs: ["tokens.bin"],
    async run(ctx) {
      const tokenizer = BpeTokenizer.fromJSON(JSON.parse(readFileSync(tokenizerPath, "utf8")));
      const docs = plan.corpus.map((doc, i) => {
        emit({ type: "tokenize", done: i, total: plan.corpus.length });
        return tokenizer.encode(doc.text);
      });
      emit({ type: "tokenize", done: docs.length, total: docs.length });
      const stream = packDocuments(docs, tokenizer.bosId, tokenizer.eosId);
      writeFileSync(ctx.tmpPath("tokens.bin"), stream);
      return { documents: docs.length, tokens: stream.length };
    },
  };
  const trainConfig = { preset: plan.preset, seed: plan.seed };
  const trainStage: Stage = {
    name: "train",
    config: trainConfig,
    inputs: { tokenizer: tokenizerPath, tokens: tokensPath },
    outputs: ["model.gguf", "history.json"],
    async run(ctx) {
      const tokenizer = BpeTokenizer.fromJSON(JSON.parse(readFileSync(tokenizerPath, "utf8")));
      const stream = readTokens(tokensPath);
      const { context, evalFraction, maxEvalBlocks } = plan.preset;
      const split = splitBlocks(blockCount(stream.length, context), evalFraction, maxEvalBlocks, plan.seed);
      const key = hashConfig({ ...trainConfig, tokenizer: await fingerprintFile(tokenizerPath), tokens: await fingerprintFile(tokensPath) });
      const trainPlan = {
        preset: plan.preset,
        seed: plan.seed,
        threads: plan.threads,
        stream,
        split,
        tokenizer: tokenizer.toGgufMetadata(),
        nVocab: tokenizer.vocabSize,
        key,
      };
      const { history, resumedFrom } = await trainModel(runDir, trainPlan, ctx.tmpPath("model.gguf"), signal, emit);
      writeFileSync(ctx.tmpPath("history.json"), JSON.stringify(history));
      return { resumedFrom, trainBlocks: split.train.length, evalBlocks: split.eval.length, nVocab: tokenizer.vocabSize };
    },
  };
  return [tokenizerStage, tokensStage, trainStage];
}

const lastMean = (values: number[], n: number) => values.slice(-n).reduce((a, b) => a + b, 0) / Math.min(n, values.length);

/**
 * Pretrains a Llama model on `options.corpus` and writes it to `options.out` (see the module
 * comment). Bad input (a missing, empty, binary or non-UTF-8 corpus file, a missing output folder,
 * an impossible size or vocabulary) is an InputError thrown before any long work starts.
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const plan = makePlan(options);
  const emit = options.onEvent ?? (() => undefined);
  const signal = options.signal ?? new AbortController().signal;
  const runDir = await RunDir.open(plan.runDir, { kind: RUN_KIND, force: options.force });
  let outLock: RunLock | undefined;
  try {
    // Another run (another --run-dir) publishing to the same --out is refused now, not at the end.
    outLock = await lockOutput(plan.out);
    const onEvent = (e: StageEvent) => {
      if (e.type === "skip" || e.type === "done") emit({ type: "stage", stage: e.stage, status: e.type });
      else if (e.type === "start") emit({ type: "stage", stage: e.stage, status: "start", reason: e.reason });
    };
    const outcomes = await runStages(runDir, stagesOf(plan, runDir, signal, emit), { signal, onEvent });
    removeCheckpoints(runDir);
    const sha256 = outcomes.find((o) => o.name === "train")!.record.outputHashes?.["model.gguf"]?.sha256;
    const modelUpToDate = !(await publishFile(runDir.path("model.gguf"), plan.out, { lock: outLock, sha256 }));

    const stats = (name: string) => outcomes.find((o) => o.name === name)!.record.stats as Record<string, number>;
    const train = outcomes.find((o) => o.name === "train")!;
    const { trainBlocks, evalBlocks, nVocab } = stats("train");
    const history = JSON.parse(readFileSync(runDir.path("history.json"), "utf8")) as TrainHistory;
    const config = llamaConfigOf(plan.preset, nVocab);
    const p = plan.preset;
    return {
      model: plan.out,
      runDir: plan.runDir,
      tokenizer: runDir.path("tokenizer.json"),
      cached: modelUpToDate && outcomes.every((o) => !o.ran),
      ...(train.ran ? { resumedFrom: stats("train").resumedFrom } : {}),
      preset: p,
      config,
      nParams: parameterCount(config),
      seed: plan.seed,
      documents: stats("tokens").documents,
      corpusTokens: stats("tokens").tokens,
      trainTokens: trainBlocks * p.context,
      evalTokens: evalBlocks * p.context,
      steps: p.steps,
      tokensPerStep: p.batchSize * p.context,
      finalLoss: lastMean(history.loss, 10),
      finalEvalLoss: history.evals[history.evals.length - 1]!.loss,
      trainS: history.trainS,
      history,
    };
  } finally {
    await outLock?.release();
    await runDir.close();
  }
}

function parameterCount(config: LlamaConfig): number {
  return llamaTensorShapes(config).reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}
