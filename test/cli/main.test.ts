import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommand, type ParsedArgs } from "../../src/cli/args.js";
import type { Command, CommandContext } from "../../src/cli/command.js";
import { defaultRegistry, directoryRegistry, runCli, splitCommand, staticRegistry } from "../../src/cli/main.js";
import { stripAnsi } from "../../src/cli/output.js";
import { InputError } from "../../src/errors.js";
import { memoryStream } from "./helpers.js";
import { testTempDir } from "../helpers/temp.js";

const greetSpec = defineCommand({
  name: "greet",
  summary: "say hello",
  options: {
    name: { type: "string", required: true, description: "who to greet" },
    times: { type: "number", integer: true, min: 1, default: 1, description: "how often" },
  },
});

let lastContext: CommandContext | undefined;
const greet: Command<typeof greetSpec, { greeting: string; threads: number }> = {
  spec: greetSpec,
  run(args: ParsedArgs<typeof greetSpec>, ctx) {
    lastContext = ctx;
    ctx.out.info("greeting...");
    if (args.name === "nobody") throw new InputError("there is nobody to greet", "give a --name");
    if (args.name === "bug") throw new TypeError("oops");
    return { greeting: `hello ${args.name}`.repeat(args.times), threads: ctx.globals.threads };
  },
  render(result, out) {
    out.print(result.greeting.toUpperCase());
  },
};

const failSpec = defineCommand({ name: "fail", summary: "always fails" });
const fail: Command<typeof failSpec> = {
  spec: failSpec,
  async run() {
    throw new InputError("it failed", "do not run it");
  },
};

async function cli(argv: string[]) {
  const stdout = memoryStream();
  const stderr = memoryStream();
  const code = await runCli(argv, { stdout, stderr, env: {}, cwd: "/" }, staticRegistry([greet, fail]));
  return { code, out: stdout.text(), err: stderr.text() };
}

test("runs a command, renders its result, exit 0", async () => {
  const r = await cli(["greet", "--name", "oz"]);
  assert.deepEqual(r, { code: 0, out: "greeting...\nHELLO OZ\n", err: "" });
  assert.equal(lastContext?.cwd, "/");
  assert.equal(lastContext?.signal.aborted, false);
});

test("--json prints the result as the last stdout line and moves logs to stderr", async () => {
  const r = await cli(["greet", "--name", "oz", "--json", "--threads", "1"]);
  assert.equal(r.code, 0);
  assert.equal(r.out, '{"greeting":"hello oz","threads":1}\n');
  assert.equal(r.err, "greeting...\n");
});

test("global options may come before the command", async () => {
  const r = await cli(["--json", "--threads", "1", "greet", "--name", "oz"]);
  assert.equal(r.out, '{"greeting":"hello oz","threads":1}\n');
  assert.deepEqual(splitCommand(["-q", "--threads", "2", "x", "--a"]), { command: "x", rest: ["-q", "--threads", "2", "--a"], leadingHelp: false, version: false });
});

test("--quiet silences info but keeps the result", async () => {
  const r = await cli(["greet", "--name", "oz", "-q"]);
  assert.equal(r.out, "HELLO OZ\n");
});

test("a LetheError prints error and fix, exit 1; --json adds the error line", async () => {
  const r = await cli(["greet", "--name", "nobody"]);
  assert.equal(r.code, 1);
  assert.equal(r.err, "error: there is nobody to greet\n  fix: give a --name\n");
  const j = await cli(["fail", "--json"]);
  assert.equal(j.code, 1);
  assert.equal(j.out, '{"error":{"type":"InputError","message":"it failed","fix":"do not run it"}}\n');
});

test("an unexpected error is reported as a bug, with the stack only under --verbose", async () => {
  const r = await cli(["greet", "--name", "bug"]);
  assert.equal(r.code, 1);
  assert.ok(r.err.startsWith("error: oops\n  fix: this looks like a bug"));
  assert.ok(!r.err.includes("    at "));
  const v = await cli(["greet", "--name", "bug", "--verbose"]);
  assert.ok(v.err.includes("    at "));
});

test("usage errors exit 2, also for an unknown command (with a suggestion)", async () => {
  const missing = await cli(["greet"]);
  assert.equal(missing.code, 2);
  assert.equal(missing.err, "error: missing required option --name\n  fix: give it as --name VALUE\n");
  const unknown = await cli(["gret"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'error: unknown command "gret"; did you mean greet?\n  fix: run `lethe greet`, or `lethe --help` to list the commands\n');
  const json = await cli(["gret", "--json"]);
  assert.equal(json.out, '{"error":{"type":"UsageError","message":"unknown command \\"gret\\"; did you mean greet?","fix":"run `lethe greet`, or `lethe --help` to list the commands"}}\n');
});

test("lethe --help lists the commands with their summaries; <cmd> --help shows the command", async () => {
  for (const argv of [["--help"], []]) {
    const r = await cli(argv);
    assert.equal(r.code, 0);
    assert.match(r.out, /^lethe \d+\.\d+\.\d+: /);
    assert.ok(r.out.includes("\n  greet  say hello\n"), r.out);
    assert.ok(r.out.includes("\n  fail   always fails\n"), r.out);
  }
  const help = await cli(["greet", "--help"]);
  assert.equal(help.code, 0);
  assert.ok(help.out.startsWith("lethe greet: say hello\n"));
  assert.ok(help.out.includes("--name VALUE"));
  const before = await cli(["-h", "greet"]);
  assert.equal(before.out, help.out);
});

test("the real registry finds version, and --version runs it", async () => {
  const names = await defaultRegistry().names();
  assert.ok(names.includes("version"));
  const stdout = memoryStream();
  const stderr = memoryStream();
  const code = await runCli(["--version", "--json"], { stdout, stderr, env: {}, cwd: "/" });
  assert.equal(code, 0);
  const result = JSON.parse(stdout.text()) as { name: string; version: string };
  assert.equal(result.name, "lethe");
  assert.match(result.version, /^\d+\.\d+\.\d+/);
});

test("a directory registry skips _helpers and reports a file that is not a command", async (t) => {
  const dir = testTempDir(t, "commands");
  writeFileSync(join(dir, "_shared.ts"), "export const x = 1;\n");
  writeFileSync(join(dir, "broken.ts"), "export const spec = { name: 'other', summary: 's' };\nexport function run() {}\n");
  const registry = directoryRegistry(dir, ".ts");
  assert.deepEqual(await registry.names(), ["broken"]);
  assert.equal(await registry.load("missing"), undefined);
  await assert.rejects(registry.load("broken"), /does not export a command/);
  const stdout = memoryStream();
  const code = await runCli(["--help"], { stdout, stderr: memoryStream(), env: {}, cwd: "/" }, registry);
  assert.equal(code, 0, "one broken command does not break --help");
  assert.ok(stripAnsi(stdout.text()).includes("broken  (cannot load:"));
});

test("bin/lethe.js runs from a dev checkout through tsx", () => {
  const bin = fileURLToPath(new URL("../../bin/lethe.js", import.meta.url));
  const r = spawnSync(process.execPath, [bin, "version", "--json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal((JSON.parse(lines[lines.length - 1]) as { name: string }).name, "lethe");
  const bad = spawnSync(process.execPath, [bin, "version", "--bogus"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "error: unknown option --bogus\n  fix: run `lethe version --help` to see its options\n");
});
