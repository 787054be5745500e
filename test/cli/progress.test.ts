import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Progress,
  RateEstimator,
  formatDuration,
  formatField,
  formatProgressLine,
  formatRate,
  renderBar,
  type ProgressMode,
} from "../../src/cli/progress.js";

test("formatDuration", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(45.4), "45s");
  assert.equal(formatDuration(59.6), "1m00s");
  assert.equal(formatDuration(65), "1m05s");
  assert.equal(formatDuration(3600 * 2 + 3 * 60 + 20), "2h03m");
  assert.equal(formatDuration(86400 * 3 + 4 * 3600), "3d04h");
  assert.equal(formatDuration(NaN), "--");
  assert.equal(formatDuration(Infinity), "--");
  assert.equal(formatDuration(-1), "--");
});

test("formatRate keeps three significant figures and inverts slow rates", () => {
  assert.equal(formatRate(1.234, "tok"), "1.23 tok/s");
  assert.equal(formatRate(12.34, "tok"), "12.3 tok/s");
  assert.equal(formatRate(123.4, "tok"), "123 tok/s");
  assert.equal(formatRate(1234, "tok"), "1.2k tok/s");
  assert.equal(formatRate(123_456, "tok"), "123k tok/s");
  assert.equal(formatRate(3_400_000, "tok"), "3.4M tok/s");
  assert.equal(formatRate(0.08, "step"), "12.5 s/step");
  assert.equal(formatRate(0.004, "step"), "250 s/step");
  assert.equal(formatRate(0, "tok"), "-- tok/s");
  assert.equal(formatRate(NaN, "tok"), "-- tok/s");
});

test("renderBar fills in eighths and always has the given width", () => {
  assert.equal(renderBar(0, 4), "    ");
  assert.equal(renderBar(1, 4), "████");
  assert.equal(renderBar(0.5, 4), "██  ");
  assert.equal(renderBar(0.5625, 4), "██▎ "); // 2.25 cells: two full and two eighths
  assert.equal(renderBar(1.7, 3), "███");
  assert.equal(renderBar(-1, 3), "   ");
  assert.equal(renderBar(NaN, 3), "   ");
});

test("formatField", () => {
  assert.equal(formatField(2.31456), "2.315");
  assert.equal(formatField(0.000123456), "0.0001235");
  assert.equal(formatField(42), "42");
  assert.equal(formatField("x"), "x");
});

test("formatProgressLine with and without a total", () => {
  const base = { label: "finetune", done: 120, total: 200, unit: "tok", rate: 40, elapsedS: 3, fields: { loss: 2.31456 } };
  assert.equal(formatProgressLine(base, 8), "finetune |████▊   | 120/200 60% 40.0 tok/s ETA 2s loss=2.315");
  assert.equal(formatProgressLine(base, 0), "finetune 120/200 60% 40.0 tok/s ETA 2s loss=2.315");
  assert.equal(formatProgressLine({ ...base, total: undefined, fields: {} }, 8), "finetune 120 40.0 tok/s");
  assert.equal(formatProgressLine({ ...base, rate: undefined, fields: {} }, 0), "finetune 120/200 60% -- tok/s ETA --");
  assert.equal(formatProgressLine({ ...base, done: 200, elapsedS: 65, fields: {} }, 0, true), "finetune 200/200 100% 40.0 tok/s in 1m05s");
});

test("RateEstimator measures over the recent window only", () => {
  const r = new RateEstimator(10_000);
  assert.equal(r.rate(), undefined);
  r.add(0, 0);
  assert.equal(r.rate(), undefined);
  r.add(1000, 100); // 100/s
  assert.equal(r.rate(), 100);
  r.add(20_000, 200); // the sample at 0 leaves the window; 1000..20000 covered 100 units in 19 s
  assert.equal(r.rate(), 100 / 19);
  r.add(21_000, 300);
  // t=1000 stays: it is the newest sample before the window (11000..21000) begins.
  assert.equal(r.rate(), (300 - 100) / 20);
});

function fakeBar(mode: ProgressMode, opts: { total?: number; columns?: number } = {}) {
  let t = 0;
  const writes: string[] = [];
  const bar = new Progress({
    label: "work",
    total: opts.total ?? 100,
    unit: "it",
    mode,
    stream: { write: (s: string) => writes.push(s), columns: opts.columns ?? 120 },
    now: () => t,
  });
  return { bar, writes, advance: (ms: number) => (t += ms) };
}

test("on a terminal the bar is redrawn in place at most every 100 ms", () => {
  const { bar, writes, advance } = fakeBar("tty");
  advance(50);
  bar.update(1);
  assert.equal(writes.length, 1, "the first update draws at once");
  advance(50);
  bar.update(2);
  assert.equal(writes.length, 1, "50 ms later: no redraw");
  advance(60);
  bar.update(3, { loss: 1.5 });
  assert.equal(writes.length, 2);
  assert.ok(writes[1].startsWith("\r\x1b[K"));
  assert.ok(writes[1].includes(" 3/100 3% "));
  assert.ok(writes[1].endsWith("loss=1.5"));
  assert.ok(!writes[1].includes("\n"));
  bar.finish();
  assert.ok(writes[2].endsWith("\n"));
  assert.ok(writes[2].includes(" in 0s"));
  bar.update(50);
  assert.equal(writes.length, 3, "updates after finish are ignored");
});

test("a terminal line never exceeds the terminal width", () => {
  const { bar, writes } = fakeBar("tty", { columns: 40 });
  bar.update(10, { loss: 1.23456, lr: 0.0001, note: "some long extra field" });
  const line = writes[0].replace("\r\x1b[K", "");
  assert.equal([...line].length, 39);
  assert.ok(line.endsWith("…"));
});

test("off a terminal a plain line is printed every 10 s and at the end", () => {
  const { bar, writes, advance } = fakeBar("plain");
  for (let i = 1; i <= 25; i++) {
    advance(1000);
    bar.update(i);
  }
  assert.deepEqual(writes, ["work 10/100 10% 1.00 it/s ETA 1m30s\n", "work 20/100 20% 1.00 it/s ETA 1m20s\n"]);
  bar.finish();
  assert.equal(writes[2], "work 25/100 25% 1.00 it/s in 25s\n");
});

test("a silent bar writes nothing", () => {
  const { bar, writes, advance } = fakeBar("silent");
  advance(20_000);
  bar.update(50);
  bar.finish();
  assert.deepEqual(writes, []);
});

test("clear and redraw lift the bar off the line for a log message", () => {
  const { bar, writes } = fakeBar("tty");
  bar.clear();
  assert.equal(writes.length, 0, "nothing to clear before the first draw");
  bar.update(5);
  bar.clear();
  assert.equal(writes[1], "\r\x1b[K");
  bar.redraw();
  assert.ok(writes[2].includes(" 5/100 "));
});
