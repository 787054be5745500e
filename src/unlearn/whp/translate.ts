/**
 * Translation of a text block with the anchored-terms dictionary, keeping a token-level alignment between
 * the original and the translated text, so the base model's predictions on the translation can serve as
 * predictions at the original positions.
 *
 * Matching rules (documented here because labels depend on them):
 * - Leftmost match first; among keys matching at the same place the longest wins ("Tin Woodman" beats
 *   "Tin"); at equal length an exact-case entry beats a case-insensitive one.
 * - Matches start and end at word boundaries: a key whose first (last) character is a letter, digit or
 *   underscore does not match right after (before) another such character ("Oz" is not found in "Ozma").
 * - Case: an entry matches its exact casing only, unless it has `ignoreCase: true`. So "Harry" and "harry"
 *   are separate entries with their own generics; a case-insensitive entry found in all capitals
 *   ("HARRY") gets an all-capitals generic.
 * - A space inside a key matches any whitespace run, since corpora are often hard-wrapped
 *   ("Emerald\nCity").
 * - Leading space: a single space right before a match belongs to the anchor segment (" Harry" becomes
 *   " Jon"), because tokenizers glue a word to its leading space; at the start of a block, or after a
 *   newline or quote, the anchor segment has no leading space.
 * - A generic that starts in lower case is capitalised when its anchor starts a sentence (block start,
 *   after . ! ? or a blank line, or after an opening quote).
 * - Consistency: within one call, every occurrence of an entry gets the same generic, chosen from its
 *   alternatives by a hash of the seed and the term (pass a different seed per block to vary it).
 */
import { InputError } from "../../errors.js";
import type { AnchorEntry } from "./dictionary.js";

/** Tokenizes a fragment of text as it would be tokenized mid-document: no BOS, no added prefix space. */
export type Encode = (text: string) => readonly number[];

/** One anchor occurrence found in a text (character offsets). */
export interface AnchorMatch {
  entry: AnchorEntry;
  /** Start of the matched term. */
  start: number;
  /** End of the matched term (exclusive). */
  end: number;
  /** Start of the anchor segment: `start - 1` when a space precedes the term (it travels with it), else `start`. */
  segmentStart: number;
}

/** One anchor in an aligned block; token index ranges, end exclusive. */
export interface AnchorSpan {
  /** The dictionary term (not necessarily the matched casing). */
  term: string;
  /** The generic text that replaced it, after case adaptation, without the leading space. */
  generic: string;
  origStart: number;
  origEnd: number;
  transStart: number;
  transEnd: number;
  /** Whether this is the entry's first occurrence in the block. */
  firstOccurrence: boolean;
}

/** An original block and its translation, token by token. */
export interface Alignment {
  original: number[];
  translated: number[];
  anchors: AnchorSpan[];
  /**
   * For each original position i: the translated position whose prediction serves as the prediction at
   * i (which predicts token i+1), or -1 for positions strictly inside an anchor.
   */
  map: Int32Array;
  /** The translated text (for inspection and logs). */
  translatedText: string;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const NOT_AFTER_WORD = "(?<![\\p{L}\\p{N}_])";
const NOT_BEFORE_WORD = "(?![\\p{L}\\p{N}_])";

/** A dictionary compiled for matching; build once, use for every block. */
export class AnchorMatcher {
  readonly entries: readonly AnchorEntry[];
  private readonly pattern: RegExp | undefined;
  private readonly exact = new Map<string, AnchorEntry>();
  private readonly folded = new Map<string, AnchorEntry>();

  /** `dictionary` should come from the dictionary module (validated: trimmed, unique terms). */
  constructor(dictionary: readonly AnchorEntry[]) {
    this.entries = dictionary;
    for (const entry of dictionary) {
      if (entry.term.trim() !== entry.term || entry.term === "") {
        throw new InputError(`anchor term "${entry.term}" is empty or has surrounding whitespace`, "validate the dictionary before matching with it");
      }
      if (entry.generics.length === 0) {
        throw new InputError(`anchor term "${entry.term}" has no generic`, "validate the dictionary before matching with it");
      }
      if (entry.ignoreCase) this.folded.set(entry.term.toLowerCase(), entry);
      else this.exact.set(entry.term, entry);
    }
    // Regex alternation takes the first alternative that matches, so order by length to get the longest.
    const ordered = [...dictionary].sort(
      (a, b) => b.term.length - a.term.length || Number(a.ignoreCase ?? false) - Number(b.ignoreCase ?? false),
    );
    this.pattern = ordered.length > 0 ? new RegExp(ordered.map(termPattern).join("|"), "gu") : undefined;
  }

  /** All anchor occurrences in `text`, in order, non-overlapping. */
  find(text: string): AnchorMatch[] {
    if (!this.pattern) return [];
    const matches: AnchorMatch[] = [];
    this.pattern.lastIndex = 0;
    for (let m = this.pattern.exec(text); m !== null; m = this.pattern.exec(text)) {
      const normalised = m[0].replace(/\s+/g, " ");
      const entry = this.exact.get(normalised) ?? this.folded.get(normalised.toLowerCase());
      if (!entry) throw new Error(`internal: matched "${m[0]}" but found no entry`);
      const start = m.index;
      matches.push({ entry, start, end: start + m[0].length, segmentStart: text[start - 1] === " " ? start - 1 : start });
    }
    return matches;
  }
}

/**
 * Translates one block: splits it into plain and anchor segments, tokenizes each segment separately
 * (so both token sequences agree exactly outside anchors), replaces each anchor with its generic, and
 * builds the prediction map described on {@link Alignment}. `seed` picks among alternative generics.
 */
export function translateBlock(text: string, matcher: AnchorMatcher, encode: Encode, options: { seed?: number } = {}): Alignment {
  const seed = options.seed ?? 0;
  const original: number[] = [];
  const translated: number[] = [];
  const anchors: AnchorSpan[] = [];
  const mapping: number[] = [];
  const chosen = new Map<AnchorEntry, string>();
  let translatedText = "";
  let position = 0;

  const addPlain = (plain: string) => {
    if (plain === "") return;
    const tokens = encode(plain);
    for (const token of tokens) {
      mapping.push(translated.length);
      original.push(token);
      translated.push(token);
    }
    translatedText += plain;
  };

  for (const match of matcher.find(text)) {
    addPlain(text.slice(position, match.segmentStart));
    const { entry } = match;
    let generic = chosen.get(entry);
    const firstOccurrence = generic === undefined;
    if (generic === undefined) {
      generic = pickGeneric(entry, seed);
      chosen.set(entry, generic);
    }
    const matched = text.slice(match.start, match.end);
    const adapted = adaptCase(generic, matched, entry, isSentenceStart(text, match.segmentStart));
    const space = match.segmentStart < match.start ? " " : "";
    const originalTokens = encode(text.slice(match.segmentStart, match.end));
    const genericTokens = encode(space + adapted);
    if (originalTokens.length === 0 || genericTokens.length === 0) {
      throw new InputError(
        `the tokenizer returned no tokens for the anchor "${matched}" or its generic "${adapted}"`,
        "use a tokenizer that encodes every non-empty text to at least one token",
      );
    }
    const span: AnchorSpan = {
      term: entry.term,
      generic: adapted,
      origStart: original.length,
      origEnd: original.length + originalTokens.length,
      transStart: translated.length,
      transEnd: translated.length + genericTokens.length,
      firstOccurrence,
    };
    for (let k = 0; k < originalTokens.length - 1; k++) mapping.push(-1);
    // The anchor's last token predicts what follows the anchor, as does the generic's last token.
    mapping.push(span.transEnd - 1);
    original.push(...originalTokens);
    translated.push(...genericTokens);
    anchors.push(span);
    translatedText += space + adapted;
    position = match.end;
  }
  addPlain(text.slice(position));
  return { original, translated, anchors, map: Int32Array.from(mapping), translatedText };
}

/**
 * Cuts `text` into consecutive blocks (their concatenation is `text`) such that each block, translated
 * by {@link translateBlock}, has at most `blockTokens` tokens on both the original and the translated side
 * (for the translated side, with the longest generic of each anchor and either casing). Cuts fall at
 * segment boundaries, so no anchor is split; inside plain text they fall before a whitespace run, so
 * words stay whole and no new anchor boundary appears. Only a single word longer than a block is cut
 * inside, by characters.
 */
export function splitIntoBlocks(text: string, encode: Encode, blockTokens: number, matcher: AnchorMatcher): string[] {
  if (!Number.isInteger(blockTokens) || blockTokens < 1) {
    throw new InputError(`block size ${blockTokens} is not a positive integer`, "pass a block size of at least 1 token (512 is typical)");
  }
  const units = splitUnits(text, matcher, encode);
  const blocks: string[] = [];
  let i = 0;
  while (i < units.length) {
    let j = i;
    let estimate = 0;
    while (j < units.length && estimate + units[j].cost <= blockTokens) estimate += units[j++].cost;
    if (j === i) {
      const unit = units[i];
      if (unit.anchor) {
        throw new InputError(
          `the anchor "${text.slice(unit.start, unit.end).trim()}" or its generic needs ${unit.cost} tokens, more than the block size ${blockTokens}`,
          "use a larger block size or a shorter generic",
        );
      }
      const cut = longestFittingPrefix(text, unit.start, unit.end, encode, blockTokens);
      blocks.push(text.slice(unit.start, cut));
      units[i] = { start: cut, end: unit.end, cost: encode(text.slice(cut, unit.end)).length, anchor: undefined };
      continue;
    }
    // Tokens of separately encoded words need not add up to the tokens of the joined text; check.
    while (j > i + 1 && blockCost(text, units, i, j, encode) > blockTokens) j--;
    blocks.push(text.slice(units[i].start, units[j - 1].end));
    i = j;
  }
  return blocks;
}

interface Unit {
  start: number;
  end: number;
  /** Token cost: for anchors the larger of original and translated; for words an estimate. */
  cost: number;
  anchor: AnchorMatch | undefined;
}

/** Anchor segments plus plain text cut before every whitespace run (" word" pieces). */
function splitUnits(text: string, matcher: AnchorMatcher, encode: Encode): Unit[] {
  const units: Unit[] = [];
  const addPlain = (from: number, to: number) => {
    for (const piece of text.slice(from, to).matchAll(/\s*\S+|\s+/g)) {
      const start = from + piece.index;
      units.push({ start, end: start + piece[0].length, cost: encode(piece[0]).length, anchor: undefined });
    }
  };
  let position = 0;
  for (const match of matcher.find(text)) {
    addPlain(position, match.segmentStart);
    units.push({ start: match.segmentStart, end: match.end, cost: anchorCost(text, match, encode), anchor: match });
    position = match.end;
  }
  addPlain(position, text.length);
  return units;
}

/** The larger token count of an anchor segment and any of its possible translations. */
function anchorCost(text: string, match: AnchorMatch, encode: Encode): number {
  const space = match.segmentStart < match.start ? " " : "";
  let cost = encode(text.slice(match.segmentStart, match.end)).length;
  for (const generic of match.entry.generics) {
    for (const variant of [generic, capitalise(generic), generic.toUpperCase()]) {
      cost = Math.max(cost, encode(space + variant).length);
    }
  }
  return cost;
}

/** Exact cost of units [i, j) as one block: plain runs encoded together, anchors at their cost. */
function blockCost(text: string, units: readonly Unit[], i: number, j: number, encode: Encode): number {
  let cost = 0;
  let plainStart = -1;
  for (let k = i; k < j; k++) {
    const unit = units[k];
    if (unit.anchor) {
      if (plainStart >= 0) cost += encode(text.slice(plainStart, unit.start)).length;
      plainStart = -1;
      cost += unit.cost;
    } else if (plainStart < 0) {
      plainStart = unit.start;
    }
  }
  if (plainStart >= 0) cost += encode(text.slice(plainStart, units[j - 1].end)).length;
  return cost;
}

/**
 * The end of the longest proper prefix of text[start, end) that fits `budget` tokens; at least one
 * character, so that cutting always progresses.
 */
function longestFittingPrefix(text: string, start: number, end: number, encode: Encode, budget: number): number {
  let low = start + 1;
  let high = end - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (encode(text.slice(start, middle)).length <= budget) low = middle;
    else high = middle - 1;
  }
  // Never cut between the halves of a surrogate pair.
  if (isHighSurrogate(text.charCodeAt(low - 1))) low += low - 1 > start ? -1 : 1;
  return low;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The regex alternative for one entry: its characters, flexible whitespace, word boundaries. */
function termPattern(entry: AnchorEntry): string {
  const body = entry.term
    .split(" ")
    .map((word) => [...word].map((c) => charPattern(c, entry.ignoreCase ?? false)).join(""))
    .join("\\s+");
  const before = WORD_CHAR.test(entry.term[0]) ? NOT_AFTER_WORD : "";
  const after = WORD_CHAR.test(entry.term[entry.term.length - 1]) ? NOT_BEFORE_WORD : "";
  return before + body + after;
}

function charPattern(c: string, ignoreCase: boolean): string {
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  if (ignoreCase && lower !== upper && [...lower].length === 1 && [...upper].length === 1) return `[${lower}${upper}]`;
  // With the u flag only syntax characters and "/" may be escaped.
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * The generic for an entry in one block: the only one, or one of the alternatives chosen by a hash of
 * the seed and the term, so the choice is stable for a seed and varies across seeds.
 */
export function pickGeneric(entry: AnchorEntry, seed: number): string {
  if (entry.generics.length === 1) return entry.generics[0];
  return entry.generics[hashString(`${seed}\u0000${entry.term}`) % entry.generics.length];
}

/** FNV-1a with a final avalanche, as an unsigned 32-bit integer. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function adaptCase(generic: string, matched: string, entry: AnchorEntry, sentenceStart: boolean): string {
  const letters = matched.replace(/[^\p{L}]/gu, "");
  const shouted = letters.length >= 2 && letters === letters.toUpperCase() && letters !== letters.toLowerCase();
  if (shouted && entry.term !== entry.term.toUpperCase()) return generic.toUpperCase();
  return sentenceStart ? capitalise(generic) : generic;
}

function capitalise(text: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return text;
  const head = String.fromCodePoint(first);
  return head.toUpperCase() + text.slice(head.length);
}

const OPENING = new Set(["“", "‘", "(", "["]);
const CLOSING = new Set(["”", "’", '"', "'", ")"]);
const STRAIGHT_QUOTES = new Set(['"', "'"]);

/** Whether position `index` of `text` starts a sentence (see the module comment). */
function isSentenceStart(text: string, index: number): boolean {
  let i = index - 1;
  if (i >= 0 && (OPENING.has(text[i]) || (STRAIGHT_QUOTES.has(text[i]) && (i === 0 || /\s/.test(text[i - 1]))))) return true;
  let newlines = 0;
  while (i >= 0 && /\s/.test(text[i])) {
    if (text[i] === "\n") newlines++;
    i--;
  }
  if (i < 0 || newlines >= 2) return true;
  if (CLOSING.has(text[i]) && i > 0) i--;
  return text[i] === "." || text[i] === "!" || text[i] === "?";
}
