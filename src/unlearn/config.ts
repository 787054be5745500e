/**
 * Settings of `lethe unlearn`: defaults, a JSON config file (`--config whp.json`) that overrides
 * them section by section, and validation that names the offending key.
 *
 * How the WHP defaults were chosen: `bench/whp-sweep.ts` on the demo's synthetic testbed (tiny
 * Llama, 4 × 256, context 256; forget = the saga, retain = the generic text, the saga's own generic
 * dictionary), measured as the demo measures (first 120 items of each set; results in
 * bench/results/whp-sweep.json). Every variant: 150 finetune steps of batch 8 plus a retain batch,
 * lr 1e-3, α 5, anchors suppressed, unless it says otherwise.
 *
 *   model / variant                            familiarity  P(idiosyncratic)  KnowMem f / r   ppl retain
 *   base                                       0.964        0.800             0.939 / 0.920   681
 *   gold (never saw the saga)                  0            0.0002            0     / 0.977   700
 *   argmax labels, retain next-token (before)  0.017        0.017             0.010 / 0.943   1807
 *   argmax labels, KL to the base on retain    0.061        0.060             0     / 0.920   839
 *   distribution targets (top 16 + tail 16)    0.003        0.014             0.041 / 0.932   280   ← defaults
 *     + KL to the base on retain               0.056        0.051             0.010 / 0.932   273
 *     + KL, α 20                               0.044        0.049             0.020 / 0.955   282
 *     + KL, lr 3e-3                            0.086        0.044             0.010 / 0.977   271
 *     + KL, 300 steps                          0.061        0.035             0     / 0.955   326
 *
 * The same on the Oz books with small models (`oz`: 17M parameters, 2M tokens; familiarity on the
 * first 120 of the 156 Oz prompts). The paper's argmax raised held-out perplexity 13 % and left 3×
 * the idiosyncratic probability that distribution targets left:
 *
 *   model / variant                            familiarity  P(idiosyncratic)  P after relearning  ppl retain
 *   base                                       0.669        0.0448            0.0202              111.7
 *   gold (never saw the books)                 0            0.0000008         0.0012              104.7
 *   argmax labels (the paper's)                0.003        0.0314            0.0088              126.4
 *   distribution targets (top 16 + tail 16)    0            0.0108            0.0045              110.3   ← defaults
 *
 * The same on the Oz books with tiny models (`oz-tiny`: 5M parameters, 2.2M tokens, forget = the
 * eleven books, retain = public-domain novels, lethe's Oz dictionary; KnowMem is noise there, as
 * neither model answers the questions). P after relearning: 50 steps on a slice of the books.
 *
 *   model / variant                            familiarity  P(idiosyncratic)  P after relearning  ppl retain
 *   base                                       0.547        0.0138            0.0020              152.8
 *   gold (never saw the books)                 0            0.0000006         0.00026             148.4
 *   argmax labels (the paper's)                0            0.0189            0.0015              149.9
 *   distribution targets (top 16 + tail 16)    0.011        0.0049            0.00055             133.9   ← defaults
 *     + riseBaseline "retain"                  0            0.0049            0.00047             132.7
 *
 * - labels.tail: the argmax label (the paper's) at every position trains the model towards its own
 *   best guess: on the demo testbed half the labels differ from the text only because the small base
 *   model mispredicts it, and held-out perplexity rose 2.7×, three quarters of it on rare tokens
 *   (bench/results/whp-diagnosis.json). Cross-entropy to the whole generic distribution (the top 16
 *   with their probabilities plus 16 tail samples carrying the rest, an unbiased estimate) changes
 *   the model only where the generic distribution differs from its own. Renormalised top-K alone
 *   (labels.topK without a tail) still drives every other token to zero.
 * - finetune.retainLoss stays "nll": with distribution targets, KL to the base on retain text kept
 *   the same perplexity but forgot less (familiarity 0.056 against 0.003); with argmax labels it
 *   cut the perplexity rise from 2.7× to 1.2×. α stays 5: α 20 helped only with KL.
 * - labels.suppressAnchors: the tiny base model, reading the translated text, still predicted saga
 *   names from the shared templates, so the paper's rules left familiarity at 0.41; suppressing the
 *   anchored terms' own tokens took it to 0 (see anchorTokens in whp/labels.ts).
 * - finetune.retainWeight 1: without retain text, retain QA fell 0.95 → 0.06 and perplexity rose
 *   10× on an earlier build of this testbed.
 * - labels.riseBaseline stays "zero". The Oz base knew the books poorly (loss 4.8 nats), so
 *   reinforcing it raised nearly every word of them and the paper's ReLU pushed 96 % of the labels
 *   off the text (the generic row gave the text's own token 1.6 %, against 45 % on the synthetic
 *   testbed). "retain" subtracts the rise the reinforced model shows on retain text: 0.21 logits on
 *   Oz (text's own token 1.6 % → 2.0 %), ≤ 0 on the synthetic testbed (identical run), so the rise is
 *   the books' own vocabulary and style rather than general English. On Oz it was slightly better
 *   on every figure (table above); a candidate default once the small Oz testbed confirms it.
 * - Relearning: 50 steps bring P(idiosyncratic) on the synthetic testbed to 0.33 with argmax or
 *   distribution targets alike (0.37 with KL retain; gold 0.05): no label objective moves it.
 * - reinforce: 2 epochs at lr 1e-3, batch 8 (the synthetic base already knew the text, loss ≈ 0.3).
 *   One epoch would be the pipeline's largest saving (7 of WHP's 27 minutes on the small Oz
 *   testbed), but there it forgot less: P(idiosyncratic) 0.0147 at lr 1e-3 and 0.0149 at 2e-3 (the
 *   same summed step size), against 0.0081–0.0114 in three runs of the default. One pass raises the
 *   reinforced model less on the text, so fewer labels leave it (the text's own token is the label
 *   at 18 % of positions against 12 %). On the synthetic testbed one epoch changed nothing.
 * - precision stays "f32". BF16 mixed precision made WHP on the small Oz testbed 39 → 29 minutes,
 *   but forgot a little less in both runs (P(idiosyncratic) 0.0123 / 0.0127 against 0.0108; after
 *   relearning 0.0075 / 0.0071 against 0.0045; perplexity 110.5 vs 110.3); on the synthetic testbed
 *   it changed nothing (P 0.0140 vs 0.0139, perplexity 287 vs 280). The gap is the reinforced
 *   model's: BF16 reinforcement with an F32 fine-tune gave the same 0.0122 / 0.0074.
 * - blockTokens = 512 as in the paper; it is capped to the model's training context.
 * The sweep JSON holds the other variants (keeping the text's own token, checkpoint choice by
 * validation, frozen embeddings, no retain text) as points of the forgetting/perplexity frontier.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";
import { LORA_TARGETS, PRECISIONS, type LoraTarget, type Precision } from "../engine/trainer.js";

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
  /**
   * The training stages' matrix products (see TrainerOptions.precision): "f32"; "bf16", mixed
   * precision with F32 weights, gradients and optimizer; "auto", bf16 where the CPU multiplies
   * BF16 natively (AVX512-BF16), else f32.
   */
  precision: Precision;
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
    /** Tail samples carrying the rest of the distribution (see TargetRules in whp/labels.ts); 0: none. */
    tail: number;
    /** Temperature of softmax(v_generic / T) for soft targets. */
    temperature: number;
    /** Keep the text's own next token where the generic distribution gives it at least this (0: off). */
    keepOriginalAbove: number;
    /**
     * What a logit must rise by (reinforced over base) before α penalises it: "zero" is the paper's
     * ReLU(v_reinforced − v_base); "retain" subtracts the mean rise of the next token's logit on retain
     * text, so a reinforced model that merely got better at the language (an undertrained base) does
     * not push every label away from the text. See riseBaseline in whp/labels.ts.
     */
    riseBaseline: "zero" | "retain";
  };
  /**
   * retainWeight: next-token descent on retain text mixed into every step, relative to the labels;
   * 0 is the paper's setting (forget text alone). It applies only when a retain corpus is given.
   */
  finetune: TrainSettings & {
    steps: number;
    retainWeight: number;
    /**
     * What the retain text trains towards: "nll", its own next tokens; "kl", the frozen base model's
     * distribution (top K and tail of labels, cross-entropy to it = KL to the base plus a constant),
     * which holds the model where it was instead of fitting the retain text further.
     */
    retainLoss: "nll" | "kl";
    /** With retainLoss "kl": the base model's K most likely tokens per retain position, with their probabilities. */
    retainTopK: number;
    /** With retainLoss "kl": tail samples carrying the rest of the base distribution (see labels.tail). */
    retainTail: number;
    /** Train the token embeddings (and a tied output); false freezes them. */
    trainEmbeddings: boolean;
    /**
     * Measure retain perplexity and what is left of the forget text every this many steps, and keep
     * the checkpoint that forgot most within `maxRetainRise` (0: keep the last step).
     */
    validateEvery: number;
    /** With validateEvery: how much held-out retain perplexity may rise over the start's (0.05: 5 %). */
    maxRetainRise: number;
  };
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
  /**
   * LoRA: with rank > 0 every training stage trains small A/B pairs beside the targeted matrices
   * instead of the weights, the base staying frozen in its file's type (F16, Q8_0, Q4_K, ...), and
   * the result is a GGUF LoRA adapter that llama.cpp, node-llama-cpp and Ollama load with the base.
   */
  lora: {
    /** r; 0 trains the full model. */
    rank: number;
    /** The update is scaled by alpha / rank; 0 means 2 · rank. */
    alpha: number;
    /** Which matrices get a pair. */
    targets: LoraTarget[];
    /** Publish the base with the adapter merged in (in the base's types) instead of the adapter. */
    merge: boolean;
  };
}

/** The defaults (see the module comment for how they were measured). */
export const DEFAULT_CONFIG: UnlearnConfig = {
  method: "whp",
  seed: 1,
  blockTokens: 512,
  checkpointEvery: 25,
  precision: "f32",
  reinforce: { epochs: 2, lr: 1e-3, batchSize: 8, warmupSteps: 5, weightDecay: 0, clip: 1 },
  anchors: { top: 50, mergeAuto: false, minCount: 5, gainTokens: 30, llmChunkChars: 4000, llmMaxChunks: 50 },
  labels: { alpha: 5, suppressAnchors: true, topK: 16, tail: 16, temperature: 1, keepOriginalAbove: 0, riseBaseline: "zero" },
  finetune: { steps: 150, lr: 1e-3, batchSize: 8, warmupSteps: 10, weightDecay: 0, clip: 1, retainWeight: 1, retainLoss: "nll", retainTopK: 16, retainTail: 16, trainEmbeddings: true, validateEvery: 0, maxRetainRise: 0.05 },
  ascent: { steps: 30, lr: 1e-4, batchSize: 8, warmupSteps: 0, weightDecay: 0, clip: 1, retainWeight: 1, npoBeta: 0.1 },
  taskVector: { beta: 1 },
  lora: { rank: 0, alpha: 0, targets: [...LORA_TARGETS], merge: false },
};

/** A partial config as written in a file: any section and key may be left out. */
export type UnlearnConfigInput = {
  [K in keyof UnlearnConfig]?: UnlearnConfig[K] extends object ? Partial<UnlearnConfig[K]> : UnlearnConfig[K];
};

type Rule =
  | { kind: "int" | "number"; min: number; max?: number; exclusiveMin?: boolean }
  | { kind: "boolean" }
  | { kind: "choice"; values: readonly string[] }
  | { kind: "subset"; values: readonly string[] };
const TRAIN_RULES: Record<keyof TrainSettings, Rule> = {
  lr: { kind: "number", min: 0, exclusiveMin: true },
  // Upper bounds catch typos (1e9 steps), not taste: the defaults are far below them.
  batchSize: { kind: "int", min: 1, max: 1024 },
  warmupSteps: { kind: "int", min: 0 },
  weightDecay: { kind: "number", min: 0 },
  clip: { kind: "number", min: 0 },
};
const RULES: { [S in keyof UnlearnConfig]?: Record<string, Rule> } = {
  reinforce: { ...TRAIN_RULES, epochs: { kind: "number", min: 0, exclusiveMin: true, max: 1000 } },
  anchors: {
    top: { kind: "int", min: 0 },
    mergeAuto: { kind: "boolean" },
    minCount: { kind: "int", min: 1 },
    gainTokens: { kind: "int", min: 0 },
    llmChunkChars: { kind: "int", min: 200 },
    llmMaxChunks: { kind: "int", min: 1 },
  },
  labels: {
    alpha: { kind: "number", min: 0 },
    suppressAnchors: { kind: "boolean" },
    topK: { kind: "int", min: 1, max: 64 },
    tail: { kind: "int", min: 0, max: 64 },
    temperature: { kind: "number", min: 0, exclusiveMin: true, max: 100 },
    keepOriginalAbove: { kind: "number", min: 0, max: 1 },
    riseBaseline: { kind: "choice", values: ["zero", "retain"] },
  },
  finetune: {
    ...TRAIN_RULES,
    steps: { kind: "int", min: 1, max: 100_000 },
    retainWeight: { kind: "number", min: 0 },
    retainLoss: { kind: "choice", values: ["nll", "kl"] },
    retainTopK: { kind: "int", min: 1, max: 64 },
    retainTail: { kind: "int", min: 0, max: 64 },
    trainEmbeddings: { kind: "boolean" },
    validateEvery: { kind: "int", min: 0 },
    maxRetainRise: { kind: "number", min: 0 },
  },
  ascent: { ...TRAIN_RULES, steps: { kind: "int", min: 1, max: 100_000 }, retainWeight: { kind: "number", min: 0 }, npoBeta: { kind: "number", min: 0, exclusiveMin: true } },
  taskVector: { beta: { kind: "number", min: 0 } },
  lora: {
    rank: { kind: "int", min: 0, max: 4096 },
    alpha: { kind: "number", min: 0 },
    targets: { kind: "subset", values: LORA_TARGETS },
    merge: { kind: "boolean" },
  },
};
const TOP_RULES: Record<string, Rule> = {
  seed: { kind: "int", min: 0, max: 2 ** 32 - 1 },
  blockTokens: { kind: "int", min: 8 },
  checkpointEvery: { kind: "int", min: 1 },
  precision: { kind: "choice", values: PRECISIONS },
};

function checkValue(value: unknown, rule: Rule, key: string, where: string): number | boolean | string | string[] {
  if (rule.kind === "subset") {
    const list = rule.values.map((v) => JSON.stringify(v)).join(", ");
    if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string" || !rule.values.includes(v))) {
      throw new InputError(`${where}: "${key}" must be a non-empty list of ${list}, got ${JSON.stringify(value)}`, `set "${key}" to e.g. [${list}]`);
    }
    return [...new Set(value as string[])];
  }
  if (rule.kind === "choice") {
    if (typeof value !== "string" || !rule.values.includes(value)) {
      throw new InputError(`${where}: "${key}" must be one of ${rule.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`, `set "${key}" to one of ${rule.values.join(", ")}`);
    }
    return value;
  }
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
