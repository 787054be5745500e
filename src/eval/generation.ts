/**
 * What the suites that generate text share: a prompt must leave room in the context window for the
 * new tokens, and every suite should shorten an over-long prompt the same way and say that it did.
 */
import { InputError } from "../errors.js";
import type { ScoringModel } from "./engine-port.js";
import type { WarningLog } from "./result.js";

/**
 * Returns `prompt`, or its tail when prompt plus `maxTokens` new tokens would overflow the context:
 * generation needs the text nearest the cut, so the left is dropped (with a warning naming `label`).
 */
export function fitPrompt(
  model: ScoringModel,
  prompt: string,
  maxTokens: number,
  warnings: WarningLog,
  label: string,
): string {
  const budget = model.contextLength - maxTokens;
  const withBos = model.tokenize(prompt, { addBos: true });
  if (withBos.length <= budget) return prompt;
  const bare = model.tokenize(prompt, { addBos: false });
  const bos = withBos.length - bare.length;
  const keep = budget - bos;
  if (keep < 1) {
    throw new InputError(
      `${maxTokens} new tokens leave no room for a prompt in ${model.name}'s ${model.contextLength}-token context`,
      "ask for fewer new tokens",
    );
  }
  warnings.add(`prompt plus ${maxTokens} new tokens exceeds the ${model.contextLength}-token context, prompt truncated from the left`, label);
  return model.detokenize(bare.slice(bare.length - keep));
}
