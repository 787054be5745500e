/** Public API of lethe's unlearning: the pipeline, its methods and their building blocks. */
export { unlearn, planUnlearn, type UnlearnOptions, type UnlearnResult, type UnlearnPlan, type PlannedStage, type StageSummary } from "./unlearn.js";
export { DEFAULT_CONFIG, METHOD_NAMES, resolveConfig, loadConfigFile, mergeConfigInputs, type UnlearnConfig, type UnlearnConfigInput, type MethodName, type TrainSettings } from "./config.js";
export { METHODS, WHP_LOGITS_FILE } from "./methods/index.js";
export {
  UNLEARNED_MODEL,
  REINFORCED_MODEL,
  UNLEARNED_ADAPTER,
  REINFORCED_ADAPTER,
  DICTIONARY_FILE,
  LABELS_FILE,
  LABEL_STATS_FILE,
  type UnlearnMethod,
  type MethodContext,
  type UnlearnEvent,
  type AnchorSources,
  type StageWorkload,
  type WorkloadContext,
} from "./method.js";
export { WhpLogitsModel, whpCombinedLogits, readWhpLogitsDescriptor, writeWhpLogitsDescriptor, type WhpLogitsDescriptor } from "./whp/logits-model.js";
export { negateTaskVector, applyTaskVector, negateAdapter } from "./maths/task-vector.js";
export { npoWeight, npoLoss, npoNormalizer } from "./maths/npo.js";
export { tokenBlocks, batchIndices, loadCorpus, checkCorpusLength } from "../corpus/blocks.js";
export { decodeBlocks, encodeBlock, type LabelledBlock } from "./whp/labels-file.js";
export { llmDictionary, parseLlmAnchors, corpusChunks } from "./whp/llm-anchors.js";
export { trainResumable, type TrainJob, type TrainProgress, type TrainResult } from "./train-loop.js";
