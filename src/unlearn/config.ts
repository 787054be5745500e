/**
 * Settings of `lethe unlearn`: defaults, a JSON config file (`--config whp.json`) that overrides
 * them section by section, and validation that names the offending key.
 *
 * How the defaults were chosen: measured on the micro synthetic testbed of test/fixtures (a 2-layer
 * × 128 Llama, 512-token vocabulary, context 128, so blocks were 128 tokens), forget = its whole
 * universe text (~20k tokens, 332 label blocks), retain = its generic text. Measures: mean
 * probability of the probability prompts' idiosyncratic targets and of the facts' answers, and
 * perplexity on held-out generic text.
 *
 *   model                                   prob. prompts  facts   generic ppl
 *   base                                    0.547          0.476   56.9
 *   gold (never saw the universe)           3e-6           5e-6    163   (trained on less text)
 *   whp α=5, finetune 150 steps lr 1e-3     0.146          0.074   53.8
 *   whp α=5, finetune 150 steps lr 3e-3     0.044          0.044   52.9   ← defaults
 *
 * - reinforce: 2 epochs at lr 1e-3, batch 8 (40 steps; the base already knew the text, loss 0.28 →
 *   ~0.3, so more epochs add little).
 * - alpha = 5, as other WHP reimplementations use (the paper does not publish α); with it 58 % of
 *   labelled positions differ from the original next token.
 * - finetune: 150 steps (the paper's scale) at lr 3e-3 with batch 8: 12× lower probability of the
 *   idiosyncratic continuations, no loss on generic text; lr 1e-3 only reached 3.7×.
 * - blockTokens = 512 as in the paper; it is capped to the model's training context.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";

/** The unlearning methods behind `--method`. */
export const METHOD_NAMES = ["whp", "whp-logits", "task-vector", "gradient-ascent", "gradient-difference", "npo"] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** One fine-tuning run (reinforce, finetune, or a baseline's training). */
export interface TrainSettings {
  /** Peak learning rate (linear warmup, cosine decay to lr/10). */
  lr: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  warmupSteps: number;
  weightDecay: number;
  /** Global gradient-norm clip (0: none). */
  clip: number;
}

export interface UnlearnConfig {
  method: MethodName;
  /** Seed of the data order and of the choice among alternative generics. */
  seed: number;
  /** Tokens per block (labels, training sequences); capped to the model's training context. */
  blockTokens: number;
  /** Save a resumable training checkpoint every this many optimizer steps. */
  checkpointEvery: number;
  reinforce: TrainSettings & { epochs: number };
  anchors: {
    /** Automatic candidates kept. */
    top: number;
    /** Minimum mid-sentence occurrences of an automatic candidate. */
    minCount: number;
    /** Tokens of largest log-probability gain (base → reinforced) added as candidates. */
    gainTokens: number;
    /** Characters of corpus per LLM request. */
    llmChunkChars: number;
    /** At most this many LLM requests. */
    llmMaxChunks: number;
  };
  labels: {
    /** The paper's α in v_base − α·ReLU(v_reinforced − v_base). */
    alpha: number;
  };
  /**
   * retainWeight: next-token descent on retain text mixed into every step, relative to the labels;
   * 0 is the paper's setting (forget text alone). Default 1, by measurement on the demo testbed
   * (tiny model, α 5, 150 steps at 3e-3): without it retain QA fell 0.95 → 0.06 and held-out
   * perplexity rose 10×; with it retain QA stayed at 0.99, familiarity fell 0.93 → 0.51 (gold 0)
   * and the idiosyncratic-token probability 0.70 → 0.10. It applies only when a retain corpus is given.
   */
  finetune: TrainSettings & { steps: number; retainWeight: number };
  /** gradient-ascent, gradient-difference and npo. */
  ascent: TrainSettings & {
    steps: number;
    /** gradient-difference: weight of the retain (descent) term relative to the forget term. */
    retainWeight: number;
    /** npo: inverse temperature β of the NPO loss. */
    npoBeta: number;
  };
  taskVector: {
    /** θ_base − β·(θ_reinforced − θ_base). */
    beta: number;
  };
}

/** The defaults (see the module comment for how they were measured). */
export const DEFAULT_CONFIG: UnlearnConfig = {
  method: "whp",
  seed: 1,
  blockTokens: 512,
  checkpointEvery: 25,
  reinforce: { epochs: 2, lr: 1e-3, batchSize: 8, warmupSteps: 5, weightDecay: 0, clip: 1 },
  anchors: { top: 50, minCount: 5, gainTokens: 30, llmChunkChars: 4000, llmMaxChunks: 50 },
  labels: { alpha: 5 },
  finetune: { steps: 150, lr: 3e-3, batchSize: 8, warmupSteps: 10, weightDecay: 0, clip: 1, retainWeight: 1 },
  ascent: { steps: 30, lr: 1e-4, batchSize: 8, warmupSteps: 0, weightDecay: 0, clip: 1, retainWeight: 1, npoBeta: 0.1 },
  taskVector: { beta: 1 },
};

/** A partial config as written in a file: any section and key may be left out. */
export type UnlearnConfigInput = {
  [K in keyof UnlearnConfig]?: UnlearnConfig[K] extends object ? Partial<UnlearnConfig[K]> : UnlearnConfig[K];
};

type Rule = { kind: "int" | "number"; min: number; max?: number; exclusiveMin?: boolean };
const TRAIN_RULES: Record<keyof TrainSettings, Rule> = {
  lr: { kind: "number", min: 0, exclusiveMin: true },
  batchSize: { kind: "int", min: 1 },
  warmupSteps: { kind: "int", min: 0 },
  weightDecay: { kind: "number", min: 0 },
  clip: { kind: "number", min: 0 },
};
const RULES: { [S in keyof UnlearnConfig]?: Record<string, Rule> } = {
  reinforce: { ...TRAIN_RULES, epochs: { kind: "number", min: 0, exclusiveMin: true } },
  anchors: {
    top: { kind: "int", min: 0 },
    minCount: { kind: "int", min: 1 },
    gainTokens: { kind: "int", min: 0 },
    llmChunkChars: { kind: "int", min: 200 },
    llmMaxChunks: { kind: "int", min: 1 },
  },
  labels: { alpha: { kind: "number", min: 0 } },
  finetune: { ...TRAIN_RULES, steps: { kind: "int", min: 1 }, retainWeight: { kind: "number", min: 0 } },
  ascent: { ...TRAIN_RULES, steps: { kind: "int", min: 1 }, retainWeight: { kind: "number", min: 0 }, npoBeta: { kind: "number", min: 0, exclusiveMin: true } },
  taskVector: { beta: { kind: "number", min: 0 } },
};
const TOP_RULES: Record<string, Rule> = {
  seed: { kind: "int", min: 0, max: 2 ** 32 - 1 },
  blockTokens: { kind: "int", min: 8 },
  checkpointEvery: { kind: "int", min: 1 },
};

function checkValue(value: unknown, rule: Rule, key: string, where: string): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (rule.kind === "number" || Number.isInteger(value)) &&
    (rule.exclusiveMin ? value > rule.min : value >= rule.min) &&
    (rule.max === undefined || value <= rule.max);
  if (!ok) {
    const what = `${rule.kind === "int" ? "a whole number" : "a number"} ${rule.exclusiveMin ? ">" : "≥"} ${rule.min}${rule.max !== undefined ? ` and ≤ ${rule.max}` : ""}`;
    throw new InputError(`${where}: "${key}" must be ${what}, got ${JSON.stringify(value)}`, `set "${key}" to ${what}`);
  }
  return value as number;
}

/**
 * The defaults overridden by `input` (section by section), validated. `where` names the source in
 * errors (a file path, or "options"). Unknown sections and keys are refused, so a typo never passes
 * silently.
 */
export function resolveConfig(input: UnlearnConfigInput | unknown, where = "config"): UnlearnConfig {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new InputError(`${where} must be a JSON object`, 'write the config as {"labels": {"alpha": 5}, ...}');
  }
  const config = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (key === "method") {
      if (!METHOD_NAMES.includes(value as MethodName)) {
        throw new InputError(`${where}: "method" must be one of ${METHOD_NAMES.join(", ")}, got ${JSON.stringify(value)}`, "pick one of the listed methods");
      }
      config.method = value;
    } else if (TOP_RULES[key]) {
      config[key] = checkValue(value, TOP_RULES[key], key, where);
    } else if (RULES[key as keyof UnlearnConfig]) {
      const rules = RULES[key as keyof UnlearnConfig]!;
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new InputError(`${where}: "${key}" must be an object of settings`, `write "${key}": {${Object.keys(rules).map((k) => `"${k}": ...`).join(", ")}}`);
      }
      const section = config[key] as Record<string, unknown>;
      for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) {
        const rule = rules[sub];
        if (!rule) {
          throw new InputError(`${where}: unknown setting "${key}.${sub}"`, `use one of ${Object.keys(rules).map((k) => `${key}.${k}`).join(", ")}`);
        }
        section[sub] = checkValue(subValue, rule, `${key}.${sub}`, where);
      }
    } else {
      const known = ["method", ...Object.keys(TOP_RULES), ...Object.keys(RULES)];
      throw new InputError(`${where}: unknown setting "${key}"`, `use one of ${known.join(", ")}`);
    }
  }
  return config as unknown as UnlearnConfig;
}

/** Reads a JSON config file and resolves it over the defaults. */
export function loadConfigFile(path: string): UnlearnConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new InputError(`cannot read config ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, "check the --config path", { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`config ${path} is not valid JSON: ${(error as Error).message}`, "fix the JSON syntax of the config file", { cause: error });
  }
  resolveConfig(parsed, path);
  return parsed as UnlearnConfigInput;
}

/** Deep-merges config inputs, later ones winning key by key. */
export function mergeConfigInputs(...inputs: UnlearnConfigInput[]): UnlearnConfigInput {
  const out: Record<string, unknown> = {};
  for (const input of inputs) {
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined) continue;
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        out[key] = { ...((out[key] as object | undefined) ?? {}), ...value };
      } else {
        out[key] = value;
      }
    }
  }
  return out as UnlearnConfigInput;
}
