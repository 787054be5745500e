/**
 * The contract between the completion-based familiarity suite and whatever scores its completions
 * (the offline term judge or an LLM). A failed judgement is an outcome of its own, never a score of
 * 0, so a broken judge cannot pass for perfect forgetting.
 */
import type { FamiliarityScore } from "../metrics/familiarity.js";

/** What a judge sees: the prompt, the model's completion, and the book's true continuation(s). */
export interface JudgeInput {
  prompt: string;
  completion: string;
  references: readonly string[];
}

/** A judge's ruling: a rubric score with its reason, or a failure that must not count as a score. */
export type JudgeVerdict =
  | { score: FamiliarityScore; reason: string }
  | { score: null; failure: string };

/** Scores completions on the paper's 0-3 familiarity rubric. */
export interface FamiliarityJudge {
  /** Shown in results, e.g. "terms(42)" or "llm(gpt-4o)". */
  readonly name: string;
  judge(input: JudgeInput): Promise<JudgeVerdict>;
}
