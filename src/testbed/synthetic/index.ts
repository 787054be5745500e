/**
 * Synthetic testbed: an invented saga for a tiny model to learn and then forget, an everyday corpus
 * free of it, held-out text, and the ground truth to measure forgetting against.
 */
export type {
  Entity,
  EntityType,
  FamiliarityPrompt,
  Fact,
  GroundTruth,
  ProbabilityPrompt,
  QaPair,
  SyntheticOptions,
  SyntheticTestbedText,
} from "./types.js";
export { generateSyntheticTestbed } from "./generate.js";
export { applyGenericDictionary } from "./dictionary.js";
export { readGroundTruth, readSyntheticTestbed, writeSyntheticTestbed } from "./files.js";
