import { InputError } from "../errors.js";
import { termPattern } from "./judge/term-match.js";
import type { VerbatimItem } from "./prompts.js";
import { SeededRandom } from "../util/random.js";

/** A familiarity prompt cut from the forget corpus; usable by both familiarity suites. */
export interface GeneratedPrompt {
  /** The sentence up to (not including) the first anchored term. */
  prompt: string;
  /** The sentence's true remainder, from the term on (what the LLM judge compares against). */
  references: string[];
  /** The term(s) that followed the prompt, as written in the text (familiarity-probability targets). */
  targets: string[];
}

/** Settings of {@link generateFamiliarityPrompts}. */
export interface PromptGenOptions {
  /** Most prompts per term (default 5). */
  perTerm?: number;
  /** Most prompts in all (default 300, the paper's count). */
  maxPrompts?: number;
  /** Fewest words before the term; shorter prefixes say too little to test anything (default 6). */
  minPrefixWords?: number;
  /** Picks which occurrences of a term are used; same seed, same prompts (default 1). */
  seed?: number;
}

/** Paragraphs with their line wraps undone (Gutenberg text is hard-wrapped at ~70 columns). */
function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter((p) => p.length > 0);
}

/** Splits a paragraph after . ! ? (and closing quotes) followed by a capital or an opening quote. */
export function splitSentences(paragraph: string): string[] {
  return paragraph
    .split(/(?<=[.!?]["'”’)]*)\s+(?=["'“‘(]?\p{Lu})/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Builds familiarity prompts from a forget corpus: every sentence that mentions an anchored term is
 * cut right before its first mention, so the model must supply the idiosyncratic name itself.
 * Identical prompts are merged (their targets pooled), and prompts are drawn round-robin across terms,
 * at most `perTerm` each, so frequent names (Dorothy) do not crowd out rare ones (Billina).
 */
export function generateFamiliarityPrompts(
  corpus: string | readonly string[],
  terms: readonly string[],
  opts: PromptGenOptions = {},
): GeneratedPrompt[] {
  const perTerm = opts.perTerm ?? 5;
  const maxPrompts = opts.maxPrompts ?? 300;
  const minPrefixWords = opts.minPrefixWords ?? 6;
  const matchers = [...new Set(terms.map((t) => t.trim()).filter((t) => t !== ""))].map((term) => ({ term, pattern: termPattern(term) }));
  if (matchers.length === 0) throw new InputError("no anchored terms given for prompt generation", "give the entity names to cut before");

  const byPrompt = new Map<string, GeneratedPrompt & { term: string }>();
  for (const text of typeof corpus === "string" ? [corpus] : corpus) {
    for (const paragraph of paragraphs(text)) {
      for (const sentence of splitSentences(paragraph)) {
        let best: { term: string; index: number; length: number } | undefined;
        for (const { term, pattern } of matchers) {
          const m = pattern.exec(sentence);
          if (m && (!best || m.index < best.index || (m.index === best.index && term.length > best.length))) {
            best = { term, index: m.index, length: term.length };
          }
        }
        if (!best) continue;
        const prompt = sentence.slice(0, best.index).trimEnd();
        if (prompt.split(/\s+/).filter((w) => w !== "").length < minPrefixWords) continue;
        const target = sentence.slice(best.index, best.index + best.length);
        const reference = sentence.slice(best.index);
        const key = prompt.toLowerCase();
        const seen = byPrompt.get(key);
        if (!seen) byPrompt.set(key, { prompt, references: [reference], targets: [target], term: best.term });
        else {
          if (!seen.targets.includes(target)) seen.targets.push(target);
          if (!seen.references.includes(reference)) seen.references.push(reference);
        }
      }
    }
  }

  const rng = new SeededRandom(opts.seed ?? 1);
  const random = () => rng.nextFloat();
  const groups = matchers.map(({ term }) =>
    shuffle([...byPrompt.values()].filter((p) => p.term === term), random).slice(0, perTerm),
  );
  const picked: GeneratedPrompt[] = [];
  for (let round = 0; picked.length < maxPrompts && groups.some((g) => round < g.length); round++) {
    for (const group of groups) {
      if (round < group.length && picked.length < maxPrompts) {
        const { prompt, references, targets } = group[round];
        picked.push({ prompt, references, targets });
      }
    }
  }
  return picked;
}

/**
 * Cuts `count` evenly spaced, non-overlapping passages of `words` words from a text (whitespace
 * normalised). Evenly spaced rather than random so the same corpus always gives the same set.
 * Returns fewer passages when the text is too short.
 */
export function samplePassages(text: string, count: number, words: number): string[] {
  const all = text.split(/\s+/).filter((w) => w !== "");
  const fit = Math.min(count, Math.floor(all.length / words));
  if (fit <= 0) return [];
  const stride = Math.floor(all.length / fit);
  return Array.from({ length: fit }, (_, i) => all.slice(i * stride, i * stride + words).join(" "));
}

/**
 * MUSE VerbMem items from a forget corpus: passages of `prefixWords + continuationWords` words,
 * each split into the prompt and the true continuation the model should not reproduce.
 */
export function generateVerbatimItems(
  text: string,
  opts: { count?: number; prefixWords?: number; continuationWords?: number } = {},
): VerbatimItem[] {
  const prefixWords = opts.prefixWords ?? 50;
  const continuationWords = opts.continuationWords ?? 100;
  return samplePassages(text, opts.count ?? 100, prefixWords + continuationWords).map((passage) => {
    const words = passage.split(" ");
    return { prompt: words.slice(0, prefixWords).join(" "), continuation: words.slice(prefixWords).join(" ") };
  });
}
