/**
 * Everything the CLI writes: colours, tables, logs, results, errors and exit codes.
 *
 * Channels: results and human messages go to stdout; warnings, debug messages, progress and errors
 * to stderr. Under `--json` stdout carries exactly one line, the result (or the error) as JSON, at
 * the very end, and every human message moves to stderr, so `lethe x --json | tail -n1 | jq` works.
 * `--quiet` silences progress and informational messages but never warnings, errors or the result.
 */
import { LetheError } from "../errors.js";
import { UsageError, type GlobalOptions } from "./args.js";
import { Progress, formatField, type ProgressOptions } from "./progress.js";

/** Process exit codes: success, a failure while working, bad command-line usage. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** The parts of a node stream the CLI uses; `process.stdout`/`stderr` satisfy it. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Whether to colour a stream: only a terminal, only without `--no-color`, and only while NO_COLOR
 * is unset or empty (https://no-color.org).
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>, flag: boolean): boolean {
  return flag && stream.isTTY === true && (env.NO_COLOR ?? "") === "";
}

/** Text styling that is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** A Style emitting ANSI SGR codes when `enabled`, plain text otherwise. */
export function createStyle(enabled: boolean): Style {
  const sgr = (open: number, close: number) => (text: string) => (enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { enabled, bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

/** Removes ANSI colour codes, to measure what a terminal displays. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function displayWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

/** One table cell as text: `-` for nothing, numbers with 4 significant digits, objects as JSON. */
export function formatCell(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (typeof value === "number") return formatField(value);
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  return JSON.stringify(value, jsonReplacer);
}

/** Table input: records (columns are their keys in first-seen order) or rows of cells. */
export type TableRows = readonly Readonly<Record<string, unknown>>[] | readonly (readonly unknown[])[];

/**
 * A compact text table: columns separated by two spaces, a header line when the rows are records
 * (or `header` is given), numeric columns (and their headers) right-aligned, no trailing spaces.
 */
export function formatTable(rows: TableRows, opts: { header?: readonly string[]; style?: Style } = {}): string {
  if (rows.length === 0) return "";
  let header = opts.header;
  let cells: unknown[][];
  if (Array.isArray(rows[0])) {
    cells = (rows as readonly (readonly unknown[])[]).map((r) => [...r]);
  } else {
    const records = rows as readonly Readonly<Record<string, unknown>>[];
    const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
    header ??= keys;
    cells = records.map((r) => keys.map((k) => r[k]));
  }
  const columns = Math.max(header?.length ?? 0, ...cells.map((r) => r.length));
  const numeric = Array.from({ length: columns }, (_, c) =>
    cells.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === "number" || typeof r[c] === "bigint"),
  );
  const text = cells.map((r) => Array.from({ length: columns }, (_, c) => formatCell(r[c])));
  const all = header ? [[...header, ...Array(Math.max(0, columns - header.length)).fill("")], ...text] : text;
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...all.map((r) => displayWidth(r[c]))));
  const bold = opts.style?.bold ?? ((s: string) => s);
  return (
    all
      .map((r, n) =>
        r
          .map((cell, c) => {
            const padding = " ".repeat(widths[c] - displayWidth(cell));
            const shown = header && n === 0 ? bold(cell) : cell;
            return numeric[c] ? padding + shown : shown + padding;
          })
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** Writes {@link formatTable} to a stream (stdout by default). */
export function printTable(rows: TableRows, opts: { header?: readonly string[]; style?: Style; stream?: OutputStream } = {}): void {
  (opts.stream ?? process.stdout).write(formatTable(rows, opts));
}

/**
 * The human report of a failure: `error: <message>` and `  fix: <fix>`. An error that is not a
 * LetheError is a bug, and says so. Under `verbose` the stack and the chain of causes follow.
 */
export function formatError(err: unknown, opts: { verbose: boolean; style?: Style }): string {
  const style = opts.style ?? createStyle(false);
  const message = err instanceof Error ? err.message : String(err);
  const fix =
    err instanceof LetheError ? err.fix : "this looks like a bug in lethe; rerun with --verbose and report the output";
  const lines = [`${style.red(style.bold("error:"))} ${message}`, `  ${style.cyan("fix:")} ${fix}`];
  if (opts.verbose) {
    for (let e: unknown = err, depth = 0; e !== undefined && depth < 10; e = e instanceof Error ? e.cause : undefined, depth++) {
      if (depth > 0) lines.push(`caused by: ${e instanceof Error ? e.message : String(e)}`);
      if (e instanceof Error && e.stack) lines.push(style.dim(e.stack.split("\n").slice(1).join("\n")));
    }
  }
  return lines.join("\n") + "\n";
}

/** The exit code for a failure: 2 for bad usage, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? ExitCode.usage : ExitCode.failure;
}

/** JSON has no bigint; a 64-bit count becomes a number when exact, else a decimal string. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** A value as one line of JSON (never pretty-printed, so it is exactly one line). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value ?? {}, jsonReplacer) + "\n";
}

/** The `--json` form of a failure, printed as the last stdout line instead of a result. */
export function errorJson(err: unknown): { error: { type: string; message: string; fix?: string } } {
  if (err instanceof LetheError) return { error: { type: err.name, message: err.message, fix: err.fix } };
  return { error: { type: err instanceof Error ? err.name : "Error", message: err instanceof Error ? err.message : String(err) } };
}

/**
 * The default human rendering of a command's result: a list of records as a table, an object as
 * `key  value` lines, a string as it is.
 */
export function formatResult(result: unknown, style?: Style): string {
  if (result === undefined || result === null) return "";
  if (typeof result === "string") return result.endsWith("\n") ? result : result + "\n";
  if (Array.isArray(result)) {
    const records = result.every((r) => typeof r === "object" && r !== null && !Array.isArray(r));
    return records && result.length > 0 ? formatTable(result as Record<string, unknown>[], { style }) : formatCell(result) + "\n";
  }
  if (typeof result === "object") {
    const entries = Object.entries(result).filter(([, v]) => v !== undefined);
    return formatTable(
      entries.map(([k, v]) => [style ? style.dim(k) : k, formatCell(v)]),
      { style },
    );
  }
  return formatCell(result) + "\n";
}

/** Streams and settings an {@link Output} writes with. */
export interface OutputOptions {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  globals: Pick<GlobalOptions, "json" | "quiet" | "verbose" | "color">;
}

/** The CLI's writer, handed to commands as `ctx.out`; it routes each kind of message per the global options. */
export class Output {
  /** Styling for text written to stdout. */
  readonly style: Style;
  /** Styling for text written to stderr. */
  readonly errStyle: Style;
  private readonly bars = new Set<Progress>();

  constructor(private readonly opts: OutputOptions) {
    this.style = createStyle(colorEnabled(opts.stdout, opts.env, opts.globals.color));
    this.errStyle = createStyle(colorEnabled(opts.stderr, opts.env, opts.globals.color));
  }

  /** Output meant for a person: stdout normally, stderr under --json (stdout is kept for the result). */
  print(text: string): void {
    this.write(this.opts.globals.json ? this.opts.stderr : this.opts.stdout, text.endsWith("\n") ? text : text + "\n");
  }

  /** An informational message; silenced by --quiet. */
  info(message: string): void {
    if (!this.opts.globals.quiet) this.print(message);
  }

  /** A warning, on stderr; shown even under --quiet. */
  warn(message: string): void {
    this.write(this.opts.stderr, `${this.errStyle.yellow("warning:")} ${message}\n`);
  }

  /** A debug message, on stderr, only under --verbose. */
  debug(message: string): void {
    if (this.opts.globals.verbose) this.write(this.opts.stderr, this.errStyle.dim(message) + "\n");
  }

  /** A compact table (see {@link formatTable}) on the human channel. */
  table(rows: TableRows, header?: readonly string[]): void {
    this.print(formatTable(rows, { header, style: this.opts.globals.json ? this.errStyle : this.style }));
  }

  /**
   * A progress bar on stderr: redrawn in place on a terminal, periodic plain lines otherwise,
   * silent under --quiet or --json. Call `finish()` on it when the work ends.
   */
  progress(opts: Omit<ProgressOptions, "stream" | "mode" | "onFinish">): Progress {
    const { quiet, json } = this.opts.globals;
    const mode = quiet || json ? "silent" : this.opts.stderr.isTTY ? "tty" : "plain";
    const bar: Progress = new Progress({ ...opts, stream: this.opts.stderr, mode, onFinish: () => this.bars.delete(bar) });
    if (mode === "tty") this.bars.add(bar);
    return bar;
  }

  /** Ends bars a command left open (it failed, or forgot), so the terminal line is not left half-drawn. */
  finishProgress(): void {
    for (const bar of [...this.bars]) bar.finish();
  }

  /** Prints a command's result: one JSON line on stdout under --json, else `render` or {@link formatResult}. */
  result<R>(result: R, render?: (result: R, out: Output) => void): void {
    if (this.opts.globals.json) {
      this.write(this.opts.stdout, toJsonLine(result));
    } else if (render) {
      render(result, this);
    } else {
      const text = formatResult(result, this.style);
      if (text !== "") this.write(this.opts.stdout, text);
    }
  }

  /** Reports a failure on stderr, and under --json also as the final JSON line on stdout. */
  error(err: unknown): void {
    this.write(this.opts.stderr, formatError(err, { verbose: this.opts.globals.verbose, style: this.errStyle }));
    if (this.opts.globals.json) this.write(this.opts.stdout, toJsonLine(errorJson(err)));
  }

  // A terminal bar sits on the last line; lift it off before printing so the message is not
  // appended to the bar, then draw it again below.
  private write(stream: OutputStream, text: string): void {
    for (const bar of this.bars) bar.clear();
    stream.write(text);
    for (const bar of this.bars) bar.redraw();
  }
}
