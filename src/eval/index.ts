/** Public API of lethe's evaluation: suites, metrics, judges, prompt sets and the engine port. */
export type { ScoringModel, DisposableScoringModel, GenerateOptions } from "./engine-port.js";
export { WarningLog, type SuiteResult, type SuiteRunOptions } from "./result.js";

export { rougeL, rougeTokens, lcsLength, type RougeScore } from "./metrics/rouge.js";
export { minKPercentProb, DEFAULT_MIN_K } from "./metrics/min-k.js";
export { rocAuc } from "./metrics/auc.js";
export { scoreChoices, argmax, type ScoredChoices, type ChoiceOutcome } from "./metrics/choice.js";
export { perplexity, bitsPerByte, sumLogprobs, type LogprobTotals } from "./metrics/perplexity.js";
export { mean, standardError } from "./metrics/stats.js";
export { aggregateFamiliarity, type FamiliarityScore, type FamiliaritySummary } from "./metrics/familiarity.js";

export { joinAtSeam, scoreContinuations, batchedTokenLogprobs, splitIntoWindows, type ContinuationRequest, type ContinuationScore } from "./scoring.js";
export { fitPrompt } from "./generation.js";

export type { FamiliarityJudge, JudgeInput, JudgeVerdict } from "./judge/judge.js";
export { TermJudge, termFamiliarity, compileTerms, toJudgeTerm, TIER_SCORES, type JudgeTerm, type TermTier } from "./judge/term-judge.js";
export { LlmJudge, parseFamiliarityAnswer, buildJudgeMessages, judgeSystemPrompt, type LlmJudgeOptions, type ChatCompleter } from "./judge/llm-judge.js";

export {
  loadPromptFile,
  toCompletionPrompt,
  toProbabilityPrompt,
  toQaPair,
  toVerbatimItem,
  toText,
  type CompletionPrompt,
  type ProbabilityPrompt,
  type QaPair,
  type VerbatimItem,
} from "./prompts.js";
export { readJsonl, parseJsonl, writeJsonlAtomic, type JsonlContents, type JsonlProblem } from "./jsonl.js";
export { generateFamiliarityPrompts, generateVerbatimItems, samplePassages, type GeneratedPrompt, type PromptGenOptions } from "./promptgen.js";

export { TASKS, findTask, loadTask, type TaskSpec, type TaskFormat, type TaskMetric } from "./tasks.js";
export { runFamiliarityCompletion, type FamiliarityCompletionOptions, type FamiliarityCompletionDetails } from "./familiarity-completion.js";
export { runFamiliarityProbability, type FamiliarityProbabilityOptions } from "./familiarity-probability.js";
export { runMuse, privLeak, knowmemPrompt, type MuseInputs, type MuseOptions, type MuseDetails } from "./muse.js";
export { runUtility, type UtilityOptions, type UtilityDetails } from "./utility.js";

export { EngineScoringModel, type EngineScoringModelOptions } from "./engine-model.js";
export {
  evaluate,
  flatMetrics,
  relativeToGold,
  missingData,
  modelNames,
  SUITES,
  DEFAULT_SUITES,
  DEFAULT_SETTINGS,
  GOLD_RELATIVE_METRICS,
  type EvaluateOptions,
  type EvalReport,
  type EvalSettings,
  type EvalEvent,
  type ModelEvaluation,
  type FailedModel,
  type EvalRole,
  type SuiteName,
} from "./evaluate.js";
export { writeEvalReport, formatEvalMarkdown, formatMetric, markdownPathFor, metricRows } from "./eval-report.js";
export {
  assembleEvalData,
  syntheticEvalData,
  loadSyntheticEvalData,
  verbatimFromDocuments,
  splitFewShot,
  firstWords,
  limitEvalData,
  loadJsonlLenient,
  loadPromptRecords,
  loadQaFile,
  loadTermsFile,
  toSplitQaPair,
  type EvalData,
  type EvalDataSources,
  type SyntheticEvalOptions,
} from "./eval-data.js";
export {
  paraphrasePrompt,
  paraphraseCompletionPrompts,
  paraphraseProbabilityPrompts,
  passagesFromDocuments,
  pickContextPassage,
  withContext,
  toParaphraseRecord,
  splitPromptRecords,
  type ParaphraseRecord,
} from "./probes.js";
export { relearn, relearnBlocks, blocksForStep, type RelearnOptions, type RelearnedModel } from "./relearn.js";
