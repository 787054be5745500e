/**
 * JSON Lines, the format of every evaluation data file (prompt sets, QA pairs, benchmarks, judge
 * terms). Problems keep their line numbers and are returned, not thrown, so each loader decides
 * whether a bad line fails the load (hand-written sets) or is skipped and reported (benchmarks).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { InputError } from "../errors.js";

/** A parsed JSONL line, with its 1-based line number for error messages. */
export interface JsonlRecord<T = unknown> {
  line: number;
  value: T;
}

/** A line that could not be used, and why. */
export interface JsonlProblem {
  line: number;
  message: string;
}

/** Everything usable in a JSONL file plus every line that was not. */
export interface JsonlContents<T = unknown> {
  records: JsonlRecord<T>[];
  problems: JsonlProblem[];
}

/** Thrown by record validators; the message names the field, the loader adds file and line. */
export class RecordShapeError extends Error {}

/** Parses JSON Lines text. Blank lines are skipped; unparsable lines become problems, not exceptions. */
export function parseJsonl(text: string): JsonlContents {
  const records: JsonlRecord[] = [];
  const problems: JsonlProblem[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    try {
      records.push({ line: i + 1, value: JSON.parse(line) });
    } catch (err) {
      problems.push({ line: i + 1, message: `not valid JSON (${(err as Error).message})` });
    }
  });
  return { records, problems };
}

/** Reads a JSONL file; a missing or unreadable file is an {@link InputError}. */
export async function readJsonl(path: string): Promise<JsonlContents> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code === "ENOENT" ? `${path} does not exist` : `cannot read ${path} (${code ?? (err as Error).message})`,
      "check the path and that the file is readable",
      { cause: err },
    );
  }
  return parseJsonl(text);
}

/**
 * Keeps the records `validate` accepts (mapping them to typed items) and turns its
 * {@link RecordShapeError}s into line-numbered problems; other exceptions propagate.
 */
export function validateRecords<T>(
  contents: JsonlContents,
  validate: (value: unknown, line: number) => T,
): JsonlContents<T> {
  const records: JsonlRecord<T>[] = [];
  const problems = [...contents.problems];
  for (const { line, value } of contents.records) {
    try {
      records.push({ line, value: validate(value, line) });
    } catch (err) {
      if (!(err instanceof RecordShapeError)) throw err;
      problems.push({ line, message: err.message });
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { records, problems };
}

/** Formats problems as "file:line: message" lines, at most `max` of them plus a count of the rest. */
export function describeProblems(path: string, problems: readonly JsonlProblem[], max = 5): string {
  const shown = problems.slice(0, max).map((p) => `${path}:${p.line}: ${p.message}`);
  if (problems.length > max) shown.push(`... and ${problems.length - max} more`);
  return shown.join("; ");
}

/** Writes records as JSON Lines via a temporary file, so a crash never leaves a half-written set. */
export async function writeJsonlAtomic(path: string, records: readonly unknown[]): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, records.map((r) => JSON.stringify(r) + "\n").join(""), "utf8");
  await rename(tmp, path);
}
