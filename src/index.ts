/**
 * lethe's TypeScript API. The CLI is a thin layer over these functions.
 *
 * @example
 * import { loadModel, unlearn, evaluate } from "lethe";
 */
export * from "./errors.js";
export { Model, loadModel, type LoadModelOptions, type ModelInfo, type GenerateOptions, type TopLogits } from "./engine/model.js";
export {
  Trainer,
  loadTrainer,
  nextTokenBatch,
  LORA_TARGETS,
  resolvePrecision,
  PRECISIONS,
  type Precision,
  type LoraOptions,
  type LoraTarget,
  type TrainerOptions,
  type OptimizerOptions,
  type WeightedBatch,
  type StepResult,
} from "./engine/trainer.js";
export { GraphLogits, graphLogitsFaster } from "./engine/graph-logits.js";
export { quantizeModel, modelFileType } from "./engine/quantize.js";
export { FILE_TYPES, type FileType } from "./engine/file-types.js";
export { inspectLoraAdapter, type LoraAdapterInfo } from "./gguf/lora-adapter.js";
export { cosineSchedule } from "./engine/schedule.js";
export { backendInfo, gemmGflops, nativeBf16 } from "./engine/native.js";
export { probeModelFile, type ProbeResult, type ProbeOptions } from "./engine/probe.js";
export { readGguf, writeGguf, createLlamaGguf, readLlamaConfig, type LlamaConfig } from "./gguf/index.js";
export { BpeTokenizer, readCorpus } from "./tokenizer/index.js";
export { pretrain, type PretrainOptions, type PretrainResult } from "./testbed/pretrain/index.js";
export { buildTestbed, type TestbedReport, type TestbedSpec } from "./testbed/build.js";
export { syntheticTestbed, ozTestbed, customTestbed } from "./testbed/testbeds.js";
export { generateSyntheticTestbed } from "./testbed/synthetic/index.js";
export { unlearn, planUnlearn, type UnlearnOptions, type UnlearnResult } from "./unlearn/index.js";
export { exportLabels, type ExportLabelsOptions, type ExportLabelsResult, type LabelsExportManifest } from "./unlearn/whp/labels-export.js";
export { mergeLabelShards, type MergeLabelsOptions, type MergeLabelsResult } from "./unlearn/whp/labels-merge.js";
export { evaluate, writeEvalReport, type EvaluateOptions, type EvalReport } from "./eval/index.js";
export { writeReport, buildReport } from "./report/index.js";
export { runDemo, type DemoOptions, type DemoResult } from "./demo/demo.js";
