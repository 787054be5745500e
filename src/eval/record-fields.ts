/**
 * Field checks shared by the JSONL record validators, so that every data file reports a malformed
 * field the same way: as a {@link RecordShapeError}, which the loader turns into a line-numbered
 * problem.
 */
import { RecordShapeError } from "./jsonl.js";

/** Checks a JSONL value is an object and returns it for field access. */
export function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RecordShapeError("expected a JSON object");
  }
  return value as Record<string, unknown>;
}

/** A string field; `nonEmpty` also rejects whitespace-only strings. */
export function stringField(obj: Record<string, unknown>, key: string, opts: { nonEmpty?: boolean } = {}): string {
  const v = obj[key];
  if (typeof v !== "string") throw new RecordShapeError(`"${key}" must be a string`);
  if (opts.nonEmpty && v.trim() === "") throw new RecordShapeError(`"${key}" must not be empty`);
  return v;
}

/** An array-of-strings field; `minLength` rejects shorter arrays, `nonEmptyItems` blank entries. */
export function stringArrayField(
  obj: Record<string, unknown>,
  key: string,
  opts: { minLength?: number; nonEmptyItems?: boolean } = {},
): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new RecordShapeError(`"${key}" must be an array of strings`);
  }
  if (v.length < (opts.minLength ?? 0)) {
    throw new RecordShapeError(`"${key}" must hold at least ${opts.minLength} item(s)`);
  }
  if (opts.nonEmptyItems && v.some((x: string) => x.trim() === "")) {
    throw new RecordShapeError(`"${key}" must not contain empty strings`);
  }
  return v as string[];
}

/** An integer field within [0, below). */
export function indexField(obj: Record<string, unknown>, key: string, below: number): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= below) {
    throw new RecordShapeError(`"${key}" must be an integer from 0 to ${below - 1}`);
  }
  return v;
}
