/**
 * What the evaluation suites have in common: the result they return, the options they take, and the
 * warning log that keeps a long run's warnings readable.
 */
import { CancelledError } from "../errors.js";

/**
 * What every evaluation suite returns, so reports, comparisons and the CLI treat suites alike.
 * A metric is `null` when it could not be computed (no gold model, every judge call failed, ...);
 * it is never faked as 0, and `warnings` says why.
 */
export interface SuiteResult<D = unknown> {
  suite: string;
  model: string;
  metrics: Record<string, number | null>;
  /** Per-item evidence (completions, scores, per-task counts) for anyone who wants to dig in. */
  details?: D;
  warnings: string[];
}

/** Options every suite accepts. */
export interface SuiteRunOptions {
  /** Called after each unit of work so a CLI can show progress. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the suite between batches; it then throws {@link CancelledError}. */
  signal?: AbortSignal;
}

/** Throws {@link CancelledError} when the caller has aborted `signal`. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/**
 * Collects warnings, folding repeats of one kind into a single line: a benchmark with 900
 * over-long prompts should say so once, with a count and the first example, not 900 times.
 */
export class WarningLog {
  private readonly kinds = new Map<string, { first: string; count: number }>();

  /** Records one occurrence; `kind` groups occurrences, `detail` names this one (a line, a prompt). */
  add(kind: string, detail: string): void {
    const entry = this.kinds.get(kind);
    if (entry) entry.count++;
    else this.kinds.set(kind, { first: detail, count: 1 });
  }

  /** One line per kind, in the order kinds first appeared. */
  list(): string[] {
    return [...this.kinds].map(([kind, { first, count }]) =>
      count === 1 ? `${kind}: ${first}` : `${kind} (${count} times; first: ${first})`,
    );
  }
}
