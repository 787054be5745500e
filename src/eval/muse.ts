/**
 * The MUSE suite (Shi et al. 2024, "MUSE: Machine Unlearning Six-Way Evaluation for Language
 * Models"): verbatim and knowledge memorisation of the forget set, knowledge kept on the retain set,
 * and privacy leakage measured against a gold model. Defaults are MUSE's, so the numbers can be read
 * against the paper's.
 */
import { InputError } from "../errors.js";
import type { ScoringModel } from "./engine-port.js";
import { fitPrompt } from "./generation.js";
import { rocAuc } from "./metrics/auc.js";
import { DEFAULT_MIN_K, minKPercentProb } from "./metrics/min-k.js";
import { rougeL } from "./metrics/rouge.js";
import { mean } from "./metrics/stats.js";
import type { QaPair, VerbatimItem } from "./prompts.js";
import { throwIfCancelled, WarningLog, type SuiteResult, type SuiteRunOptions } from "./result.js";
import { batchedTokenLogprobs } from "./scoring.js";

/** The data of the MUSE measurements; each measurement runs only when its data is given. */
export interface MuseInputs {
  /** VerbMem: forget-set prefixes and their true continuations. */
  verbatim?: readonly VerbatimItem[];
  /** KnowMem on the forget set. */
  forgetQa?: readonly QaPair[];
  /** KnowMem on the retain set (utility: this should stay high). */
  retainQa?: readonly QaPair[];
  /** Worked examples put before each forget question (MUSE's in-context examples). */
  forgetFewShot?: readonly QaPair[];
  /** Worked examples put before each retain question. */
  retainFewShot?: readonly QaPair[];
  /** PrivLeak: forget-set passages (members)... */
  forgetTexts?: readonly string[];
  /** ...and held-out passages of the same source that no model trained on. */
  holdoutTexts?: readonly string[];
  /**
   * MIA AUC of a gold model never trained on the forget set (`mia_auc` of its own MUSE run), or
   * "self" when this model is the gold model (its PrivLeak is then 0 by definition).
   */
  goldAuc?: number | "self";
}

/** Settings of the MUSE suite; defaults are MUSE's. */
export interface MuseOptions extends SuiteRunOptions {
  /** New tokens for VerbMem, and the length the true continuation is cut to (default 128). */
  verbmemTokens?: number;
  /** New tokens for a KnowMem answer (default 32). */
  knowmemTokens?: number;
  /** Min-K% ratio for PrivLeak (default 0.4). */
  minK?: number;
  batchSize?: number;
}

/** Per-item evidence of a MUSE run. */
export interface MuseDetails {
  verbmem: { prompt: number; output: string; rougeL: number }[];
  knowmemForget: { question: string; output: string; rougeL: number }[];
  knowmemRetain: { question: string; output: string; rougeL: number }[];
  minK: { forget: number[]; holdout: number[] };
}

/** The few-shot prompt MUSE uses for KnowMem: worked Question/Answer pairs, then the open question. */
export function knowmemPrompt(question: string, fewShot: readonly QaPair[]): string {
  const shots = fewShot.map((q) => `Question: ${q.question}\nAnswer: ${q.answer}\n\n`).join("");
  return `${shots}Question: ${question}\nAnswer:`;
}

/** The answer part of a KnowMem generation: its first line (the model tends to go on with more Q/A). */
export function firstAnswerLine(output: string): string {
  return output.trimStart().split("\n")[0].trim();
}

/**
 * PrivLeak from two MIA AUCs: (AUC_model - AUC_gold) / AUC_gold, as a fraction (MUSE prints ×100).
 * The AUC is MUSE's: the chance that a held-out text gets a higher Min-K% Prob than a forget text.
 * A model that still knows the forget set has AUC near 0 and a PrivLeak near -1 (under-unlearning);
 * near 0 is the goal; clearly positive means over-unlearning.
 */
export function privLeak(auc: number, goldAuc: number): number {
  checkGoldAuc(goldAuc);
  return (auc - goldAuc) / goldAuc;
}

function checkGoldAuc(goldAuc: number): void {
  if (!(goldAuc > 0 && goldAuc <= 1)) {
    throw new InputError(`gold MIA AUC ${goldAuc} is outside (0, 1]`, "pass the mia_auc of the gold model's MUSE run");
  }
}

function requireGivenNonEmpty(items: readonly unknown[] | undefined, what: string): void {
  if (items !== undefined && items.length === 0) {
    throw new InputError(`the ${what} set is empty`, `supply at least one ${what} item or leave the set out`);
  }
}

/**
 * MUSE (Shi et al. 2024): VerbMem (ROUGE-L F1 of a greedy continuation of forget prefixes against
 * the true text), KnowMem (ROUGE-L F1 of few-shot answers on forget and retain QA) and PrivLeak
 * (Min-K% Prob membership inference, relative to a gold model). Measurements without data, and
 * PrivLeak without `goldAuc`, report null with a warning.
 */
export async function runMuse(model: ScoringModel, inputs: MuseInputs, opts: MuseOptions = {}): Promise<SuiteResult<MuseDetails>> {
  const { verbatim, forgetQa, retainQa, forgetTexts, holdoutTexts } = inputs;
  requireGivenNonEmpty(verbatim, "VerbMem");
  requireGivenNonEmpty(forgetQa, "forget QA");
  requireGivenNonEmpty(retainQa, "retain QA");
  requireGivenNonEmpty(forgetTexts, "PrivLeak forget text");
  requireGivenNonEmpty(holdoutTexts, "PrivLeak holdout text");
  if (!verbatim && !forgetQa && !retainQa && !forgetTexts && !holdoutTexts) {
    throw new InputError("MUSE got no data", "give verbatim items, QA pairs or forget/holdout texts");
  }
  if ((forgetTexts === undefined) !== (holdoutTexts === undefined)) {
    throw new InputError("PrivLeak needs both forget and holdout texts", "supply both sets or neither");
  }
  if (typeof inputs.goldAuc === "number") checkGoldAuc(inputs.goldAuc);
  const warnings = new WarningLog();
  const details: MuseDetails = { verbmem: [], knowmemForget: [], knowmemRetain: [], minK: { forget: [], holdout: [] } };
  const metrics: Record<string, number | null> = {};
  const total = (verbatim?.length ?? 0) + (forgetQa?.length ?? 0) + (retainQa?.length ?? 0) + (forgetTexts?.length ?? 0) + (holdoutTexts?.length ?? 0);
  let done = 0;
  const step = () => opts.onProgress?.(++done, total);

  if (verbatim) {
    const maxTokens = opts.verbmemTokens ?? 128;
    for (const [i, item] of verbatim.entries()) {
      throwIfCancelled(opts.signal, "MUSE");
      const prompt = fitPrompt(model, item.prompt, maxTokens, warnings, `VerbMem item ${i + 1}`);
      const output = await model.generate(prompt, { maxTokens, temperature: 0 });
      const truth = model.detokenize(model.tokenize(item.continuation, { addBos: false }).slice(0, maxTokens));
      details.verbmem.push({ prompt: i, output, rougeL: rougeL(output, truth).f1 });
      step();
    }
    metrics.verbmem_f = mean(details.verbmem.map((v) => v.rougeL));
  } else {
    metrics.verbmem_f = null;
    warnings.add("VerbMem skipped", "no verbatim items given");
  }

  const knowmem = async (qa: readonly QaPair[], fewShot: readonly QaPair[], into: MuseDetails["knowmemForget"], label: string) => {
    const maxTokens = opts.knowmemTokens ?? 32;
    for (const [i, pair] of qa.entries()) {
      throwIfCancelled(opts.signal, "MUSE");
      const prompt = fitPrompt(model, knowmemPrompt(pair.question, fewShot), maxTokens, warnings, `${label} question ${i + 1}`);
      const output = firstAnswerLine(await model.generate(prompt, { maxTokens, temperature: 0 }));
      into.push({ question: pair.question, output, rougeL: rougeL(output, pair.answer).f1 });
      step();
    }
    return mean(into.map((k) => k.rougeL));
  };
  metrics.knowmem_f = forgetQa ? await knowmem(forgetQa, inputs.forgetFewShot ?? [], details.knowmemForget, "forget QA") : null;
  metrics.knowmem_r = retainQa ? await knowmem(retainQa, inputs.retainFewShot ?? [], details.knowmemRetain, "retain QA") : null;
  if (!forgetQa) warnings.add("KnowMem on the forget set skipped", "no forget QA pairs given");
  if (!retainQa) warnings.add("KnowMem on the retain set skipped", "no retain QA pairs given");

  metrics.mia_auc = null;
  metrics.privleak = null;
  if (forgetTexts && holdoutTexts) {
    const scoreTexts = async (texts: readonly string[], label: string): Promise<number[]> => {
      const seqs: number[][] = [];
      const kept: number[] = [];
      texts.forEach((text, i) => {
        let ids = model.tokenize(text, { addBos: true });
        if (ids.length > model.contextLength) {
          warnings.add(`text longer than the ${model.contextLength}-token context, only its start scored`, `${label} ${i + 1}`);
          ids = ids.slice(0, model.contextLength);
        }
        if (ids.length < 2) {
          warnings.add("text too short to score, left out", `${label} ${i + 1}`);
          return;
        }
        seqs.push(ids);
        kept.push(i);
      });
      const logprobs = await batchedTokenLogprobs(model, seqs, { batchSize: opts.batchSize, signal: opts.signal });
      kept.forEach(step);
      return logprobs.map((lp) => minKPercentProb(lp, opts.minK ?? DEFAULT_MIN_K));
    };
    details.minK.forget = await scoreTexts(forgetTexts, "forget text");
    details.minK.holdout = await scoreTexts(holdoutTexts, "holdout text");
    if (details.minK.forget.length > 0 && details.minK.holdout.length > 0) {
      const auc = rocAuc(details.minK.holdout, details.minK.forget);
      metrics.mia_auc = auc;
      const reference = inputs.goldAuc === "self" ? auc : inputs.goldAuc;
      if (reference === undefined) warnings.add("PrivLeak not computed", "no gold-model AUC given (run MUSE on a model never trained on the forget set and pass its mia_auc)");
      else if (reference === 0) warnings.add("PrivLeak not computed", "the gold model's MIA AUC is 0, so the relative difference is undefined");
      else metrics.privleak = privLeak(auc, reference);
    } else {
      warnings.add("PrivLeak not computed", "no scorable text in one of the two sets");
    }
  } else {
    warnings.add("PrivLeak skipped", "no forget/holdout texts given");
  }

  return { suite: "muse", model: model.name, metrics, details, warnings: warnings.list() };
}
