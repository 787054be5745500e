/**
 * The automatic anchored-terms source (offline, the default): names and name-like phrases that are far
 * more frequent in the forget corpus than in a reference corpus, each given a generic counterpart.
 *
 * Candidates. Capitalised words ("Dorothy", "Tik-Tok"; a possessive 's is dropped) and runs of up to
 * `maxWords` capitalised words separated only by whitespace ("Emerald City", "Tin Woodman"). A phrase
 * qualifies when it occurs capitalised at least `minCount` times *not* at a sentence start (a word
 * capitalised only at sentence starts is not a name) and, for single words, is capitalised mid-sentence
 * more often than it appears in lower case. Sentence starts: after . ! ? (and a closing quote), after a
 * blank line, right after an opening quote, and the start of the text. A phrase that occurs mostly
 * (≥ 70 %) inside a longer candidate is dropped in its favour ("Emerald" inside "Emerald City").
 *
 * Ranking. Smoothed log-ratio of rates: ln((f + 1) / F) − ln((r + 1) / R), with f, r the capitalised
 * occurrences in the forget and reference corpora and F, R their word counts. The +1 keeps phrases
 * absent from the reference finite and ranks frequent ones above rare ones.
 *
 * Generic counterparts, by simple cues from the forget corpus (share of occurrences where the previous
 * word is "the", a place preposition, or a speech verb is adjacent):
 * - place: the last word is a place noun (City, Land, Forest, ...), or ≥ 30 % of occurrences follow a
 *   place preposition (in, into, from, at, of, through, toward(s), near) → "great city", "the valley";
 * - group: one plural-looking word (ends in s) rarely next to a speech verb → "villagers", "farmers";
 * - role: the last word is a role noun (King, Witch, Lion, Girl, ...) or ≥ 50 % of occurrences follow
 *   "the" → "old king", "strange creature";
 * - person: otherwise → a common first name (titles such as Aunt or Uncle are kept; more words get a
 *   common surname).
 * Noun phrases carry no article when the term usually follows "the" (so "the Emerald City" becomes "the
 * great city"), and start with "the" otherwise.
 */
import { SeededRandom } from "../../util/random.js";
import type { AnchorDictionary } from "./dictionary.js";

/** Options of {@link rankCandidates} and {@link buildAutoDictionary}. */
export interface CandidateOptions {
  /** How many candidates to keep (default 50). */
  top?: number;
  /** Minimum mid-sentence capitalised occurrences in the forget corpus (default 5). */
  minCount?: number;
  /** Longest multi-word name, in words (default 3). */
  maxWords?: number;
  /**
   * Further candidate strings (the pipeline adds tokens whose log-probability gains most between the
   * base and the reinforced model); counted as whole words, case-sensitive, and ranked alike.
   */
  extra?: readonly string[];
  /** Seed for the choice of generic counterparts (default 0). */
  seed?: number;
}

export type CandidateKind = "person" | "place" | "group" | "role";

/** A ranked candidate with the counts behind its score. */
export interface Candidate {
  term: string;
  score: number;
  /** Occurrences in the forget corpus. */
  forgetCount: number;
  /** Occurrences in the reference corpus. */
  referenceCount: number;
}

/** Context cues of a term in the forget corpus, as shares of its occurrences. */
export interface TermCues {
  /** The previous word is "the". */
  afterThe: number;
  /** The previous word is a place preposition. */
  afterPlacePreposition: number;
  /** A speech verb ("said", "cried", ...) is the previous or the next word. */
  nextToSpeechVerb: number;
}

/**
 * Ranks candidate names of the forget corpus by how much more frequent they are than in the reference
 * corpus (see the module comment), best first.
 */
export function rankCandidates(forget: string, reference: string, options: CandidateOptions = {}): Candidate[] {
  const top = options.top ?? 50;
  const minCount = options.minCount ?? 5;
  const maxWords = options.maxWords ?? 3;
  const forgetScan = scanCapitalised(forget, maxWords);
  const referenceScan = scanCapitalised(reference, maxWords);

  const qualified = new Map<string, number>();
  for (const [phrase, counts] of forgetScan.phrases) {
    if (counts.nonInitial < minCount) continue;
    const words = phrase.split(" ");
    if (words.length === 1 && (forgetScan.lower.get(phrase.toLowerCase()) ?? 0) >= counts.nonInitial) continue;
    if (words.length === 1 && countLetters(phrase) < 2) continue;
    qualified.set(phrase, counts.total);
  }
  // Drop phrases that mostly occur inside a longer qualified phrase.
  const subsumed = new Set<string>();
  for (const [phrase, count] of qualified) {
    const words = phrase.split(" ");
    for (let length = 1; length < words.length; length++) {
      for (let from = 0; from + length <= words.length; from++) {
        const part = words.slice(from, from + length).join(" ");
        const partCount = qualified.get(part);
        if (partCount !== undefined && count >= 0.7 * partCount) subsumed.add(part);
      }
    }
  }
  const candidates: Candidate[] = [];
  for (const [term, forgetCount] of qualified) {
    if (subsumed.has(term)) continue;
    const referenceCount = referenceScan.phrases.get(term)?.total ?? 0;
    candidates.push({ term, forgetCount, referenceCount, score: logRatio(forgetCount, forgetScan.words, referenceCount, referenceScan.words) });
  }
  const known = new Set(candidates.map((c) => c.term));
  for (const raw of options.extra ?? []) {
    const term = raw.trim().replace(/\s+/g, " ");
    if (term === "" || known.has(term)) continue;
    known.add(term);
    const forgetCount = countWholeWord(forget, term);
    if (forgetCount < minCount) continue;
    const referenceCount = countWholeWord(reference, term);
    candidates.push({ term, forgetCount, referenceCount, score: logRatio(forgetCount, forgetScan.words, referenceCount, referenceScan.words) });
  }
  return candidates.sort((a, b) => b.score - a.score || b.forgetCount - a.forgetCount || (a.term < b.term ? -1 : 1)).slice(0, top);
}

/**
 * The automatic dictionary: the top candidates of {@link rankCandidates}, each with one generic
 * counterpart chosen by its cues (see the module comment), source "auto" and its score. Generics are
 * distinct where possible and avoid the words of other candidates (so "Dorothy" does not become another
 * character); a few tries are made, then the last choice stands.
 */
export function buildAutoDictionary(forget: string, reference: string, options: CandidateOptions = {}): AnchorDictionary {
  const candidates = rankCandidates(forget, reference, options);
  const rng = new SeededRandom(options.seed ?? 0);
  const random = () => rng.nextFloat();
  const taken = new Set<string>();
  for (const c of candidates) for (const word of c.term.split(" ")) taken.add(word.toLowerCase());
  const used = new Set<string>();
  return candidates.map((candidate) => {
    const cues = termCues(forget, candidate.term);
    const own = new Set(candidate.term.toLowerCase().split(" "));
    const unfit = (generic: string) =>
      used.has(generic) || generic.split(" ").some((w) => taken.has(w.toLowerCase()) && !own.has(w.toLowerCase()) && !COMMON_WORDS.has(w.toLowerCase()));
    let generic = genericFor(candidate.term, cues, random);
    for (let attempt = 0; attempt < 20 && unfit(generic); attempt++) {
      generic = genericFor(candidate.term, cues, random);
    }
    used.add(generic);
    return { term: candidate.term, generics: [generic], source: "auto" as const, score: candidate.score };
  });
}

/** Measures the context cues of `term` (whole-word, case-sensitive occurrences) in `text`. */
export function termCues(text: string, term: string): TermCues {
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${term.split(" ").map(escapeRegex).join("\\s+")}(?![\\p{L}\\p{N}_])`, "gu");
  let total = 0;
  let afterThe = 0;
  let afterPlace = 0;
  let speech = 0;
  for (const match of text.matchAll(pattern)) {
    total++;
    const before = /(\p{L}+)[^\p{L}]*$/u.exec(text.slice(Math.max(0, match.index - 30), match.index));
    const previous = before && /^\s*$/.test(before[0].slice(before[1].length)) ? before[1].toLowerCase() : "";
    const after = /^(?:'s|’s)?[\s,]*(\p{L}+)/u.exec(text.slice(match.index + match[0].length, match.index + match[0].length + 30));
    const next = after ? after[1].toLowerCase() : "";
    if (previous === "the") afterThe++;
    if (PLACE_PREPOSITIONS.has(previous)) afterPlace++;
    if (SPEECH_VERBS.has(previous) || SPEECH_VERBS.has(next)) speech++;
  }
  const share = (n: number) => (total === 0 ? 0 : n / total);
  return { afterThe: share(afterThe), afterPlacePreposition: share(afterPlace), nextToSpeechVerb: share(speech) };
}

/** Classifies a term by its words and cues (see the module comment). */
export function classifyTerm(term: string, cues: TermCues): CandidateKind {
  const words = term.split(" ");
  const last = words[words.length - 1];
  if (PLACE_NOUNS.has(last) || (cues.afterPlacePreposition >= 0.3 && cues.nextToSpeechVerb < 0.1)) return "place";
  if (words.length === 1 && /[^s]s$/.test(last) && last.length > 3 && cues.nextToSpeechVerb < 0.1) return "group";
  if (ROLE_NOUNS.has(last) || cues.afterThe >= 0.5) return "role";
  return "person";
}

/** A generic counterpart of `term` for its kind; `rng` returns uniform numbers in [0, 1). */
export function genericFor(term: string, cues: TermCues, rng: () => number): string {
  const kind = classifyTerm(term, cues);
  const words = term.split(" ");
  const last = words[words.length - 1];
  const article = cues.afterThe >= 0.5 ? "" : "the ";
  switch (kind) {
    case "place": {
      const noun = PLACE_NOUNS.has(last) ? last.toLowerCase() : pick(PLACE_FALLBACKS, rng);
      return `${article}${pick(PLACE_ADJECTIVES, rng)} ${noun}`;
    }
    case "group":
      return pick(GROUP_NOUNS, rng);
    case "role": {
      const noun = ROLE_NOUNS.has(last) ? last.toLowerCase() : pick(ROLE_FALLBACKS, rng);
      return `${article}${pick(ROLE_ADJECTIVES, rng)} ${noun}`;
    }
    case "person": {
      const gender = TITLES.get(words[0]);
      if (words.length > 1 && gender !== undefined) return `${words[0]} ${genericPersonName(words.slice(1).join(" "), rng, gender)}`;
      return genericPersonName(term, rng);
    }
  }
}

/**
 * A common real first name standing in for the person-like `term`: of roughly the same length (within
 * one letter if possible), in the same casing (all capitals stay all capitals), never the term itself;
 * `gender` narrows the first names (when a title such as Aunt or Uncle tells it). A multi-word term gets
 * a first name plus common surnames. This is the one place to swap in a bigger name list.
 */
export function genericPersonName(term: string, rng: () => number, gender?: "female" | "male"): string {
  const firstNames = gender === "female" ? FEMALE_NAMES : gender === "male" ? MALE_NAMES : [...FEMALE_NAMES, ...MALE_NAMES];
  const words = term.split(" ");
  const parts = words.map((word, index) => {
    const pool = index === 0 ? firstNames : SURNAMES;
    const letters = countLetters(word);
    for (let tolerance = 1; tolerance <= 8; tolerance++) {
      const fitting = pool.filter((name) => Math.abs(name.length - letters) <= tolerance && name.toLowerCase() !== word.toLowerCase());
      if (fitting.length > 0) return pick(fitting, rng);
    }
    return pick(pool.filter((name) => name.toLowerCase() !== word.toLowerCase()), rng);
  });
  const name = parts.join(" ");
  const letters = term.replace(/[^\p{L}]/gu, "");
  return letters.length >= 2 && letters === letters.toUpperCase() ? name.toUpperCase() : name;
}

interface PhraseCounts {
  /** Capitalised occurrences. */
  total: number;
  /** Capitalised occurrences whose first word does not start a sentence. */
  nonInitial: number;
}

interface CapitalisedScan {
  /** All words. */
  words: number;
  phrases: Map<string, PhraseCounts>;
  /** Occurrences of lower-case words. */
  lower: Map<string, number>;
}

const WORD = /\p{L}+(?:['’-]\p{L}+)*/gu;

/** Counts capitalised words and runs of them (up to `maxWords`), and lower-case words. */
function scanCapitalised(text: string, maxWords: number): CapitalisedScan {
  const phrases = new Map<string, PhraseCounts>();
  const lower = new Map<string, number>();
  let words = 0;
  let run: { word: string; initial: boolean }[] = [];
  let previousEnd = 0;
  const count = (phrase: string, initial: boolean) => {
    let counts = phrases.get(phrase);
    if (!counts) phrases.set(phrase, (counts = { total: 0, nonInitial: 0 }));
    counts.total++;
    if (!initial) counts.nonInitial++;
  };
  for (const match of text.matchAll(WORD)) {
    words++;
    const start = match.index;
    const gap = text.slice(previousEnd, start);
    previousEnd = start + match[0].length;
    const word = match[0].replace(/['’]s$/, "");
    // Words of one name are separated by spaces and at most one line break (hard-wrapped text).
    if (!/^[ \t]*\r?\n?[ \t]*$/.test(gap)) run = [];
    if (!isCapitalised(word)) {
      if (/^\p{Ll}/u.test(word)) lower.set(word, (lower.get(word) ?? 0) + 1);
      run = [];
      continue;
    }
    const initial = startsSentence(text, start, gap, words === 1);
    run.push({ word, initial });
    // Count every phrase of the run that ends with this word.
    for (let length = 1; length <= Math.min(maxWords, run.length); length++) {
      const first = run.length - length;
      const phrase = run.slice(first).map((r) => r.word).join(" ");
      count(phrase, run[first].initial);
    }
    // A possessive ends a name ("Dorothy's Aunt" is not one name).
    if (word !== match[0]) run = [];
  }
  return { words, phrases, lower };
}

/** A capital first letter and at least one lower-case letter, so all-capitals headings do not count. */
function isCapitalised(word: string): boolean {
  return /^\p{Lu}/u.test(word) && /\p{Ll}/u.test(word);
}

function startsSentence(text: string, start: number, gap: string, firstWord: boolean): boolean {
  if (firstWord) return true;
  const before = text[start - 1];
  if (before === '"' || before === "“" || before === "‘" || before === "'") return true;
  if (/\n[ \t]*\r?\n/.test(gap)) return true;
  return /[.!?]/.test(gap);
}

function logRatio(forgetCount: number, forgetWords: number, referenceCount: number, referenceWords: number): number {
  return Math.log((forgetCount + 1) / Math.max(1, forgetWords)) - Math.log((referenceCount + 1) / Math.max(1, referenceWords));
}

function countWholeWord(text: string, term: string): number {
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${term.split(" ").map(escapeRegex).join("\\s+")}(?![\\p{L}\\p{N}_])`, "gu");
  let n = 0;
  for (const _ of text.matchAll(pattern)) n++;
  return n;
}

function countLetters(word: string): number {
  return word.replace(/[^\p{L}]/gu, "").length;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function pick<T>(items: readonly T[], rng: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(rng() * items.length))];
}

const PLACE_PREPOSITIONS = new Set(["in", "into", "from", "at", "of", "through", "toward", "towards", "near"]);
const SPEECH_VERBS = new Set([
  "said", "cried", "asked", "replied", "answered", "exclaimed", "remarked", "returned", "called", "shouted",
  "whispered", "declared", "continued", "added", "inquired", "observed", "says", "asks",
]);
const PLACE_NOUNS = new Set([
  "City", "Town", "Village", "Land", "Country", "Kingdom", "Castle", "Palace", "Forest", "Wood", "Woods",
  "Mountain", "Mountains", "Hill", "Hills", "River", "Lake", "Sea", "Ocean", "Island", "Valley", "Road",
  "Street", "Desert", "Tower", "Gate", "Garden", "Hall", "Academy", "School", "House",
]);
const ROLE_NOUNS = new Set([
  "King", "Queen", "Prince", "Princess", "Witch", "Wizard", "Sorcerer", "Magician", "Woodman", "Man",
  "Woman", "Girl", "Boy", "Lion", "Tiger", "Dog", "Cat", "Hen", "Horse", "Giant", "Dwarf", "Soldier",
  "Guard", "General", "Captain", "Ruler", "Emperor", "Creature", "Monster", "Beast",
]);
/** Titles kept in front of a generic name, with the gender they tell (undefined: either). */
const TITLES = new Map<string, "female" | "male" | undefined>([
  ["Aunt", "female"], ["Mrs", "female"], ["Miss", "female"], ["Lady", "female"], ["Mother", "female"],
  ["Uncle", "male"], ["Mr", "male"], ["Sir", "male"], ["Lord", "male"], ["Father", "male"],
  ["Captain", "male"], ["Cap'n", "male"], ["Doctor", undefined], ["Dr", undefined], ["Professor", undefined],
]);
const PLACE_ADJECTIVES = ["great", "old", "distant", "northern", "southern", "little"];
const ROLE_ADJECTIVES = ["old", "strange", "little", "tall", "odd", "young"];
/** Words a generic may share with a candidate without pointing at it. */
const COMMON_WORDS = new Set(["the", ...PLACE_ADJECTIVES, ...ROLE_ADJECTIVES]);
const PLACE_FALLBACKS = ["valley", "village", "kingdom", "countryside", "island", "town"];
const ROLE_FALLBACKS = ["creature", "fellow", "figure", "visitor", "traveller", "companion"];
const GROUP_NOUNS = ["villagers", "farmers", "townsfolk", "mountain people", "islanders", "forest folk"];
const FEMALE_NAMES = [
  "Jo", "Amy", "Ann", "Eva", "Zoe", "Anna", "Emma", "Jane", "Kate", "Lisa", "Mary", "Sarah", "Alice",
  "Clara", "Helen", "Laura", "Linda", "Sally", "Susan", "Grace", "Martha", "Rachel", "Barbara",
  "Rebecca", "Jessica", "Patricia", "Margaret", "Jennifer", "Elizabeth",
];
const MALE_NAMES = [
  "Al", "Ed", "Ben", "Dan", "Jon", "Joe", "Max", "Sam", "Tom", "Tim", "Carl", "John", "Mark", "Paul",
  "Peter", "David", "James", "Frank", "Robert", "Thomas", "Edward", "George", "Joseph", "Daniel",
  "Andrew", "Samuel", "Michael", "Charles", "Matthew", "Christopher", "Alexander",
];
const SURNAMES = ["Smith", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Walker", "Hall", "Young", "Moore", "Baker", "Green"];
