/**
 * The evaluation's prompt sets and QA pairs: their shapes and their strict loading from JSONL. These
 * files are small and written by hand, so a bad line stops the load instead of quietly shrinking the
 * set.
 */
import { InputError } from "../errors.js";
import { describeProblems, readJsonl, validateRecords } from "./jsonl.js";
import { asObject, stringArrayField, stringField } from "./record-fields.js";

/** A familiarity-completion prompt; `references` are true continuations shown to the LLM judge. */
export interface CompletionPrompt {
  prompt: string;
  references: string[];
}

/** A familiarity-probability prompt; `targets` are alternative idiosyncratic continuations. */
export interface ProbabilityPrompt {
  prompt: string;
  targets: string[];
}

/** A question and its short answer, for MUSE KnowMem. */
export interface QaPair {
  question: string;
  answer: string;
}

/** A passage prefix and its true continuation, for MUSE VerbMem. */
export interface VerbatimItem {
  prompt: string;
  continuation: string;
}

/** Validates one `{prompt, references?}` record; missing references mean none. */
export function toCompletionPrompt(value: unknown): CompletionPrompt {
  const obj = asObject(value);
  return {
    prompt: stringField(obj, "prompt", { nonEmpty: true }),
    references: obj.references === undefined ? [] : stringArrayField(obj, "references"),
  };
}

/** Validates one `{prompt, targets}` record; at least one non-empty target. */
export function toProbabilityPrompt(value: unknown): ProbabilityPrompt {
  const obj = asObject(value);
  return {
    prompt: stringField(obj, "prompt", { nonEmpty: true }),
    targets: stringArrayField(obj, "targets", { minLength: 1, nonEmptyItems: true }),
  };
}

/** Validates one `{question, answer}` record. */
export function toQaPair(value: unknown): QaPair {
  const obj = asObject(value);
  return {
    question: stringField(obj, "question", { nonEmpty: true }),
    answer: stringField(obj, "answer", { nonEmpty: true }),
  };
}

/** Validates one `{prompt, continuation}` record. */
export function toVerbatimItem(value: unknown): VerbatimItem {
  const obj = asObject(value);
  return {
    prompt: stringField(obj, "prompt", { nonEmpty: true }),
    continuation: stringField(obj, "continuation", { nonEmpty: true }),
  };
}

/** Validates one `{text}` record (held-out or forget passages for PrivLeak and perplexity). */
export function toText(value: unknown): string {
  return stringField(asObject(value), "text", { nonEmpty: true });
}

/**
 * Loads a user-written prompt file strictly: any bad line fails the load with every problem's line
 * number (a prompt set is small and hand-made, so fixing it beats silently dropping prompts), and
 * an empty set is an error.
 */
export async function loadPromptFile<T>(path: string, validate: (value: unknown) => T): Promise<T[]> {
  const { records, problems } = validateRecords(await readJsonl(path), validate);
  if (problems.length > 0) {
    throw new InputError(
      `${path} has ${problems.length} unusable line(s): ${describeProblems(path, problems)}`,
      "fix or remove the listed lines",
    );
  }
  if (records.length === 0) {
    throw new InputError(`${path} holds no entries`, "add at least one JSON object per line");
  }
  return records.map((r) => r.value);
}

/** Throws the standard "empty prompt set" error when a suite is given nothing to evaluate. */
export function requireNonEmpty<T>(items: readonly T[], what: string): void {
  if (items.length === 0) {
    throw new InputError(`the ${what} set is empty`, `supply at least one ${what} item`);
  }
}
