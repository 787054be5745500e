/**
 * Text checks for hand-written evaluation sets: does a term occur as whole words, and does a prompt
 * copy a long run of words from the source text. Kept apart from the data tests so they can be tested
 * on small hand-made strings.
 */
import { readFileSync } from "node:fs";

const WORD_CHAR = /[A-Za-z0-9]/;

/** Collapses every whitespace run (line breaks of the wrapped books included) into one space. */
export function normaliseSpace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * A matcher telling whether a term occurs in `text` as whole words: the characters around the match
 * are not letters or digits, so "Mo" is not found inside "Mombi" while "Bug" is found in
 * "Woggle-Bug". Whitespace inside the term matches any whitespace run in the text. The text is
 * prepared once, so one matcher serves many terms against a whole corpus.
 */
export function termMatcher(text: string, options: { ignoreCase?: boolean } = {}): (term: string) => boolean {
  const fold = (s: string) => (options.ignoreCase ? s.toLowerCase() : s);
  const haystack = fold(normaliseSpace(text));
  return (term) => {
    const needle = fold(normaliseSpace(term));
    if (needle === "") return false;
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
      const before = at === 0 ? "" : haystack[at - 1];
      const after = haystack[at + needle.length] ?? "";
      if (!WORD_CHAR.test(before) && !WORD_CHAR.test(after)) return true;
    }
    return false;
  };
}

/** One-off form of `termMatcher` for short texts. */
export function containsTerm(text: string, term: string, options: { ignoreCase?: boolean } = {}): boolean {
  return termMatcher(text, options)(term);
}

/**
 * Lower-cased words of `text`. Hyphens and apostrophes inside a word keep it whole ("tik-tok",
 * "cap'n"), while the books' double-hyphen dashes and all other punctuation separate words.
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:['-][a-z0-9]+)*/g) ?? [];
}

/** A searchable form of a source text: its words joined by single spaces, padded at both ends. */
export function wordIndex(text: string): string {
  return ` ${words(text).join(" ")} `;
}

/**
 * The first run of `length` consecutive words of `text` that also occurs in the source (built with
 * `wordIndex`), ignoring case and punctuation; null when `text` copies no run that long.
 */
export function copiedRun(text: string, index: string, length: number): string | null {
  const own = words(text);
  for (let start = 0; start + length <= own.length; start++) {
    const run = own.slice(start, start + length).join(" ");
    if (index.includes(` ${run} `)) return run;
  }
  return null;
}

/** One parsed line of a JSON Lines file, with its 1-based line number. */
export interface JsonLine {
  line: number;
  value: unknown;
}

/** Parses a JSON Lines file strictly: blank lines are errors too, so counts mean what they say. */
export function readJsonLines(path: string): JsonLine[] {
  const lines = readFileSync(path, "utf8").replace(/\n$/, "").split("\n");
  return lines.map((text, i) => {
    try {
      return { line: i + 1, value: JSON.parse(text) as unknown };
    } catch (error) {
      throw new Error(`${path} line ${i + 1} is not valid JSON: ${(error as Error).message}`);
    }
  });
}
