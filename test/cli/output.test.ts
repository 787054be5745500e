import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../../src/cli/args.js";
import {
  ExitCode,
  Output,
  colorEnabled,
  createStyle,
  errorJson,
  exitCodeFor,
  formatError,
  formatResult,
  formatTable,
  stripAnsi,
  toJsonLine,
} from "../../src/cli/output.js";
import { InputError } from "../../src/errors.js";
import { memoryStream } from "./helpers.js";

test("colour only on a terminal, without --no-color, with NO_COLOR unset or empty", () => {
  assert.equal(colorEnabled({ isTTY: true }, {}, true), true);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "" }, true), true);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "1" }, true), false);
  assert.equal(colorEnabled({ isTTY: true }, {}, false), false);
  assert.equal(colorEnabled({ isTTY: false }, {}, true), false);
  assert.equal(colorEnabled({}, {}, true), false);
});

test("styles are ANSI codes when enabled and the identity otherwise", () => {
  assert.equal(createStyle(true).red("x"), "\x1b[31mx\x1b[39m");
  assert.equal(createStyle(true).bold("x"), "\x1b[1mx\x1b[22m");
  assert.equal(createStyle(false).red("x"), "x");
  assert.equal(stripAnsi("\x1b[1m\x1b[31mab\x1b[39m\x1b[22mc"), "abc");
});

test("formatTable: records give a header, numbers align right, no trailing spaces", () => {
  const text = formatTable([
    { model: "tiny", params: 1_000_000, ppl: 12.3456 },
    { model: "small-model", params: 25, ppl: null },
  ]);
  assert.equal(text, ["model         params    ppl", "tiny         1000000  12.35", "small-model       25      -", ""].join("\n"));
});

test("formatTable: rows of cells, an explicit header, and coloured cells measured by what shows", () => {
  const style = createStyle(true);
  const text = formatTable([[style.red("a"), "bb"], ["ccc", "d"]]);
  assert.equal(stripAnsi(text), "a    bb\nccc  d\n");
  assert.equal(formatTable([["x", 1]], { header: ["name", "n"] }), "name  n\nx     1\n");
  assert.equal(formatTable([]), "");
});

test("formatError: a LetheError prints its message and fix; others are called a bug", () => {
  assert.equal(formatError(new InputError("model m.gguf does not exist", "check the path"), { verbose: false }), "error: model m.gguf does not exist\n  fix: check the path\n");
  const bug = formatError(new TypeError("x is undefined"), { verbose: false });
  assert.equal(bug, "error: x is undefined\n  fix: this looks like a bug in lethe; rerun with --verbose and report the output\n");
});

test("formatError shows the stack and causes only when verbose", () => {
  const err = new InputError("outer", "do this", { cause: new Error("inner") });
  const quiet = formatError(err, { verbose: false });
  assert.ok(!quiet.includes("    at "));
  const verbose = formatError(err, { verbose: true });
  assert.ok(verbose.includes("    at "), verbose);
  assert.ok(verbose.includes("caused by: inner"));
});

test("exit codes: 2 for usage errors, 1 for other failures", () => {
  assert.equal(exitCodeFor(new UsageError("m", "f")), ExitCode.usage);
  assert.equal(exitCodeFor(new InputError("m", "f")), ExitCode.failure);
  assert.equal(exitCodeFor(new Error("m")), ExitCode.failure);
  assert.deepEqual(ExitCode, { ok: 0, failure: 1, usage: 2 });
});

test("JSON lines: one line, bigints as numbers when exact, errors with type and fix", () => {
  assert.equal(toJsonLine({ a: { b: [1, 2] }, n: 5n, huge: 2n ** 64n }), '{"a":{"b":[1,2]},"n":5,"huge":"18446744073709551616"}\n');
  assert.equal(toJsonLine(undefined), "{}\n");
  assert.deepEqual(errorJson(new InputError("m", "f")), { error: { type: "InputError", message: "m", fix: "f" } });
  assert.deepEqual(errorJson(new RangeError("r")), { error: { type: "RangeError", message: "r" } });
});

test("formatResult renders objects as key/value lines and lists of records as tables", () => {
  assert.equal(formatResult({ model: "m.gguf", steps: 10, extra: { a: 1 }, skipped: undefined }), "model  m.gguf\nsteps  10\nextra  {\"a\":1}\n");
  assert.equal(formatResult([{ a: 1 }, { a: 2 }]), "a\n1\n2\n");
  assert.equal(formatResult("done"), "done\n");
  assert.equal(formatResult(undefined), "");
});

function output(globals: Partial<{ json: boolean; quiet: boolean; verbose: boolean }>, stderrTTY = false) {
  const stdout = memoryStream();
  const stderr = memoryStream(stderrTTY);
  const out = new Output({ stdout, stderr, env: {}, globals: { json: false, quiet: false, verbose: false, color: true, ...globals } });
  return { out, stdout, stderr };
}

test("Output routes: info to stdout, warnings to stderr, debug only when verbose", () => {
  const { out, stdout, stderr } = output({});
  out.info("hello");
  out.warn("careful");
  out.debug("detail");
  out.result({ ok: 1 });
  assert.equal(stdout.text(), "hello\nok  1\n");
  assert.equal(stderr.text(), "warning: careful\n");
});

test("Output under --json: stdout holds only the result line, logs go to stderr", () => {
  const { out, stdout, stderr } = output({ json: true });
  out.info("hello");
  out.table([{ a: 1 }]);
  out.result({ ok: true });
  assert.deepEqual(stdout.chunks, ['{"ok":true}\n']);
  assert.equal(stderr.text(), "hello\na\n1\n");
});

test("Output under --json reports an error on stderr and as the last stdout line", () => {
  const { out, stdout, stderr } = output({ json: true });
  out.error(new InputError("bad", "fix it"));
  assert.deepEqual(stdout.chunks, ['{"error":{"type":"InputError","message":"bad","fix":"fix it"}}\n']);
  assert.equal(stderr.text(), "error: bad\n  fix: fix it\n");
});

test("Output under --quiet silences info and progress but not warnings or the result", () => {
  const { out, stdout, stderr } = output({ quiet: true }, true);
  out.info("hello");
  const bar = out.progress({ label: "x", total: 2 });
  bar.update(1);
  bar.finish();
  out.warn("careful");
  out.result("the answer");
  assert.equal(stdout.text(), "the answer\n");
  assert.equal(stripAnsi(stderr.text()), "warning: careful\n");
});

test("a log line printed during a terminal bar clears the bar and redraws it after", () => {
  const { out, stderr } = output({}, true);
  const bar = out.progress({ label: "x", total: 10 });
  bar.update(3);
  out.warn("careful");
  const chunks = stderr.chunks;
  assert.ok(chunks[0].includes(" 3/10 "));
  assert.equal(chunks[1], "\r\x1b[K");
  assert.ok(chunks[2].includes("careful"));
  assert.ok(chunks[3].includes(" 3/10 "));
  out.finishProgress();
  assert.ok(chunks[chunks.length - 1].endsWith("\n"), "an open bar is closed with a newline");
});
