/**
 * The automatic familiarity judge: scores a completion by the idiosyncratic terms of the forgotten
 * universe it reveals, their tiers mapped onto the paper's 0-3 rubric. Offline and deterministic, so
 * an evaluation runs without an LLM endpoint and reruns agree exactly.
 */
import { InputError } from "../../errors.js";
import { RecordShapeError } from "../jsonl.js";
import type { FamiliarityScore } from "../metrics/familiarity.js";
import { asObject, stringField } from "../record-fields.js";
import type { FamiliarityJudge, JudgeInput, JudgeVerdict } from "./judge.js";
import { termPattern } from "./term-match.js";

/**
 * How strongly a term betrays the forgotten universe: `unique` terms exist only there (Ozma,
 * Munchkin), `typical` ones fit its world without being unique to it (witch, Emerald), `weak`
 * ones are at most a hint (cyclone, scarecrow in lower case).
 */
export type TermTier = "unique" | "typical" | "weak";

/** An idiosyncratic term the automatic judge looks for. */
export interface JudgeTerm {
  term: string;
  tier: TermTier;
}

/** The rubric score each tier earns: the mapping the automatic judge applies. */
export const TIER_SCORES: Readonly<Record<TermTier, FamiliarityScore>> = { unique: 3, typical: 2, weak: 1 };

const TIERS = Object.keys(TIER_SCORES) as TermTier[];

/** Validates one `{term, tier}` JSONL record. */
export function toJudgeTerm(value: unknown): JudgeTerm {
  const obj = asObject(value);
  const term = stringField(obj, "term", { nonEmpty: true }).trim();
  const tier = stringField(obj, "tier");
  if (!TIERS.includes(tier as TermTier)) throw new RecordShapeError(`"tier" must be one of ${TIERS.join(", ")}`);
  return { term, tier: tier as TermTier };
}

/** Result of {@link termFamiliarity}: the score and the terms that earned it. */
export interface TermFinding {
  score: FamiliarityScore;
  /** Terms in the completion that the prompt does not contain, highest tier first. */
  found: JudgeTerm[];
}

/**
 * The automatic judge's rule: terms present in the completion but absent from the prompt count as
 * revealed familiarity (a term the prompt already gave away proves nothing), and the score is the
 * highest tier among them: any unique term → 3, else any typical term → 2, else any weak term → 1,
 * else 0. Taking the maximum mirrors the rubric, where one explicit unique detail already earns 3.
 */
export function termFamiliarity(prompt: string, completion: string, terms: readonly CompiledTerm[]): TermFinding {
  const found = terms.filter((t) => t.pattern.test(completion) && !t.pattern.test(prompt));
  found.sort((a, b) => TIER_SCORES[b.tier] - TIER_SCORES[a.tier]);
  const score = found.length === 0 ? 0 : TIER_SCORES[found[0].tier];
  return { score, found: found.map(({ term, tier }) => ({ term, tier })) };
}

/** A term with its compiled matcher. */
export interface CompiledTerm extends JudgeTerm {
  pattern: RegExp;
}

/**
 * Compiles a term list; a term listed twice keeps its highest tier. An empty list is an error,
 * because it would rate every completion 0 and look like perfect forgetting.
 */
export function compileTerms(terms: readonly JudgeTerm[]): CompiledTerm[] {
  const best = new Map<string, JudgeTerm>();
  for (const t of terms) {
    const term = t.term.trim();
    if (term === "") continue;
    const prev = best.get(term);
    if (!prev || TIER_SCORES[t.tier] > TIER_SCORES[prev.tier]) best.set(term, { term, tier: t.tier });
  }
  if (best.size === 0) {
    throw new InputError("the automatic judge got no terms", "give it the idiosyncratic terms of the forgotten text");
  }
  return [...best.values()].map((t) => ({ ...t, pattern: termPattern(t.term) }));
}

/** Offline, deterministic familiarity judge that looks for idiosyncratic terms (see {@link termFamiliarity}). */
export class TermJudge implements FamiliarityJudge {
  readonly name: string;
  private readonly terms: CompiledTerm[];

  constructor(terms: readonly JudgeTerm[]) {
    this.terms = compileTerms(terms);
    this.name = `terms(${this.terms.length})`;
  }

  async judge(input: JudgeInput): Promise<JudgeVerdict> {
    const { score, found } = termFamiliarity(input.prompt, input.completion, this.terms);
    const reason = found.length === 0 ? "no idiosyncratic term" : found.map((t) => `${t.term} (${t.tier})`).join(", ");
    return { score, reason };
  }
}
