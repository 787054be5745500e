/** Pretraining of small Llama testbed models from random init (`lethe pretrain`). */
export { pretrain, type PretrainOptions, type PretrainResult } from "./pretrain.js";
export type { PretrainEvent } from "./events.js";
export { PRESETS, MIN_VOCAB, presetFromJson, resolvePreset, validatePreset, llamaConfigOf, type PretrainPreset, type PresetName } from "./presets.js";
export type { TrainHistory } from "./checkpoint.js";
