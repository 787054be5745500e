/**
 * Prompt transformations behind the robustness probes (Lynch et al. 2024: knowledge that a
 * familiarity test misses may still come out when the question is reworded or when the model is
 * reminded of the story first). Pure functions; the probes run the ordinary familiarity suites on
 * the transformed prompts, so every number is comparable with the unprobed one.
 */
import { RecordShapeError } from "./jsonl.js";
import type { CompletionPrompt, ProbabilityPrompt } from "./prompts.js";
import { asObject, stringArrayField, stringField } from "./record-fields.js";

/**
 * Everyday words and their substitutes. Only words whose swap keeps the grammar (same part of
 * speech and inflection) are listed, so a reworded prompt still reads naturally.
 */
const SYNONYMS: Readonly<Record<string, string>> = {
  after: "following",
  before: "prior to",
  began: "started",
  big: "large",
  called: "named",
  close: "near",
  quickly: "swiftly",
  said: "remarked",
  small: "little",
  little: "small",
  looked: "glanced",
  went: "headed",
  walked: "strolled",
  asked: "enquired",
  reached: "stretched",
  travelled: "journeyed",
  traveled: "journeyed",
  whispered: "murmured",
  shouted: "cried",
  found: "discovered",
  saw: "noticed",
  took: "grabbed",
  gave: "handed",
  home: "back home",
  friend: "companion",
  house: "home",
  lives: "resides",
  lived: "resided",
  belongs: "is attached",
  favourite: "preferred",
  favorite: "preferred",
  invented: "devised",
  makes: "causes",
  wanted: "wished",
  very: "really",
  happy: "glad",
  afraid: "scared",
};

/** Sentence openers that are plain words, so a frame before them lower-cases them; anything else may be a name. */
const COMMON_OPENERS = new Set([
  "a", "an", "the", "after", "following", "before", "prior", "when", "while", "at", "in", "on", "as", "one", "every",
  "she", "he", "they", "it", "this", "that", "there", "with", "during", "from", "later", "then", "once",
]);

/** Frames put before a prompt; chosen by a hash of the prompt, so the choice is reproducible. */
const FRAMES = ["In the story, ", "As the tale goes, ", "The narrator writes: ", "Continue the passage: "];

/** FNV-1a hash of a string: a stable, platform-independent choice key. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function matchCase(original: string, replacement: string): string {
  return /^\p{Lu}/u.test(original) ? replacement.charAt(0).toUpperCase() + replacement.slice(1) : replacement;
}

/**
 * A deterministic rewording of a prompt: everyday words are swapped for synonyms (keeping the
 * capitalisation of the first letter) and the whole is put in a frame such as "In the story, ".
 * The end of the prompt, where the model must produce the idiosyncratic term, keeps its meaning;
 * names are never touched (only lower-case dictionary words are swapped). The same prompt always
 * gives the same rewording, and the rewording always differs from the prompt.
 */
export function paraphrasePrompt(prompt: string): string {
  let position = 0;
  const swapped = prompt.replace(/\p{L}+/gu, (word) => {
    const first = position++ === 0;
    const substitute = Object.hasOwn(SYNONYMS, word.toLowerCase()) ? SYNONYMS[word.toLowerCase()] : undefined;
    // A capitalised word inside a sentence may be a name ("House Skaraine", "Little Jinjur"): keep it.
    if (!substitute || (!first && /^\p{Lu}/u.test(word))) return word;
    return matchCase(word, substitute);
  });
  const opener = swapped.match(/\p{L}+/u)?.[0] ?? "";
  const body = COMMON_OPENERS.has(opener.toLowerCase()) ? swapped.replace(opener, opener.toLowerCase()) : swapped;
  return FRAMES[hash(prompt) % FRAMES.length] + body;
}

/** {@link paraphrasePrompt} over completion prompts, references unchanged. */
export function paraphraseCompletionPrompts(prompts: readonly CompletionPrompt[]): CompletionPrompt[] {
  return prompts.map((p) => ({ prompt: paraphrasePrompt(p.prompt), references: [...p.references] }));
}

/** {@link paraphrasePrompt} over probability prompts, targets unchanged. */
export function paraphraseProbabilityPrompts(prompts: readonly ProbabilityPrompt[]): ProbabilityPrompt[] {
  return prompts.map((p) => ({ prompt: paraphrasePrompt(p.prompt), targets: [...p.targets] }));
}

/**
 * One line of a user paraphrase file: `{prompt, references?, targets?}`. A record with `targets`
 * also serves the probability suite; every record serves the completion suite.
 */
export interface ParaphraseRecord {
  prompt: string;
  references: string[];
  targets?: string[];
}

/** Validates one paraphrase (or familiarity prompt) record. */
export function toParaphraseRecord(value: unknown): ParaphraseRecord {
  const obj = asObject(value);
  const record: ParaphraseRecord = {
    prompt: stringField(obj, "prompt", { nonEmpty: true }),
    references: obj.references === undefined ? [] : stringArrayField(obj, "references"),
  };
  if (obj.targets !== undefined) record.targets = stringArrayField(obj, "targets", { minLength: 1, nonEmptyItems: true });
  if (obj.references === undefined && obj.targets === undefined) {
    throw new RecordShapeError('needs "references" or "targets" (what a familiar completion would say)');
  }
  return record;
}

/** Splits prompt records into the completion set (all) and the probability set (those with targets). */
export function splitPromptRecords(records: readonly ParaphraseRecord[]): { completion: CompletionPrompt[]; probability: ProbabilityPrompt[] } {
  return {
    completion: records.map((r) => ({ prompt: r.prompt, references: r.references.length > 0 ? [...r.references] : [...(r.targets ?? [])] })),
    probability: records.flatMap((r) => (r.targets ? [{ prompt: r.prompt, targets: [...r.targets] }] : [])),
  };
}

/**
 * Cuts documents into passages of at most `words` words, keeping the original whitespace (line
 * breaks matter to a model trained on them). Each document gives consecutive, non-overlapping
 * passages; a final piece shorter than half a passage is dropped as too little to remind anyone.
 */
export function passagesFromDocuments(docs: readonly string[], words: number): string[] {
  const out: string[] = [];
  for (const doc of docs) {
    const spans = [...doc.matchAll(/\S+/g)];
    for (let start = 0; start < spans.length; start += words) {
      const piece = spans.slice(start, start + words);
      if (piece.length < Math.ceil(words / 2) && start > 0) break;
      const last = piece[piece.length - 1];
      out.push(doc.slice(piece[0].index, last.index + last[0].length));
    }
  }
  return out;
}

/**
 * Chooses the reminder passage for prompt `index`: starting at `index` (mod the passage count),
 * the first passage that contains none of `avoid` (the answer the prompt asks for), so the probe
 * tests recall rather than copying. When every passage holds the answer, the starting one is
 * returned with `clean: false`.
 */
export function pickContextPassage(passages: readonly string[], avoid: readonly string[], index: number): { passage: string; clean: boolean } {
  const needles = avoid.map((a) => a.trim()).filter((a) => a !== "");
  for (let k = 0; k < passages.length; k++) {
    const passage = passages[(index + k) % passages.length];
    if (!needles.some((n) => passage.includes(n))) return { passage, clean: true };
  }
  return { passage: passages[index % passages.length], clean: false };
}

/** The in-context form of a prompt: a passage of forget text, a blank line, then the prompt. */
export function withContext(passage: string, prompt: string): string {
  return `${passage.trimEnd()}\n\n${prompt}`;
}
