/** Resumable multi-stage runs: run directories, their manifests and locks, and the stage runner. */
export { stableStringify, hashConfig, fingerprintFile, FULL_HASH_LIMIT, sha256File, statSignature, hashOutput } from "./hash.js";
export { RunLock, LOCK_FILE, holderAlive, type LockHolder, type LockSubject } from "./lock.js";
export { MANIFEST_FILE, MANIFEST_VERSION, parseManifest, newManifest, type Manifest, type OutputHash, type StageRecord } from "./manifest.js";
export { RunDir, STAGING_DIR, checkOutputName, type OpenRunDirOptions } from "./run-dir.js";
export {
  runStages,
  pendingStages,
  describeStageEvent,
  staleReason,
  verifyOutputs,
  type Stage,
  type StageContext,
  type StageEvent,
  type StageFacts,
  type StageOutcome,
  type StageStats,
  type RunStagesOptions,
} from "./stages.js";
export { publishFile, lockOutput, outputLockPath, type PublishOptions } from "./publish.js";
export { checkOutputFile, refuseOverwritingInputs, type NamedPath } from "./paths.js";
