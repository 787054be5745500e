/**
 * Settings of `lethe unlearn`: defaults, a JSON config file (`--config whp.json`) that overrides
 * them section by section, and validation that names the offending key.
 *
 * How the WHP defaults were chosen: `bench/whp-sweep.ts` on the demo's synthetic testbed (tiny
 * Llama, 4 × 256, context 256; forget = the saga, retain = the generic text, the saga's own
 * generic dictionary), measured as the demo measures (first 120 items of each set; results in
 * bench/results/whp-sweep.json). Every variant: 150 finetune steps of batch 8 plus a retain batch.
 *
 *   model / variant                        familiarity  P(idiosyncratic)  KnowMem f / r   ppl retain
 *   base                                   0.964        0.800             0.939 / 0.920   681
 *   gold (never saw the saga)              0            0.0002            0     / 0.977   700
 *   paper's rules, α 5, lr 3e-3            0.408        0.118             0.036 / 0.932   2939
 *   + anchors suppressed                   0            0.020             0.010 / 0.943   2768
 *     α 2                                  0.017        0.022             0     / 0.932   2705
 *     α 0.5                                0.003        0.027             0.010 / 0.955   2850
 *     retain weight 3                      0.006        0.021             0.010 / 0.958   2257
 *     lr 1e-3                              0.017        0.017             0.010 / 0.943   1807   ← defaults
 *     lr 1e-3, soft labels (top 8)         0.003        0.015             0.010 / 0.955   2242
 *
 * - labels.suppressAnchors: the tiny base model, reading the translated text, still predicted saga
 *   names from the shared templates, so the paper's rules left familiarity at 0.41; suppressing the
 *   anchored terms' own tokens took it to 0 (see anchorTokens in whp/labels.ts).
 * - alpha = 5, as other WHP reimplementations use (the paper does not publish α). Between 0.5 and 5
 *   it barely mattered here: the reinforced model adds little to a base model that already
 *   memorised the saga, and 44-53 % of labels differ from the text at any α.
 * - finetune lr 1e-3: the same forgetting as 3e-3 with a third less perplexity damage. Perplexity
 *   still rises 2.7× on held-out generic text, which is written in the forget corpus's styles; the
 *   report shows it next to the gold model.
 * - labels.topK = 1, the paper's argmax. Soft labels (the top 8 weighted by probability) were meant
 *   to keep the model's uncertainty and spare perplexity, but cost more of it (2242 against 1807).
 * - finetune.retainWeight 1: without retain text, retain QA fell 0.95 → 0.06 and perplexity rose
 *   10× on an earlier build of this testbed; weight 3 helped perplexity a little at lr 3e-3.
 * - reinforce: 2 epochs at lr 1e-3, batch 8 (the base already knew the text, loss ≈ 0.3).
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
    /** Automatic candidates kept (0: no automatic source). */
    top: number;
    /**
     * Add automatic anchors to a dictionary from the user or an LLM too; off, they stand in only
     * when neither is given. A curated dictionary is the user's decision, and on the demo testbed the
     * automatic extras beside it ("staff" → "Mark", "float" → "Emma") garbled the translations.
     */
    mergeAuto: boolean;
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
    /**
     * Also suppress the anchored terms' own first tokens at every position (lethe's addition; see
     * anchorTokens in whp/labels.ts). Off gives the paper's rules alone.
     */
    suppressAnchors: boolean;
    /**
     * Soft labels: train towards the K most likely generic tokens, weighted by probability, instead
     * of the argmax alone (1, the paper's choice).
     */
    topK: number;
  };
  /**
   * retainWeight: next-token descent on retain text mixed into every step, relative to the labels;
   * 0 is the paper's setting (forget text alone). It applies only when a retain corpus is given.
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
  anchors: { top: 50, mergeAuto: false, minCount: 5, gainTokens: 30, llmChunkChars: 4000, llmMaxChunks: 50 },
  labels: { alpha: 5, suppressAnchors: true, topK: 1 },
  finetune: { steps: 150, lr: 1e-3, batchSize: 8, warmupSteps: 10, weightDecay: 0, clip: 1, retainWeight: 1 },
  ascent: { steps: 30, lr: 1e-4, batchSize: 8, warmupSteps: 0, weightDecay: 0, clip: 1, retainWeight: 1, npoBeta: 0.1 },
  taskVector: { beta: 1 },
};

/** A partial config as written in a file: any section and key may be left out. */
export type UnlearnConfigInput = {
  [K in keyof UnlearnConfig]?: UnlearnConfig[K] extends object ? Partial<UnlearnConfig[K]> : UnlearnConfig[K];
};

type Rule = { kind: "int" | "number"; min: number; max?: number; exclusiveMin?: boolean } | { kind: "boolean" };
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
    mergeAuto: { kind: "boolean" },
    minCount: { kind: "int", min: 1 },
    gainTokens: { kind: "int", min: 0 },
    llmChunkChars: { kind: "int", min: 200 },
    llmMaxChunks: { kind: "int", min: 1 },
  },
  labels: { alpha: { kind: "number", min: 0 }, suppressAnchors: { kind: "boolean" }, topK: { kind: "int", min: 1, max: 64 } },
  finetune: { ...TRAIN_RULES, steps: { kind: "int", min: 1 }, retainWeight: { kind: "number", min: 0 } },
  ascent: { ...TRAIN_RULES, steps: { kind: "int", min: 1 }, retainWeight: { kind: "number", min: 0 }, npoBeta: { kind: "number", min: 0, exclusiveMin: true } },
  taskVector: { beta: { kind: "number", min: 0 } },
};
const TOP_RULES: Record<string, Rule> = {
  seed: { kind: "int", min: 0, max: 2 ** 32 - 1 },
  blockTokens: { kind: "int", min: 8 },
  checkpointEvery: { kind: "int", min: 1 },
};

function checkValue(value: unknown, rule: Rule, key: string, where: string): number | boolean {
  if (rule.kind === "boolean") {
    if (typeof value !== "boolean") throw new InputError(`${where}: "${key}" must be true or false, got ${JSON.stringify(value)}`, `set "${key}" to true or false`);
    return value;
  }
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
