/**
 * Progress reporting for long work (pretraining, fine-tuning, evaluation).
 *
 * On a terminal the bar is redrawn in place on stderr at most ~10 times a second; elsewhere (CI
 * logs, files) a plain line is printed every 10 s and once at the end, so logs stay readable. The
 * rate is measured over a recent window, not since the start, so the ETA follows speed changes
 * (a warm cache, a slower stage) and a resumed run does not count work it skipped.
 */

/** Formats seconds compactly: `45s`, `1m05s`, `2h03m`, `3d04h`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/**
 * Formats a rate with three significant figures: `1.23 tok/s`, `12.3 tok/s`, `123 tok/s`,
 * `1.2k tok/s`, `3.4M tok/s`. Below 0.1 per second the inverse reads better: `12.5 s/step`.
 * `-- unit/s` when unknown.
 */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `-- ${unit}/s`;
  if (perSecond < 0.1) {
    const secondsEach = 1 / perSecond;
    return `${secondsEach < 100 ? secondsEach.toFixed(1) : Math.round(secondsEach)} s/${unit}`;
  }
  if (perSecond < 10) return `${perSecond.toFixed(2)} ${unit}/s`;
  if (perSecond < 100) return `${perSecond.toFixed(1)} ${unit}/s`;
  if (perSecond < 1000) return `${Math.round(perSecond)} ${unit}/s`;
  const prefixes = ["k", "M", "G", "T"];
  let value = perSecond;
  let prefix = "";
  for (const p of prefixes) {
    if (value < 1000) break;
    value /= 1000;
    prefix = p;
  }
  return `${value < 100 ? value.toFixed(1) : Math.round(value)}${prefix} ${unit}/s`;
}

const PARTIAL_BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/**
 * A bar exactly `width` characters wide, filled to `fraction` (clamped to 0..1) in eighths of a
 * character so slow progress still visibly moves.
 */
export function renderBar(fraction: number, width: number): string {
  const clamped = Number.isFinite(fraction) ? Math.min(Math.max(fraction, 0), 1) : 0;
  const eighths = Math.floor(clamped * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = PARTIAL_BLOCKS[eighths % 8];
  return ("█".repeat(full) + partial).padEnd(width, " ");
}

/** Formats an extra field: integers as they are, other numbers with 4 significant digits. */
export function formatField(value: string | number): string {
  if (typeof value === "string" || Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** What a progress line shows at one moment. */
export interface ProgressSnapshot {
  label: string;
  done: number;
  total?: number;
  unit: string;
  /** Units per second, undefined until measurable. */
  rate?: number;
  elapsedS: number;
  fields: Readonly<Record<string, string | number>>;
}

/**
 * One progress line. With a bar (terminal), `barWidth` > 0:
 * `finetune |██████▌   | 120/200 60% 35.2 tok/s ETA 2s loss=2.314`; after the work ends the ETA
 * is replaced by the elapsed time. Without a total there is no bar, percentage or ETA.
 */
export function formatProgressLine(s: ProgressSnapshot, barWidth: number, finished = false): string {
  const parts = [s.label];
  const hasTotal = s.total !== undefined && s.total > 0;
  if (hasTotal && barWidth > 0) parts.push(`|${renderBar(s.done / (s.total as number), barWidth)}|`);
  parts.push(hasTotal ? `${s.done}/${s.total}` : `${s.done}`);
  if (hasTotal) parts.push(`${Math.floor((100 * s.done) / (s.total as number))}%`);
  parts.push(formatRate(s.rate ?? NaN, s.unit));
  if (finished) {
    parts.push(`in ${formatDuration(s.elapsedS)}`);
  } else if (hasTotal) {
    const remaining = (s.total as number) - s.done;
    parts.push(`ETA ${s.rate ? formatDuration(remaining / s.rate) : "--"}`);
  }
  for (const [key, value] of Object.entries(s.fields)) parts.push(`${key}=${formatField(value)}`);
  return parts.join(" ");
}

/**
 * Units per second over the last `windowMs` of samples. Older samples are dropped, except the
 * newest one before the window so the measured span never collapses to zero between updates.
 */
export class RateEstimator {
  private samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 20_000) {}

  add(tMs: number, done: number): void {
    this.samples.push({ t: tMs, done });
    while (this.samples.length > 2 && this.samples[1].t <= tMs - this.windowMs) this.samples.shift();
  }

  /** Units per second, or undefined before two samples at different times. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last.t <= first.t) return undefined;
    return ((last.done - first.done) * 1000) / (last.t - first.t);
  }
}

/** Where progress goes: redrawn in place, printed as periodic plain lines, or nowhere. */
export type ProgressMode = "tty" | "plain" | "silent";

/** A writable with the terminal fields node gives stderr. */
export interface ProgressStream {
  write(chunk: string): unknown;
  columns?: number;
}

/** Options for {@link Progress}. */
export interface ProgressOptions {
  label: string;
  /** Units of work in all; omit when unknown. */
  total?: number;
  /** Unit name for the rate, e.g. `tok`, `step`; default `it`. */
  unit?: string;
  /** Work already done when this bar starts (a resumed run). */
  start?: number;
  stream: ProgressStream;
  mode: ProgressMode;
  /** Minimum time between redraws on a terminal; default 100 ms. */
  redrawMs?: number;
  /** Time between plain lines; default 10 s. */
  plainEveryMs?: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
  /** Called once when the bar finishes, so an owner can stop tracking it. */
  onFinish?: () => void;
}

const CLEAR_LINE = "\r\x1b[K";

/** A progress bar for one piece of long work. Call `update`/`tick` as work proceeds and `finish` at the end. */
export class Progress {
  private done: number;
  private total: number | undefined;
  private fields: Record<string, string | number> = {};
  private readonly startMs: number;
  private lastDrawMs: number;
  private drawn = false;
  private finished = false;
  private readonly rates = new RateEstimator();
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startMs = this.now();
    this.lastDrawMs = this.opts.mode === "tty" ? -Infinity : this.startMs;
    this.done = opts.start ?? 0;
    this.total = opts.total;
    this.rates.add(this.startMs, this.done);
  }

  /** Sets the amount of work done so far, and optionally extra fields such as `{ loss: 2.31 }`. */
  update(done: number, fields?: Record<string, string | number>): void {
    if (this.finished) return;
    this.done = done;
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    this.rates.add(t, done);
    const interval = this.opts.mode === "tty" ? (this.opts.redrawMs ?? 100) : (this.opts.plainEveryMs ?? 10_000);
    if (t - this.lastDrawMs >= interval) this.draw(t, false);
  }

  /** Adds `n` units of work done. */
  tick(n = 1, fields?: Record<string, string | number>): void {
    this.update(this.done + n, fields);
  }

  /** Changes the total, when it becomes known or changes mid-way. */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  /** Draws the final line (with elapsed time) and ends the bar; later updates are ignored. */
  finish(fields?: Record<string, string | number>): void {
    if (this.finished) return;
    if (fields) Object.assign(this.fields, fields);
    this.draw(this.now(), true);
    this.finished = true;
    this.opts.onFinish?.();
  }

  /** Erases the bar from a terminal so a log line can be printed; `redraw` puts it back. */
  clear(): void {
    if (this.opts.mode === "tty" && this.drawn && !this.finished) this.opts.stream.write(CLEAR_LINE);
  }

  /** Draws the bar again after `clear`. */
  redraw(): void {
    if (this.opts.mode === "tty" && this.drawn && !this.finished) this.draw(this.now(), false);
  }

  private snapshot(t: number, final: boolean): ProgressSnapshot {
    const elapsedS = (t - this.startMs) / 1000;
    // The closing line reports the average over the whole bar; while running, the recent rate.
    const average = elapsedS > 0 ? (this.done - (this.opts.start ?? 0)) / elapsedS : undefined;
    return {
      label: this.opts.label,
      done: this.done,
      total: this.total,
      unit: this.opts.unit ?? "it",
      rate: final ? average : this.rates.rate(),
      elapsedS,
      fields: this.fields,
    };
  }

  private draw(t: number, final: boolean): void {
    this.lastDrawMs = t;
    if (this.opts.mode === "silent") return;
    if (this.opts.mode === "plain") {
      this.opts.stream.write(formatProgressLine(this.snapshot(t, final), 0, final) + "\n");
      return;
    }
    const columns = this.opts.stream.columns || 80; // 0 when the terminal size is unknown
    let line = formatProgressLine(this.snapshot(t, final), Math.max(10, Math.min(30, columns - 60)), final);
    // A line longer than the terminal would wrap, and `\r` would then redraw only its last row.
    if ([...line].length > columns - 1) line = [...line].slice(0, columns - 2).join("") + "…";
    this.opts.stream.write(CLEAR_LINE + line + (final ? "\n" : ""));
    this.drawn = true;
  }
}
