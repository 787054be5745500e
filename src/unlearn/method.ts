/**
 * The contract every unlearning method fulfils (open-unlearning style): a method turns the shared
 * context into a list of resumable stages; the run machinery (run directory, manifest, skipping,
 * checkpoints, progress, publishing the model) is shared and not the method's business.
 */
import type { Model } from "../engine/model.js";
import type { RunDir } from "../run/run-dir.js";
import type { Stage } from "../run/stages.js";
import type { CorpusText } from "../corpus/read.js";
import type { UnlearnConfig, MethodName } from "./config.js";
import type { TrainProgress } from "./train-loop.js";
import type { LabelsShard, LabelsShardResult } from "./stages/labels.js";

/** Events a running method reports (rendered by the CLI as progress bars and messages). */
export type UnlearnEvent =
  | { type: "train"; progress: TrainProgress }
  | { type: "work"; stage: string; label: string; done: number; total: number; unit: string }
  | { type: "info"; message: string }
  | { type: "warn"; message: string };

/** Where the anchors come from besides the automatic source. */
export interface AnchorSources {
  /** A user dictionary file (.json or .csv). */
  dictionary?: string;
  /** An OpenAI-compatible endpoint that proposes anchors. */
  llm?: { baseUrl: string; model: string; apiKeyEnv?: string; maxRetries?: number; timeoutMs?: number };
}

/** Everything a method may use to build its stages. */
export interface MethodContext {
  config: UnlearnConfig;
  runDir: RunDir;
  /** The base model (the user's GGUF). */
  basePath: string;
  /** A reinforced model given by the user instead of training one. */
  reinforcedPath?: string;
  forgetPaths: readonly string[];
  retainPaths: readonly string[];
  forget: readonly CorpusText[];
  retain: readonly CorpusText[];
  /** The base model loaded for tokenization (and inference where a stage needs it). */
  tokenizer: Model;
  /** Tokens per block after capping to the model's context. */
  blockTokens: number;
  anchors: AnchorSources;
  threads: number;
  /** The training stages' precision, resolved once for the run (see resolvePrecision). */
  precision: "f32" | "bf16";
  signal: AbortSignal;
  /**
   * Set by `lethe labels merge`: the labels stage only joins the shards' blocks and refuses to
   * compute any itself.
   */
  labelsFromShardsOnly?: boolean;
  emit(event: UnlearnEvent): void;
}

/** One unlearning method. */
export interface UnlearnMethod {
  name: MethodName;
  /** One line for help and the plan. */
  summary: string;
  /** Whether the method writes an unlearned model (whp-logits does not). */
  writesModel: boolean;
  /** Whether `--retain` is required. */
  needsRetain: boolean;
  /** The stages, in order; the one writing the model declares the output {@link UNLEARNED_MODEL}. */
  stages(ctx: MethodContext): Stage[];
  /**
   * One worker's share of the labels stage, for methods whose labels can be computed in shards
   * (`lethe unlearn --stage labels --shard I/N`).
   */
  labelsShard?(ctx: MethodContext, shard: LabelsShard, signal: AbortSignal): Promise<LabelsShardResult>;
  /** Work per stage for the dry-run estimate: tokens through training and through inference. */
  workload(ctx: WorkloadContext): StageWorkload[];
}

/** What a workload estimate is computed from. */
export interface WorkloadContext {
  config: UnlearnConfig;
  blockTokens: number;
  forgetTokens: number;
  retainTokens: number;
  /** Whether a reinforced model is given (no reinforce stage). */
  reinforcedGiven: boolean;
}

/** The estimated work of one stage. */
export interface StageWorkload {
  stage: string;
  /** Tokens forwarded and backpropagated by the trainer. */
  trainTokens: number;
  /** Tokens run through inference (logits or log-probabilities). */
  inferTokens: number;
  /** Models held in inference memory at once during the stage. */
  inferenceModels: number;
  /** Whether the trainer is loaded during the stage. */
  trains: boolean;
}

/** The run-directory name of the unlearned model. */
export const UNLEARNED_MODEL = "unlearned.gguf";
/** The run-directory name of the reinforced model. */
export const REINFORCED_MODEL = "reinforced.gguf";
/** Under LoRA: the adapters the reinforce and unlearning stages write instead of models. */
export const REINFORCED_ADAPTER = "reinforced.lora.gguf";
export const UNLEARNED_ADAPTER = "unlearned.lora.gguf";
/** The run-directory name of the anchored-terms dictionary. */
export const DICTIONARY_FILE = "dictionary.json";
/** The run-directory names of the labels and their statistics. */
export const LABELS_FILE = "labels.bin";
export const LABEL_STATS_FILE = "labels.json";
