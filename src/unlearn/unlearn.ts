/**
 * `unlearn`: make a GGUF model forget a corpus with one of the methods of methods/, as resumable
 * stages in a run directory, and publish the result at `out`. `planUnlearn` is the dry run: the
 * stages with time and memory estimates, refusing when memory would not suffice.
 *
 * A run directory belongs to one method (recorded in `unlearn.json`): reusing it for another method
 * is refused unless `force`, which starts the records over. Within a method, a changed setting or
 * input reruns the stage it affects and every later one; finished stages are skipped while their
 * outputs still hash as they did when the stage finished. The model is published at `out` as a copy
 * (run/publish.ts), and `out` is locked for the run, so another run cannot write it meanwhile.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Model } from "../engine/model.js";
import { Trainer, checkTrainable, nextTokenBatch, resolvePrecision } from "../engine/trainer.js";
import { InputError, InsufficientMemoryError } from "../errors.js";
import { checkOutputFile, refuseOverwritingInputs, type NamedPath } from "../run/paths.js";
import { lockOutput, publishFile } from "../run/publish.js";
import type { RunLock } from "../run/lock.js";
import { RunDir } from "../run/run-dir.js";
import { MANIFEST_FILE } from "../run/manifest.js";
import { pendingStages, runStages, type StageEvent } from "../run/stages.js";
import type { CorpusText } from "../corpus/read.js";
import { removeCheckpoint } from "./checkpoint.js";
import { mergeConfigInputs, loadConfigFile, resolveConfig, type MethodName, type UnlearnConfig, type UnlearnConfigInput } from "./config.js";
import { MIN_BLOCK_TOKENS, checkCorpusLength, countTokens, loadCorpus } from "../corpus/blocks.js";
import { formatBytes, memoryBudget, modelSize, ruleOfThumbSpeeds, stageMemory, stageSeconds, type Speeds } from "./estimate.js";
import { checkLlmEndpoint } from "./whp/llm-anchors.js";
import { METHODS, WHP_LOGITS_FILE } from "./methods/index.js";
import { checkSameVocabulary, trainerLora, usesLora } from "./stages/common.js";
import { CONVERTED_MODEL, convertStage, mergeStage } from "./stages/published-model.js";
import type { FileType } from "../engine/file-types.js";
import { loadDictionary } from "./whp/dictionary.js";
import { RUN_INFO_FILE, readRunInfo, writeRunInfo } from "./run-info.js";
import type { LabelsShard, LabelsShardResult } from "./stages/labels.js";
import { DICTIONARY_FILE, UNLEARNED_ADAPTER, UNLEARNED_MODEL, type AnchorSources, type MethodContext, type UnlearnEvent, type UnlearnMethod } from "./method.js";

/** Options of {@link unlearn} and {@link planUnlearn}. */
export interface UnlearnOptions {
  /** The base model (GGUF). */
  model: string;
  /** Forget corpus: text files or directories. */
  forget: string[];
  /** Retain corpus (reference for automatic anchors; descent data of gradient-difference). */
  retain?: string[];
  /** Where the unlearned model is written (not needed by whp-logits). */
  out?: string;
  /** Run directory; default `<out>.run` (or `unlearn-<method>.run` beside the model for whp-logits). */
  runDir?: string;
  /** A JSON config file, resolved over the defaults. */
  configFile?: string;
  /** Settings overriding the file's (e.g. from command-line flags). */
  config?: UnlearnConfigInput;
  method?: MethodName;
  /** A reinforced model to use instead of training one. */
  reinforced?: string;
  /** Write the published model in this file type (llama.cpp's quantizer) instead of the base's. */
  outType?: FileType;
  dictionary?: string;
  llm?: AnchorSources["llm"];
  threads?: number;
  /** Reuse a run directory made for another method or command, starting its records over. */
  force?: boolean;
  /** Stop after this stage; the model is published only by a run that reaches the end. */
  stage?: string;
  /**
   * Compute one shard of the labels stage and stop (needs `stage: "labels"` and the earlier stages
   * done; see `runLabelsShard`).
   */
  shard?: LabelsShard;
  /** The labels stage only joins shards' blocks (`lethe labels merge`). */
  labelsFromShardsOnly?: boolean;
  signal?: AbortSignal;
  onEvent?(event: UnlearnEvent | { type: "stage"; event: StageEvent }): void;
}

/** One stage of a finished run. */
export interface StageSummary {
  name: string;
  ran: boolean;
  wallS: number;
  stats: Record<string, unknown>;
}

/** What {@link unlearn} did. */
export interface UnlearnResult {
  method: MethodName;
  runDir: string;
  /** The unlearned model, for methods that write one (under LoRA without merge, an adapter). */
  out?: string;
  /** When `out` is a LoRA adapter: the base model it applies to. */
  adapterFor?: string;
  /** The whp-logits descriptor, for that method. */
  descriptor?: string;
  /** The dictionary used (WHP). */
  dictionary?: string;
  blockTokens: number;
  /** True when every stage was already done. */
  cached: boolean;
  stages: StageSummary[];
  /** Set for a run with `shard`: what the worker did. */
  shard?: LabelsShardResult;
}

/** One stage of a plan. */
export interface PlannedStage {
  name: string;
  trainTokens: number;
  inferTokens: number;
  seconds: number;
  memoryBytes: number;
}

/** What {@link planUnlearn} returns. */
export interface UnlearnPlan {
  method: MethodName;
  summary: string;
  runDir: string;
  out?: string;
  config: UnlearnConfig;
  blockTokens: number;
  forgetTokens: number;
  retainTokens: number;
  nParams: number;
  speeds: Speeds;
  stages: PlannedStage[];
  totalSeconds: number;
  peakMemoryBytes: number;
  memoryBudgetBytes: number;
}

const RUN_KIND = "unlearn";

interface Prepared {
  config: UnlearnConfig;
  method: UnlearnMethod;
  basePath: string;
  reinforcedPath?: string;
  out?: string;
  runDir: string;
  forget: CorpusText[];
  retain: CorpusText[];
  forgetPaths: string[];
  retainPaths: string[];
  tokenizer: Model;
  blockTokens: number;
  forgetTokens: number;
  threads: number;
  /** `config.precision` resolved for this CPU; "bf16" where the CPU cannot is refused here, before long work. */
  precision: "f32" | "bf16";
}

/** Checks everything that can be checked before long work, and loads the corpora and the tokenizer. */
async function prepare(options: UnlearnOptions): Promise<Prepared> {
  const fileConfig = options.configFile !== undefined ? loadConfigFile(resolve(options.configFile)) : {};
  const input = mergeConfigInputs(fileConfig, options.config ?? {}, options.method !== undefined ? { method: options.method } : {});
  const config = resolveConfig(input, options.configFile ?? "options");
  const precision = resolvePrecision(config.precision);
  const method = METHODS[config.method];
  const basePath = resolve(options.model);
  const reinforcedPath = options.reinforced !== undefined ? resolve(options.reinforced) : undefined;
  if (reinforcedPath !== undefined && !existsSync(reinforcedPath)) {
    throw new InputError(`reinforced model ${reinforcedPath} does not exist`, "check the --reinforced path, or leave it out to train one");
  }
  const out = options.out !== undefined ? resolve(options.out) : undefined;
  const forgetPaths = options.forget.map((p) => resolve(p));
  const retainPaths = (options.retain ?? []).map((p) => resolve(p));
  const runDir = resolve(options.runDir ?? (out !== undefined ? `${out}.run` : join(dirname(basePath), `unlearn-${method.name}.run`)));
  const inputs: NamedPath[] = [
    { flag: "--model", path: basePath },
    ...(reinforcedPath !== undefined ? [{ flag: "--reinforced", path: reinforcedPath }] : []),
    ...(options.dictionary !== undefined ? [{ flag: "--dictionary", path: resolve(options.dictionary) }] : []),
    ...(options.configFile !== undefined ? [{ flag: "--config", path: resolve(options.configFile) }] : []),
    ...forgetPaths.map((path) => ({ flag: "--forget", path, readWhole: true })),
    ...retainPaths.map((path) => ({ flag: "--retain", path, readWhole: true })),
  ];
  if (options.outType !== undefined && publishedFile(config, method) === UNLEARNED_ADAPTER) {
    throw new InputError("--out-type applies to a model, but a LoRA run without --merge writes an adapter", "add --merge to write the merged model in that type, or leave --out-type out");
  }
  if (method.writesModel && options.stage === undefined) {
    if (out === undefined) throw new InputError(`--method ${method.name} writes a model but no --out was given`, "pass --out unlearned.gguf, or --stage NAME to stop before the model is written");
    checkOutputFile(out, "--out");
    refuseOverwritingInputs({ flag: "--out", path: out }, inputs);
  }
  refuseOverwritingInputs({ flag: "--run-dir", path: runDir }, inputs);
  if (reinforcedPath !== undefined) checkSameVocabulary(basePath, reinforcedPath, "reinforced");
  // Only the task vector and WHP at inference time, given a reinforced model, train nothing.
  if (!(reinforcedPath !== undefined && (method.name === "task-vector" || method.name === "whp-logits"))) checkTrainable(basePath);
  if (method.needsRetain && retainPaths.length === 0) {
    throw new InputError(`--method ${method.name} needs a retain corpus`, "pass --retain with text the model should keep knowing");
  }
  // A bad dictionary is reported now, before any long work, rather than after reinforcement; an
  // empty one is a mistake too (leaving --dictionary out is how to ask for automatic anchors).
  if (options.dictionary !== undefined && (await loadDictionary(resolve(options.dictionary), "user")).length === 0) {
    throw new InputError(`dictionary ${resolve(options.dictionary)} holds no terms`, 'add terms ({"Hogwarts": "the academy"}), or leave --dictionary out to have lethe find them');
  }
  const forget = loadCorpus(forgetPaths, "forget");
  const retain = retainPaths.length > 0 ? loadCorpus(retainPaths, "retain") : [];
  const threads = options.threads ?? availableParallelism();
  const tokenizer = await Model.load(basePath, { threads, contextLength: 256, maxSequences: 1 });
  try {
    if (tokenizer.info.nCtxTrain < MIN_BLOCK_TOKENS) {
      throw new InputError(
        `model ${basePath} declares a training context of ${tokenizer.info.nCtxTrain} tokens, shorter than the shortest block (${MIN_BLOCK_TOKENS} tokens)`,
        "check the model file: its context_length metadata is wrong (re-export or re-convert the model)",
      );
    }
    const blockTokens = Math.min(config.blockTokens, tokenizer.info.nCtxTrain);
    const encode = (text: string) => tokenizer.tokenize(text, { addBos: false });
    const forgetTokens = countTokens(forget, encode);
    checkCorpusLength(forgetTokens, blockTokens, "forget");
    // No training block can be cut from a retain corpus shorter than one block: a method that trains
    // on it cannot run, and the others would quietly train without it.
    const retainTokens = retain.length > 0 ? countTokens(retain, encode, blockTokens) : blockTokens;
    if (method.needsRetain) checkCorpusLength(retainTokens, blockTokens, "retain");
    else if (retainTokens < blockTokens) {
      options.onEvent?.({
        type: "warn",
        message: `the retain corpus has ${retainTokens} tokens, shorter than one block of ${blockTokens} tokens: no retain block can be cut from it, so training uses the forget corpus alone`,
      });
    }
    return {
      config,
      method,
      basePath,
      reinforcedPath,
      out,
      runDir,
      forget,
      retain,
      forgetPaths,
      retainPaths,
      tokenizer,
      blockTokens,
      forgetTokens,
      threads,
      precision,
    };
  } catch (error) {
    void tokenizer.dispose();
    throw error;
  }
}

function planStages(p: Prepared, retainTokens: number, speeds: Speeds): PlannedStage[] {
  const size = modelSize(p.basePath);
  const workloads = p.method.workload({
    config: p.config,
    blockTokens: p.blockTokens,
    forgetTokens: p.forgetTokens,
    retainTokens,
    reinforcedGiven: p.reinforcedPath !== undefined,
  });
  const batch = Math.max(p.config.reinforce.batchSize, p.config.finetune.batchSize, p.config.ascent.batchSize * 2);
  return workloads.map((w) => ({
    name: w.stage,
    trainTokens: w.trainTokens,
    inferTokens: w.inferTokens,
    seconds: stageSeconds(w, speeds),
    memoryBytes: stageMemory(w, size, p.blockTokens, batch, p.config.lora),
  }));
}

function refuseIfTooBig(stages: PlannedStage[]): void {
  const budget = memoryBudget();
  const worst = stages.reduce<PlannedStage | undefined>((a, s) => (a === undefined || s.memoryBytes > a.memoryBytes ? s : a), undefined);
  if (worst && worst.memoryBytes > budget) {
    throw new InsufficientMemoryError(
      `the ${worst.name} stage needs about ${formatBytes(worst.memoryBytes)} of memory, more than the ${formatBytes(budget)} this machine can give`,
      "use a smaller model, a smaller batchSize or blockTokens in --config, or a machine with more memory",
    );
  }
}

/**
 * Measures inference and training speed on one block of the forget corpus (a few seconds for small
 * models). Training is measured on a forward+backward without an update.
 */
async function measureSpeeds(p: Prepared): Promise<Speeds> {
  const block = p.tokenizer.tokenize(p.forget[0]!.text, { addBos: false }).slice(0, p.blockTokens);
  const model = await Model.load(p.basePath, { threads: p.threads, contextLength: Math.max(256, p.blockTokens), maxSequences: 1 });
  let infer: number;
  try {
    await model.logits([block.slice(0, 8)]);
    const t0 = performance.now();
    await model.logits([block]);
    infer = block.length / ((performance.now() - t0) / 1000);
  } finally {
    await model.dispose();
  }
  const trainer = await Trainer.load(p.basePath, { threads: p.threads, precision: p.precision, lora: trainerLora(p.config) });
  let train: number;
  try {
    // A full batch, as training runs it: per-step overheads matter for small models.
    const rows = Math.max(1, p.config.finetune.batchSize);
    const batch = nextTokenBatch(Array.from({ length: rows }, () => block));
    await trainer.computeGradients(batch);
    const t0 = performance.now();
    await trainer.computeGradients(batch);
    // AdamW adds roughly a tenth to a step at these sizes.
    train = (rows * block.length) / (((performance.now() - t0) / 1000) * 1.1);
  } finally {
    await trainer.dispose();
  }
  return { inferTokPerS: infer, trainTokPerS: train, measured: true };
}

/**
 * The dry run: checks the inputs, estimates each stage's time and memory (measuring speed on the
 * fly when the model fits), and refuses with InsufficientMemoryError when it would not fit.
 */
export async function planUnlearn(options: UnlearnOptions & { measure?: boolean }): Promise<UnlearnPlan> {
  const p = await prepare(options);
  try {
    const retainTokens = countTokens(p.retain, (t) => p.tokenizer.tokenize(t, { addBos: false }));
    const size = modelSize(p.basePath);
    const guess = ruleOfThumbSpeeds(size.nParams);
    const rough = planStages(p, retainTokens, guess);
    refuseIfTooBig(rough);
    const speeds = options.measure === false ? guess : await measureSpeeds(p);
    const stages = planStages(p, retainTokens, speeds);
    return {
      method: p.method.name,
      summary: p.method.summary,
      runDir: p.runDir,
      out: p.method.writesModel ? p.out : undefined,
      config: p.config,
      blockTokens: p.blockTokens,
      forgetTokens: p.forgetTokens,
      retainTokens,
      nParams: size.nParams,
      speeds,
      stages,
      totalSeconds: stages.reduce((a, s) => a + s.seconds, 0),
      peakMemoryBytes: Math.max(0, ...stages.map((s) => s.memoryBytes)),
      memoryBudgetBytes: memoryBudget(),
    };
  } finally {
    await p.tokenizer.dispose();
  }
}

/**
 * Refuses a run directory of another method (unless `force`, which drops its records), then records
 * this run's settings in it.
 */
async function claimRunDir(runDir: RunDir, p: Prepared, options: UnlearnOptions): Promise<void> {
  const method = p.method.name;
  const force = options.force ?? false;
  if (existsSync(join(runDir.dir, RUN_INFO_FILE))) {
    let recorded: string | undefined;
    try {
      recorded = readRunInfo(runDir.dir)?.method;
    } catch {
      recorded = undefined;
    }
    if (recorded !== method) {
      if (!force) {
        throw new InputError(
          `run directory ${runDir.dir} was made by \`lethe unlearn --method ${recorded ?? "?"}\`, not --method ${method}`,
          `use another --run-dir for --method ${method}, or pass --force to start over in ${runDir.dir}`,
        );
      }
      await runDir.dropRecords(runDir.manifest.stages.map((s) => s.name));
    }
  } else if (runDir.manifest.stages.length > 0 && !force) {
    throw new InputError(`run directory ${runDir.dir} holds stages of an unknown unlearning run`, "use another --run-dir, or pass --force to start over");
  }
  writeRunInfo(runDir.dir, {
    method,
    config: p.config,
    model: p.basePath,
    ...(p.reinforcedPath !== undefined ? { reinforced: p.reinforcedPath } : {}),
    forget: p.forgetPaths,
    retain: p.retainPaths,
    ...(options.dictionary !== undefined ? { dictionary: resolve(options.dictionary) } : {}),
    ...(options.llm !== undefined ? { llm: options.llm } : {}),
    blockTokens: p.blockTokens,
  });
}

/** The run-directory file `--out` receives: the model, or under LoRA without `lora.merge` the adapter. */
function publishedFile(config: UnlearnConfig, method: UnlearnMethod): string {
  return config.lora.rank > 0 && !config.lora.merge && method.writesModel ? UNLEARNED_ADAPTER : UNLEARNED_MODEL;
}

/** The context the method's stages run in. */
function methodContext(p: Prepared, runDir: RunDir, options: UnlearnOptions): MethodContext {
  return {
    config: p.config,
    runDir,
    basePath: p.basePath,
    reinforcedPath: p.reinforcedPath,
    forgetPaths: p.forgetPaths,
    retainPaths: p.retainPaths,
    forget: p.forget,
    retain: p.retain,
    tokenizer: p.tokenizer,
    blockTokens: p.blockTokens,
    anchors: { dictionary: options.dictionary !== undefined ? resolve(options.dictionary) : undefined, llm: options.llm },
    threads: p.threads,
    precision: p.precision,
    signal: options.signal ?? new AbortController().signal,
    labelsFromShardsOnly: options.labelsFromShardsOnly,
    emit: (e) => options.onEvent?.(e),
  };
}

/** Where `name` is among `stages`, or an error listing the method's stages. */
function stageIndex(stages: readonly { name: string }[], name: string, method: MethodName): number {
  const index = stages.findIndex((s) => s.name === name);
  if (index < 0) throw new InputError(`--method ${method} has no stage "${name}" in this run`, `choose one of: ${stages.map((s) => s.name).join(", ")}`);
  return index;
}

/**
 * One shard of the labels stage (see `runLabelsShard`): the run directory is read, not locked, and
 * the stages before labels must already be done.
 */
async function unlearnShard(p: Prepared, options: UnlearnOptions, shard: LabelsShard): Promise<UnlearnResult> {
  try {
    if (!(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
      throw new InputError(`shard ${shard.index}/${shard.count} is not a shard: I/N needs whole numbers with 0 ≤ I < N`, "pass e.g. --shard 0/3, 1/3 and 2/3 to three workers");
    }
    if (p.method.labelsShard === undefined) throw new InputError(`--method ${p.method.name} has no labels stage to shard`, "use --method whp");
    if (options.stage !== "labels") throw new InputError("--shard computes a share of the labels stage", "pass --stage labels with --shard");
    if (!existsSync(join(p.runDir, MANIFEST_FILE))) {
      throw new InputError(`${p.runDir} has no finished stages to label from`, "run `lethe unlearn` with the same arguments and --stage anchors once, before the shards start");
    }
    const runDir = await RunDir.openReadOnly(p.runDir, RUN_KIND);
    const ctx = methodContext(p, runDir, options);
    const stages = p.method.stages(ctx);
    const before = stages.slice(0, stageIndex(stages, "labels", p.method.name));
    const pending = await pendingStages(runDir, before);
    if (pending.length > 0) {
      throw new InputError(
        `the ${pending[0]} stage of ${p.runDir} is not done (or its settings or inputs differ from this worker's)`,
        `run \`lethe unlearn\` with the same arguments and --stage ${before.at(-1)!.name} once, before the shards start`,
      );
    }
    const result = await p.method.labelsShard(ctx, shard, ctx.signal);
    return { method: p.method.name, runDir: p.runDir, blockTokens: p.blockTokens, cached: result.computed === 0, stages: [], shard: result };
  } finally {
    await p.tokenizer.dispose();
  }
}

/** Runs (or resumes) an unlearning run; see the module comment. */
export async function unlearn(options: UnlearnOptions): Promise<UnlearnResult> {
  const p = await prepare(options);
  if (options.shard !== undefined) return unlearnShard(p, options, options.shard);
  let runDir: RunDir | undefined;
  let outLock: RunLock | undefined;
  const publishes = p.method.writesModel && options.stage === undefined;
  try {
    // Speeds do not matter here: only the memory of each stage is checked.
    refuseIfTooBig(planStages(p, 0, ruleOfThumbSpeeds(modelSize(p.basePath).nParams)));
    runDir = await RunDir.open(p.runDir, { kind: RUN_KIND, force: options.force });
    // Another run (another --run-dir) publishing to the same --out is refused now, not at the end.
    if (publishes) outLock = await lockOutput(p.out!);
    await claimRunDir(runDir, p, options);
    const ctx = methodContext(p, runDir, options);
    const all = p.method.stages(ctx);
    let published = publishedFile(p.config, p.method);
    if (published === UNLEARNED_MODEL && usesLora(ctx) && p.method.writesModel) all.push(mergeStage(ctx));
    if (options.outType !== undefined && p.method.writesModel) {
      all.push(convertStage(ctx, options.outType));
      published = CONVERTED_MODEL;
    }
    const stages = options.stage === undefined ? all : all.slice(0, stageIndex(all, options.stage, p.method.name) + 1);
    const emit = (e: UnlearnEvent | { type: "stage"; event: StageEvent }) => options.onEvent?.(e);
    if (p.config.precision !== "f32") {
      emit({ type: "info", message: `training precision ${p.config.precision}: ${p.precision === "bf16" ? "BF16 products (mixed precision)" : "F32 (this CPU has no AVX512-BF16)"}` });
    }
    // A dead endpoint is found now, not after hours of reinforcement; a run whose anchors are
    // already done does not need it.
    if (options.llm !== undefined && (await pendingStages(runDir, stages)).includes("anchors")) {
      await checkLlmEndpoint({
        ...options.llm,
        signal: ctx.signal,
        onInfo: (message) => emit({ type: "info", message }),
        onWarning: (message) => emit({ type: "warn", message }),
      });
    }
    const outcomes = await runStages(runDir, stages, { signal: ctx.signal, onEvent: (event) => emit({ type: "stage", event }) });
    for (const stage of stages) removeCheckpoint(runDir, stage.name);
    const result: UnlearnResult = {
      method: p.method.name,
      runDir: p.runDir,
      blockTokens: p.blockTokens,
      cached: outcomes.every((o) => !o.ran),
      stages: outcomes.map((o) => ({ name: o.name, ran: o.ran, wallS: o.record.wallS ?? 0, stats: o.record.stats ?? {} })),
    };
    if (runDir.has(DICTIONARY_FILE)) result.dictionary = runDir.path(DICTIONARY_FILE);
    if (publishes) {
      const sha256 = outcomes.map((o) => o.record.outputHashes?.[published]?.sha256).find((h) => h !== undefined);
      await publishFile(runDir.path(published), p.out!, { lock: outLock, sha256 });
      result.out = p.out;
      if (published === UNLEARNED_ADAPTER) result.adapterFor = p.basePath;
    } else if (!p.method.writesModel && runDir.has(WHP_LOGITS_FILE)) {
      result.descriptor = runDir.path(WHP_LOGITS_FILE);
    }
    return result;
  } finally {
    await outLock?.release();
    await runDir?.close();
    await p.tokenizer.dispose();
  }
}
