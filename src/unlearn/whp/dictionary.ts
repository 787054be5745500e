/**
 * The anchored-terms dictionary of the "Who's Harry Potter" method: idiosyncratic expressions of the
 * forget corpus mapped to generic ones (Hogwarts → Mystic Academy, Harry → Jon). Users write it by hand
 * (JSON or CSV), the automatic and LLM sources propose entries, and `mergeDictionaries` lets the user's
 * word win.
 */
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { InputError } from "../../errors.js";

/** Who proposed an entry; on conflicts "user" beats "llm" beats "auto". */
export type AnchorSource = "user" | "auto" | "llm";

/** One anchored term and its generic replacements. */
export interface AnchorEntry {
  /** The expression as it appears in the text; internal whitespace matches any whitespace run. */
  term: string;
  /** Generic replacements (at least one); translation picks one per block, deterministically. */
  generics: string[];
  source: AnchorSource;
  /** Ranking score of automatic sources (higher = more specific to the forget corpus). */
  score?: number;
  /**
   * When true the term also matches with any other casing ("harry", "HARRY"). Default false: only
   * the exact casing matches, so "Harry" and "harry" can be separate entries with their own generics.
   */
  ignoreCase?: boolean;
}

export type AnchorDictionary = AnchorEntry[];

const SOURCES: readonly AnchorSource[] = ["user", "llm", "auto"];
/**
 * The longest term or generic accepted. Anchored terms are names and short phrases; anything far
 * longer is a pasted paragraph or a broken file, and would reach the term matcher's regular
 * expression (and every error message) whole.
 */
export const MAX_TERM_CHARS = 200;
const ENTRY_KEYS = new Set(["term", "generics", "source", "score", "ignoreCase"]);

/**
 * Parses a dictionary in JSON: either the short object form `{"Hogwarts": "Mystic Academy",
 * "Harry": ["Jon", "Tom"]}` or the full array form `[{"term", "generics", "source"?, "score"?,
 * "ignoreCase"?}]`. Entries without a source get `defaultSource`. Errors name `file` and the line.
 */
export function parseDictionaryJson(text: string, file: string, defaultSource: AnchorSource = "user"): AnchorDictionary {
  const body = stripBom(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    // V8 reports either "line L column C" or only "position P", depending on the error.
    const message = String((error as Error).message);
    const lineMatch = /line (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const line = lineMatch ? Number(lineMatch[1]) : position ? lineOf(body, Number(position[1])) : undefined;
    const where = line !== undefined ? ` at line ${line}` : "";
    throw new InputError(
      `dictionary ${file} is not valid JSON${where}: ${(error as Error).message}`,
      "fix the JSON syntax (quotes around keys and strings, commas between entries, no trailing comma)",
      { cause: error },
    );
  }
  const members = topLevelMembers(body);
  const entries: AnchorEntry[] = [];
  const lines: number[] = [];
  if (Array.isArray(parsed)) {
    parsed.forEach((item, index) => {
      const line = members[index]?.line ?? 1;
      entries.push(entryFromObject(item, file, line, defaultSource));
      lines.push(line);
    });
  } else if (parsed !== null && typeof parsed === "object") {
    const object = parsed as Record<string, unknown>;
    // Walk the keys in file order (JSON.parse reorders integer-like keys and merges duplicates).
    const seen = new Map<string, number>();
    for (const { key, line } of members) {
      if (key === undefined) continue;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        throw new InputError(
          `dictionary ${file} line ${line}: the term "${key}" is already defined on line ${earlier}`,
          "keep one entry per term and list all its generics in an array",
        );
      }
      seen.set(key, line);
      entries.push({ term: key, generics: genericsFrom(object[key], file, line, key), source: defaultSource });
      lines.push(line);
    }
  } else {
    throw new InputError(
      `dictionary ${file} must hold a JSON object or array, not ${parsed === null ? "null" : typeof parsed}`,
      'write it as {"Hogwarts": "Mystic Academy"} or as an array of {"term", "generics"} objects',
    );
  }
  return validateDictionary(entries, file, lines);
}

/**
 * Parses a dictionary in CSV: one `term,generic[,generic...]` record per line; fields may be quoted
 * ("" inside quotes is a quote, quoted fields may hold commas and newlines). Blank lines, lines starting
 * with `#` and a header whose first field is `term` are skipped; trailing empty fields (spreadsheet
 * padding) are ignored. Entries get `source`.
 */
export function parseDictionaryCsv(text: string, file: string, source: AnchorSource = "user"): AnchorDictionary {
  const entries: AnchorEntry[] = [];
  const lines: number[] = [];
  let firstRecord = true;
  for (const { fields, line } of csvRecords(stripBom(text), file)) {
    if (fields.length === 1 && fields[0].text.trim() === "" && !fields[0].quoted) continue;
    if (!fields[0].quoted && fields[0].text.startsWith("#")) continue;
    const isHeader = firstRecord && !fields[0].quoted && fields[0].text.trim().toLowerCase() === "term";
    firstRecord = false;
    if (isHeader) continue;
    while (fields.length > 1 && !fields[fields.length - 1].quoted && fields[fields.length - 1].text.trim() === "") fields.pop();
    const values = fields.map((f) => (f.quoted ? f.text : f.text.trim()));
    if (values.length < 2) {
      throw new InputError(
        `dictionary ${file} line ${line}: "${values[0]}" has no generic replacement`,
        "write each line as term,generic (more generics may follow, separated by commas)",
      );
    }
    entries.push({ term: values[0], generics: values.slice(1), source });
    lines.push(line);
  }
  return validateDictionary(entries, file, lines);
}

/**
 * Checks and normalises entries: terms and generics are trimmed (term whitespace runs become one space),
 * duplicate generics within an entry are dropped. Throws InputError naming `file` and the entry's line
 * (from `lines`, parallel to `entries`, else the entry number) for an empty term, no or an empty generic,
 * a generic equal to its term, an exact duplicate term, or two case-insensitive entries that collide.
 * Terms differing only in case are separate entries.
 */
export function validateDictionary(entries: readonly AnchorEntry[], file: string, lines?: readonly number[]): AnchorDictionary {
  const where = (i: number) => (lines ? `line ${lines[i]}` : `entry ${i + 1}`);
  const byTerm = new Map<string, number>();
  const byFoldedIgnoreCase = new Map<string, number>();
  return entries.map((entry, i) => {
    const term = entry.term.trim().replace(/\s+/g, " ");
    if (term === "") {
      throw new InputError(`dictionary ${file} ${where(i)}: the term is empty`, "give every entry a non-empty term or delete the entry");
    }
    if (term.length > MAX_TERM_CHARS) {
      throw new InputError(
        `dictionary ${file} ${where(i)}: the term ${JSON.stringify(`${term.slice(0, 40)}...`)} is ${term.length} characters long, more than ${MAX_TERM_CHARS}`,
        "anchor names and short phrases as they appear in the text, one per entry",
      );
    }
    if (!SOURCES.includes(entry.source)) {
      throw new InputError(
        `dictionary ${file} ${where(i)}: source "${String(entry.source)}" of "${term}" is not one of ${SOURCES.join(", ")}`,
        'set "source" to "user", "auto" or "llm", or leave it out',
      );
    }
    if (entry.score !== undefined && !Number.isFinite(entry.score)) {
      throw new InputError(`dictionary ${file} ${where(i)}: score of "${term}" is not a finite number`, "write the score as a plain number or leave it out");
    }
    if (entry.generics.length === 0) {
      throw new InputError(`dictionary ${file} ${where(i)}: "${term}" has no generic replacement`, `add at least one generic expression for "${term}"`);
    }
    const generics: string[] = [];
    for (const raw of entry.generics) {
      const generic = raw.trim();
      if (generic === "") {
        throw new InputError(`dictionary ${file} ${where(i)}: "${term}" has an empty generic`, `remove the empty generic of "${term}" or fill it in`);
      }
      if (generic.length > MAX_TERM_CHARS) {
        throw new InputError(
          `dictionary ${file} ${where(i)}: a generic of "${term}" is ${generic.length} characters long, more than ${MAX_TERM_CHARS}`,
          `replace it with a short generic expression for "${term}"`,
        );
      }
      const same = entry.ignoreCase ? generic.toLowerCase() === term.toLowerCase() : generic === term;
      if (same) {
        throw new InputError(
          `dictionary ${file} ${where(i)}: the generic "${generic}" is the term itself`,
          `replace it with a different, generic expression or delete the entry for "${term}"`,
        );
      }
      if (!generics.includes(generic)) generics.push(generic);
    }
    const earlier = byTerm.get(term);
    if (earlier !== undefined) {
      throw new InputError(
        `dictionary ${file} ${where(i)}: the term "${term}" is already defined at ${where(earlier)}`,
        "keep one entry per term and list all its generics in it",
      );
    }
    byTerm.set(term, i);
    if (entry.ignoreCase) {
      const folded = term.toLowerCase();
      const clash = byFoldedIgnoreCase.get(folded);
      if (clash !== undefined) {
        throw new InputError(
          `dictionary ${file} ${where(i)}: "${term}" and the entry at ${where(clash)} both ignore case and match the same words`,
          "merge the two entries into one or set ignoreCase to false on one of them",
        );
      }
      byFoldedIgnoreCase.set(folded, i);
    }
    const normalised: AnchorEntry = { term, generics, source: entry.source };
    if (entry.score !== undefined) normalised.score = entry.score;
    if (entry.ignoreCase) normalised.ignoreCase = true;
    return normalised;
  });
}

/**
 * Reads a dictionary file, choosing the parser by extension (.json or .csv); entries without an explicit
 * source get `source`.
 */
export async function loadDictionary(path: string, source: AnchorSource = "user"): Promise<AnchorDictionary> {
  const extension = extname(path).toLowerCase();
  if (extension !== ".json" && extension !== ".csv") {
    throw new InputError(`dictionary ${path} has extension "${extension}", expected .json or .csv`, "save the dictionary as .json or .csv");
  }
  if (!existsSync(path)) throw new InputError(`dictionary ${path} does not exist`, "check the path or create the file");
  const text = await readFile(path, "utf8");
  return extension === ".json" ? parseDictionaryJson(text, path, source) : parseDictionaryCsv(text, path, source);
}

/**
 * Merges dictionaries into one. Where two entries claim the same words the higher-priority source wins
 * (user > llm > auto; between equal sources the earlier dictionary). An entry is dropped when a winner
 * has the same term, or when a case-insensitive winner already covers its words (otherwise an automatic
 * exact entry would override the user's case-insensitive one in matching).
 */
export function mergeDictionaries(...dictionaries: ReadonlyArray<readonly AnchorEntry[]>): AnchorDictionary {
  const all = dictionaries.flat();
  const ranked = all
    .map((entry, order) => ({ entry, order }))
    .sort((a, b) => SOURCES.indexOf(a.entry.source) - SOURCES.indexOf(b.entry.source) || a.order - b.order);
  const terms = new Set<string>();
  const foldedIgnoreCase = new Set<string>();
  const kept: AnchorEntry[] = [];
  for (const { entry } of ranked) {
    const folded = entry.term.toLowerCase();
    if (terms.has(entry.term) || foldedIgnoreCase.has(folded)) continue;
    terms.add(entry.term);
    if (entry.ignoreCase) foldedIgnoreCase.add(folded);
    kept.push(entry);
  }
  return kept;
}

/** The editable JSON text of a dictionary: the array form, one entry per line. */
export function formatDictionaryJson(entries: readonly AnchorEntry[]): string {
  if (entries.length === 0) return "[]\n";
  const lines = entries.map((entry) => {
    const shown: Record<string, unknown> = { term: entry.term, generics: entry.generics, source: entry.source };
    if (entry.score !== undefined) shown.score = Math.round(entry.score * 1e4) / 1e4;
    if (entry.ignoreCase) shown.ignoreCase = true;
    return "  " + JSON.stringify(shown);
  });
  return `[\n${lines.join(",\n")}\n]\n`;
}

/** Writes the dictionary as editable JSON, atomically (path.tmp, then rename). */
export async function saveDictionary(path: string, entries: readonly AnchorEntry[]): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, formatDictionaryJson(entries), "utf8");
  await rename(temporary, path);
}

function entryFromObject(item: unknown, file: string, line: number, defaultSource: AnchorSource): AnchorEntry {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new InputError(
      `dictionary ${file} line ${line}: an array entry must be an object like {"term": "Harry", "generics": ["Jon"]}`,
      "write each array entry as an object with term and generics",
    );
  }
  const record = item as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!ENTRY_KEYS.has(key)) {
      throw new InputError(
        `dictionary ${file} line ${line}: unknown key "${key}" (allowed: ${[...ENTRY_KEYS].join(", ")})`,
        `rename or remove the key "${key}"`,
      );
    }
  }
  if (typeof record.term !== "string") {
    throw new InputError(`dictionary ${file} line ${line}: "term" is missing or not a string`, 'give the entry a "term" string');
  }
  const term = record.term;
  const entry: AnchorEntry = { term, generics: genericsFrom(record.generics, file, line, term), source: defaultSource };
  if (record.source !== undefined) entry.source = record.source as AnchorSource; // checked by validateDictionary
  if (record.score !== undefined) {
    if (typeof record.score !== "number") {
      throw new InputError(`dictionary ${file} line ${line}: "score" of "${term}" is not a number`, "write the score as a plain number or leave it out");
    }
    entry.score = record.score;
  }
  if (record.ignoreCase !== undefined) {
    if (typeof record.ignoreCase !== "boolean") {
      throw new InputError(`dictionary ${file} line ${line}: "ignoreCase" of "${term}" is not true or false`, "write ignoreCase as true or false");
    }
    entry.ignoreCase = record.ignoreCase;
  }
  return entry;
}

function genericsFrom(value: unknown, file: string, line: number, term: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw new InputError(
    `dictionary ${file} line ${line}: the generics of "${term}" must be a string or an array of strings`,
    `write the generics of "${term}" as "Jon" or ["Jon", "Tom"]`,
  );
}

interface TopLevelMember {
  /** The 1-based line where the member starts. */
  line: number;
  /** The key, for members of a top-level object. */
  key?: string;
}

/**
 * Finds where each member of the top-level object or array of (already validated) JSON text starts,
 * so errors about entries can name their line.
 */
function topLevelMembers(text: string): TopLevelMember[] {
  const members: TopLevelMember[] = [];
  let depth = 0;
  let line = 1;
  let expectMember = false;
  const isObject = text[firstNonSpace(text, 0)] === "{";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") {
      line++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") continue;
    if (depth === 1 && expectMember && c !== "]" && c !== "}") {
      expectMember = false;
      const member: TopLevelMember = { line };
      if (c === '"' && isObject) {
        const end = stringEnd(text, i);
        member.key = JSON.parse(text.slice(i, end + 1)) as string;
      }
      members.push(member);
    }
    if (c === '"') {
      const end = stringEnd(text, i);
      i = end;
      continue;
    }
    if (c === "{" || c === "[") {
      depth++;
      if (depth === 1) expectMember = true;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectMember = true;
    }
  }
  return members;
}

function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

/** Index of the closing quote of the JSON string starting at `start` (strings cannot span lines). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

interface CsvField {
  text: string;
  quoted: boolean;
}

/** Splits CSV text into records, each with the 1-based line where it starts. */
function csvRecords(text: string, file: string): { fields: CsvField[]; line: number }[] {
  const records: { fields: CsvField[]; line: number }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: CsvField[] = [];
    for (;;) {
      let value = "";
      let quoted = false;
      if (text[i] === '"') {
        quoted = true;
        i++;
        for (;;) {
          if (i >= text.length) {
            throw new InputError(`dictionary ${file} line ${start}: a quoted field is never closed`, 'close the field with a " (write "" for a quote inside a field)');
          }
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          value += c;
          i++;
        }
        const after = i;
        while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
        if (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          throw new InputError(
            `dictionary ${file} line ${line}: unexpected text "${text.slice(after, after + 10).split("\n")[0]}" after a quoted field`,
            "put a comma after the closing quote, or quote the whole field",
          );
        }
      } else {
        while (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"') {
            throw new InputError(`dictionary ${file} line ${line}: a quote inside an unquoted field`, 'quote the whole field and write the inner quote as ""');
          }
          value += text[i++];
        }
      }
      fields.push({ text: value, quoted });
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") {
        i++;
        line++;
      }
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") line++;
  return line;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
