/**
 * Evaluation items cut from the text itself when nobody wrote them by hand: the forget corpus's
 * idiosyncratic terms (words far more frequent in it than in the retain text), familiarity prompts
 * cut before them, cloze questions, and VerbMem passages. Nothing here knows any particular corpus:
 * every choice is a count, a ratio or a position in the text given.
 */
import { InputError } from "../errors.js";
import { termPattern } from "./judge/term-match.js";
import type { JudgeTerm } from "./judge/term-judge.js";
import type { QaPair, VerbatimItem } from "./prompts.js";
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

/** A sentence of the corpus and the first anchored term in it. */
interface TermMention {
  sentence: string;
  term: string;
  /** Where the term starts in the sentence. */
  index: number;
  /** The text the term's matcher took there, with any plural or possessive ending. */
  match: string;
}

/**
 * Every sentence of the corpus that mentions a term, with its earliest mention (at the same place
 * the longest term, so "Tin Woodman" wins over "Tin").
 */
function termMentions(corpus: string | readonly string[], terms: readonly string[]): TermMention[] {
  const matchers = [...new Set(terms.map((t) => t.trim()).filter((t) => t !== ""))].map((term) => ({ term, pattern: termPattern(term) }));
  if (matchers.length === 0) throw new InputError("no anchored terms given for prompt generation", "give the entity names to cut before");
  const mentions: TermMention[] = [];
  for (const text of typeof corpus === "string" ? [corpus] : corpus) {
    for (const paragraph of paragraphs(text)) {
      for (const sentence of splitSentences(paragraph)) {
        let best: TermMention | undefined;
        for (const { term, pattern } of matchers) {
          const m = pattern.exec(sentence);
          if (m && (!best || m.index < best.index || (m.index === best.index && term.length > best.term.length))) {
            best = { sentence, term, index: m.index, match: m[0] };
          }
        }
        if (best) mentions.push(best);
      }
    }
  }
  return mentions;
}

/**
 * Up to `perTerm` items of each term, shuffled by `seed`, taken round-robin across the terms in the
 * order given until `max`, so frequent names (Dorothy) do not crowd out rare ones (Billina).
 */
function balancedByTerm<T extends { term: string }>(items: readonly T[], terms: readonly string[], perTerm: number, max: number, seed: number): T[] {
  const rng = new SeededRandom(seed);
  const random = () => rng.nextFloat();
  const groups = [...new Set(terms.map((t) => t.trim()))].map((term) => shuffle(items.filter((p) => p.term === term), random).slice(0, perTerm));
  const picked: T[] = [];
  for (let round = 0; picked.length < max && groups.some((g) => round < g.length); round++) {
    for (const group of groups) if (round < group.length && picked.length < max) picked.push(group[round]);
  }
  return picked;
}

const wordCount = (text: string) => text.split(/\s+/).filter((w) => w !== "").length;

/**
 * Builds familiarity prompts from a forget corpus: every sentence that mentions an anchored term is
 * cut right before its first mention, so the model must supply the idiosyncratic name itself.
 * Identical prompts are merged (their targets pooled), and prompts are drawn round-robin across terms,
 * at most `perTerm` each.
 */
export function generateFamiliarityPrompts(
  corpus: string | readonly string[],
  terms: readonly string[],
  opts: PromptGenOptions = {},
): GeneratedPrompt[] {
  const minPrefixWords = opts.minPrefixWords ?? 6;
  const byPrompt = new Map<string, GeneratedPrompt & { term: string }>();
  for (const { sentence, term, index } of termMentions(corpus, terms)) {
    const prompt = sentence.slice(0, index).trimEnd();
    if (wordCount(prompt) < minPrefixWords) continue;
    const target = sentence.slice(index, index + term.length);
    const reference = sentence.slice(index);
    const key = prompt.toLowerCase();
    const seen = byPrompt.get(key);
    if (!seen) byPrompt.set(key, { prompt, references: [reference], targets: [target], term });
    else {
      if (!seen.targets.includes(target)) seen.targets.push(target);
      if (!seen.references.includes(reference)) seen.references.push(reference);
    }
  }
  return balancedByTerm([...byPrompt.values()], terms, opts.perTerm ?? 5, opts.maxPrompts ?? 300, opts.seed ?? 1).map(
    ({ prompt, references, targets }) => ({ prompt, references, targets }),
  );
}

/** Settings of {@link generateClozeQa}. */
export interface ClozeOptions {
  /** Most questions per term (default 5). */
  perTerm?: number;
  /** Most questions in all (default 100). */
  maxQuestions?: number;
  /** Fewest words of context around the blank (default 6). */
  minWords?: number;
  /** Most words of a sentence, so a question and its worked examples fit a small context (default 40). */
  maxWords?: number;
  seed?: number;
}

/** What a cloze question shows where the term was. */
export const CLOZE_BLANK = "____";

/**
 * Cloze questions for MUSE KnowMem: a sentence that mentions a term, with its first mention blanked;
 * the answer is the mention as written. Sentences that name the term again after the blank would
 * give the answer away and are skipped.
 */
export function generateClozeQa(corpus: string | readonly string[], terms: readonly string[], opts: ClozeOptions = {}): QaPair[] {
  const minWords = opts.minWords ?? 6;
  const maxWords = opts.maxWords ?? 40;
  const seen = new Set<string>();
  const items: (QaPair & { term: string })[] = [];
  for (const { sentence, term, index, match } of termMentions(corpus, terms)) {
    const before = sentence.slice(0, index);
    const after = sentence.slice(index + match.length);
    const words = wordCount(before) + wordCount(after);
    if (words < minWords || words > maxWords || termPattern(term).test(after)) continue;
    const question = `Fill in the blank: ${before}${CLOZE_BLANK}${after}`;
    if (seen.has(question)) continue;
    seen.add(question);
    items.push({ question, answer: match, term });
  }
  return balancedByTerm(items, terms, opts.perTerm ?? 5, opts.maxQuestions ?? 100, opts.seed ?? 1).map(({ question, answer }) => ({ question, answer }));
}

/** A word of the forget corpus and how much more often it occurs there than in the retain text. */
export interface IdiosyncraticTerm {
  /** The word as most often written in the forget corpus ("Dorothy", "munchkin"). */
  term: string;
  forgetCount: number;
  retainCount: number;
  /** ln of the smoothed frequency ratio, forget over retain. */
  logRatio: number;
}

/** Settings of {@link idiosyncraticTerms}. */
export interface TermOptions {
  /** Most terms returned, best first (default 100). */
  top?: number;
  /** Fewest occurrences in the forget corpus; rarer words are noise, not knowledge (default 5). */
  minCount?: number;
  /** Least ln frequency ratio: the default ln 10 keeps words at least ten times more frequent in the forget corpus. */
  minLogRatio?: number;
}

/** Words: letters, with hyphenated compounds kept whole ("Tik-Tok"); apostrophes split ("Dorothy's" → "Dorothy"). */
const WORD = /\p{L}+(?:-\p{L}+)*/gu;

/** Occurrences of each lower-cased word, and of each way it is written. */
function countWords(texts: readonly string[]): { counts: Map<string, number>; forms: Map<string, Map<string, number>>; total: number } {
  const counts = new Map<string, number>();
  const forms = new Map<string, Map<string, number>>();
  let total = 0;
  for (const text of texts) {
    for (const [word] of text.matchAll(WORD)) {
      const key = word.toLowerCase();
      counts.set(key, (counts.get(key) ?? 0) + 1);
      let f = forms.get(key);
      if (!f) forms.set(key, (f = new Map()));
      f.set(word, (f.get(word) ?? 0) + 1);
      total++;
    }
  }
  return { counts, forms, total };
}

/**
 * The words far more frequent in the forget corpus than in the retain text, ranked by the log
 * ratio of their add-one smoothed relative frequencies: ln((f + 1) / (F + V)) − ln((r + 1) / (R + V)),
 * with f and r a word's counts, F and R the corpora's word counts and V the joint vocabulary.
 * Smoothing ranks a frequent word never seen in the retain text above a rare one, and keeps common
 * words (ratio near 1) out whatever their case. Words of one letter are left out.
 */
export function idiosyncraticTerms(forget: readonly string[], retain: readonly string[], opts: TermOptions = {}): IdiosyncraticTerm[] {
  const minCount = opts.minCount ?? 5;
  const minLogRatio = opts.minLogRatio ?? Math.log(10);
  const f = countWords(forget);
  const r = countWords(retain);
  const vocabulary = new Set([...f.counts.keys(), ...r.counts.keys()]).size;
  const terms: IdiosyncraticTerm[] = [];
  for (const [key, forgetCount] of f.counts) {
    if (forgetCount < minCount || key.length < 2) continue;
    const retainCount = r.counts.get(key) ?? 0;
    const logRatio = Math.log((forgetCount + 1) / (f.total + vocabulary)) - Math.log((retainCount + 1) / (r.total + vocabulary));
    if (logRatio < minLogRatio) continue;
    const term = [...f.forms.get(key)!].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    terms.push({ term, forgetCount, retainCount, logRatio });
  }
  terms.sort((a, b) => b.logRatio - a.logRatio || b.forgetCount - a.forgetCount || (a.term < b.term ? -1 : 1));
  return terms.slice(0, opts.top ?? 100);
}

/**
 * Judge terms from {@link idiosyncraticTerms}: a word the retain text never uses is unique to the
 * forget corpus; one it uses, however rarely, is only typical of it.
 */
export function judgeTermsOf(terms: readonly IdiosyncraticTerm[]): JudgeTerm[] {
  return terms.map((t) => ({ term: t.term, tier: t.retainCount === 0 ? "unique" : "typical" }));
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
