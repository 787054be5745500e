/**
 * Model and training presets for `lethe pretrain`: the built-in sizes and JSON config files that
 * start from one of them.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../../errors.js";
import { validateLlamaConfig, type LlamaConfig } from "../../gguf/llama.js";

/** Everything that shapes a pretraining run besides the corpus and the seed. */
export interface PretrainPreset {
  /** Written as `general.name` = `lethe-<name>`. */
  name: string;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  /** Tokens per training block, and the model's context length. */
  context: number;
  /** Tokenizer vocabulary size when the tokenizer is trained on the corpus. */
  vocab: number;
  /** Optimizer steps. */
  steps: number;
  /** Blocks per optimizer step. */
  batchSize: number;
  /** Blocks per forward/backward pass; a step accumulates its batch in passes of this many blocks. */
  microBatch: number;
  /** Peak learning rate. */
  lr: number;
  /** Learning rate at the end of the cosine decay. */
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Global gradient-norm clip. */
  clip: number;
  beta1: number;
  beta2: number;
  /** Held-out loss every this many steps (and after the last). */
  evalEvery: number;
  /** A resumable checkpoint every this many steps. */
  checkpointEvery: number;
  /** Share of the blocks held out for the eval loss... */
  evalFraction: number;
  /** ...but at most this many, so an eval stays a few seconds on 2 cores. */
  maxEvalBlocks: number;
}

export type PresetName = "tiny" | "small";

const COMMON = {
  context: 256,
  microBatch: 4,
  weightDecay: 0.1,
  clip: 1,
  beta1: 0.9,
  beta2: 0.95,
  evalFraction: 0.02,
  maxEvalBlocks: 64,
};

/**
 * Sizing on 2 cores. Training costs about 6 FLOPs per parameter per token, so throughput scales
 * inversely with the parameters multiplied per token (every matrix except the embedding lookup):
 *
 * - tiny, 4 × 256 (nFf 704), vocab 4096: 4 × (4·256² + 3·256·704) + 4096·256 ≈ 4.3M. Measured
 *   3200-3500 tok/s on a quiet machine (2 threads, micro-batches of 4 × 256, which ran faster than
 *   8 × 256 or 2 × 256). 300 steps × 8 blocks × 256 tokens = 614k tokens ≈ 3 min, a demo's budget.
 * - small, 6 × 384 (nFf 1024), vocab 8192: 6 × (4·384² + 3·384·1024) + 8192·384 ≈ 13.7M, 3.2× tiny,
 *   so ≈ 1000 tok/s by FLOPs; measured side by side with tiny (on a loaded machine) it ran at
 *   0.22-0.25× tiny's speed, so plan for ≈ 800 tok/s. 500 steps × 16 blocks × 256 tokens = 2.05M
 *   tokens ≈ 2560 s ≈ 43 min, which is one pass over the Oz testbed corpus (Oz + retain novels,
 *   2.05M tokens with an 8k vocabulary). Evals (64 blocks, forward only, ≈ 10 s each, 5 of them),
 *   checkpoints (≈ 200 MB each, 4) and the tokenizer (≈ 2 s for 7.5 MB of text) keep the whole run
 *   near 45 min, inside the 60-minute budget with room for a slower machine.
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<PretrainPreset>>> = {
  tiny: {
    ...COMMON,
    name: "tiny",
    nLayer: 4,
    nEmbd: 256,
    nHead: 4,
    nHeadKv: 4,
    nFf: 704,
    vocab: 4096,
    steps: 300,
    batchSize: 8,
    lr: 2e-3,
    minLr: 2e-4,
    warmupSteps: 20,
    evalEvery: 50,
    checkpointEvery: 50,
  },
  small: {
    ...COMMON,
    name: "small",
    nLayer: 6,
    nEmbd: 384,
    nHead: 6,
    nHeadKv: 6,
    nFf: 1024,
    vocab: 8192,
    steps: 500,
    batchSize: 16,
    lr: 1e-3,
    minLr: 1e-4,
    warmupSteps: 25,
    evalEvery: 100,
    checkpointEvery: 100,
  },
};

/** The smallest vocabulary a trained tokenizer can have: 256 byte tokens + BOS, EOS and padding. */
export const MIN_VOCAB = 256 + 3;

const INTEGER_FIELDS = [
  "nLayer",
  "nEmbd",
  "nHead",
  "nHeadKv",
  "nFf",
  "context",
  "vocab",
  "steps",
  "batchSize",
  "microBatch",
  "warmupSteps",
  "evalEvery",
  "checkpointEvery",
  "maxEvalBlocks",
] as const;
const NUMBER_FIELDS = ["lr", "minLr", "weightDecay", "clip", "beta1", "beta2", "evalFraction"] as const;

/**
 * Throws InputError naming the first field of `preset` (from `source`, e.g. a file name) that
 * cannot work: counts must be positive integers, the model shape must load in llama.cpp, and the
 * vocabulary must hold the 256 byte tokens and the special tokens.
 */
export function validatePreset(preset: PretrainPreset, source: string): void {
  const fail = (problem: string, fix: string) => new InputError(`${source}: ${problem}`, fix);
  if (typeof preset.name !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(preset.name)) {
    throw fail(`name ${JSON.stringify(preset.name)} is not 1-64 letters, digits, dots, dashes or underscores`, "give a short name such as \"micro\"");
  }
  for (const field of INTEGER_FIELDS) {
    const value = preset[field];
    const min = field === "warmupSteps" ? 0 : field === "context" ? 2 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw fail(`${field} is ${JSON.stringify(value)}; expected a whole number of at least ${min}`, `set ${field} to a whole number >= ${min}`);
    }
  }
  for (const field of NUMBER_FIELDS) {
    const value = preset[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw fail(`${field} is ${JSON.stringify(value)}; expected a number >= 0`, `set ${field} to a number >= 0`);
    }
  }
  if (preset.lr <= 0) throw fail(`lr is ${preset.lr}; expected a positive learning rate`, "set lr to e.g. 1e-3");
  if (preset.minLr > preset.lr) throw fail(`minLr ${preset.minLr} is above lr ${preset.lr}`, "set minLr to at most lr (e.g. lr / 10)");
  if (preset.beta1 >= 1 || preset.beta2 >= 1) throw fail("beta1 and beta2 must be below 1", "use e.g. beta1 0.9 and beta2 0.95");
  if (preset.evalFraction <= 0 || preset.evalFraction > 0.5) {
    throw fail(`evalFraction is ${preset.evalFraction}; expected a share in (0, 0.5]`, "hold out e.g. 0.02 of the blocks");
  }
  if (preset.vocab < MIN_VOCAB) {
    throw fail(
      `vocab ${preset.vocab} is too small: a tokenizer needs at least ${MIN_VOCAB} tokens (256 byte tokens + BOS, EOS and padding)`,
      `set the vocabulary to ${MIN_VOCAB} or more`,
    );
  }
  try {
    validateLlamaConfig(llamaConfigOf(preset, preset.vocab));
  } catch (error) {
    throw fail((error as Error).message, "fix the model shape");
  }
}

/** The model config of a preset, for a tokenizer of `nVocab` tokens. */
export function llamaConfigOf(preset: PretrainPreset, nVocab: number): LlamaConfig {
  return {
    nVocab,
    nCtx: preset.context,
    nEmbd: preset.nEmbd,
    nLayer: preset.nLayer,
    nHead: preset.nHead,
    nHeadKv: preset.nHeadKv,
    nFf: preset.nFf,
    ropeFreqBase: 10000,
    rmsEps: 1e-5,
    // Untied, as in Llama: unlearning fine-tunes may freeze the embeddings, and with tied
    // embeddings that would freeze the output projection too.
    tiedEmbeddings: false,
    name: `lethe-${preset.name}`,
  };
}

const FIELDS = new Set<string>(["name", ...INTEGER_FIELDS, ...NUMBER_FIELDS]);

/**
 * A preset from parsed JSON: `{"base": "tiny" | "small", ...fields}`, where every field left out
 * comes from `base` (default tiny). `source` names the file in errors. Unknown keys are refused, so
 * a typo does not silently fall back to the base value.
 */
export function presetFromJson(json: unknown, source: string): PretrainPreset {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(`${source} is not a JSON object`, 'write an object such as {"base": "tiny", "nLayer": 2}');
  }
  const { base = "tiny", ...fields } = json as Record<string, unknown>;
  if (base !== "tiny" && base !== "small") {
    throw new InputError(`${source}: base is ${JSON.stringify(base)}; expected "tiny" or "small"`, 'set "base" to "tiny" or "small", or leave it out');
  }
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) {
      throw new InputError(`${source}: unknown key "${key}"`, `use only base, ${[...FIELDS].join(", ")}`);
    }
  }
  const preset = { ...PRESETS[base], name: `${PRESETS[base].name}-custom`, ...fields } as PretrainPreset;
  validatePreset(preset, source);
  return preset;
}

/** `tiny`, `small`, or the path of a JSON config file (see {@link presetFromJson}). */
export function resolvePreset(size: string): PretrainPreset {
  if (size === "tiny" || size === "small") return { ...PRESETS[size] };
  let text: string;
  try {
    text = readFileSync(size, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      code === "ENOENT" ? `size "${size}" is neither tiny, small nor an existing JSON config file` : `cannot read config file ${size} (${code})`,
      "use --size tiny, --size small or the path of a JSON config file",
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`config file ${size} is not valid JSON: ${(error as Error).message}`, "fix the JSON syntax", { cause: error });
  }
  return presetFromJson(json, `config file ${size}`);
}
