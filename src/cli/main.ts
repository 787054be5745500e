/**
 * The `lethe` dispatcher: finds the command, parses its arguments, runs it, prints its result or
 * error, and returns the exit code (0 ok, 1 failure, 2 bad usage).
 *
 * Commands are discovered as the files of `commands/` (`commands/<name>.ts`, or `.js` once built),
 * so adding a command needs no edit here; files whose name starts with `_` are skipped and may hold
 * helpers. A command's file is loaded only when that command runs, except for `lethe --help`.
 */
import { readdir } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CancelledError, LetheError } from "../errors.js";
import { GLOBAL_OPTIONS, UsageError, flagName, parseArgs, renderHelp, suggest, wantsHelp, wrap, type GlobalOptions } from "./args.js";
import type { Command } from "./command.js";
import { ExitCode, Output, exitCodeFor, stripAnsi, type OutputStream } from "./output.js";
import { readPackageJson } from "../util/package-root.js";

/** Where the commands come from; tests substitute a fixed list. */
export interface CommandRegistry {
  /** Command names, in the order `lethe --help` lists them. */
  names(): Promise<string[]>;
  /** The command, or undefined when there is none by that name. */
  load(name: string): Promise<Command | undefined>;
}

/** The order of the main workflow in `lethe --help`; other commands follow alphabetically. */
const LISTING_ORDER = ["pretrain", "testbed", "unlearn", "eval", "report", "demo", "selfcheck", "version"];

function isCommand(value: unknown): value is Command {
  const mod = value as Partial<Command> | undefined;
  return typeof mod?.spec === "object" && mod.spec !== null && typeof mod.run === "function";
}

/** Commands discovered as the `<name>.ts`/`.js` files of a directory. */
export function directoryRegistry(dir: string, ext: string): CommandRegistry {
  return {
    async names() {
      const files = await readdir(dir).catch(() => [] as string[]);
      const names = files
        .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`) && !f.startsWith("_"))
        .map((f) => f.slice(0, -ext.length))
        .filter((n) => /^[a-z][a-z0-9-]*$/.test(n));
      const rank = (n: string) => (LISTING_ORDER.includes(n) ? LISTING_ORDER.indexOf(n) : LISTING_ORDER.length);
      return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    },
    async load(name) {
      if (!(await this.names()).includes(name)) return undefined;
      const file = join(dir, name + ext);
      const mod: unknown = await import(pathToFileURL(file).href);
      if (!isCommand(mod) || mod.spec.name !== name) {
        throw new LetheError(
          `${file} does not export a command: it needs \`spec\` (with name "${name}") and \`run\``,
          "export `spec = defineCommand({ name, ... })` and `run(args, ctx)` from it, or prefix a helper file's name with _",
        );
      }
      return mod;
    },
  };
}

/** A registry over commands already in memory. */
export function staticRegistry(commands: readonly Command[]): CommandRegistry {
  return {
    async names() {
      return commands.map((c) => c.spec.name);
    },
    async load(name) {
      return commands.find((c) => c.spec.name === name);
    },
  };
}

const here = fileURLToPath(import.meta.url);

/** The registry of the installed commands, next to this file. */
export function defaultRegistry(): CommandRegistry {
  return directoryRegistry(join(dirname(here), "commands"), extname(here));
}

/** The process around one CLI invocation; `process` in production, in-memory streams in tests. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Aborts the running command (Ctrl-C). */
  signal?: AbortSignal;
}

const valueGlobals = new Set(
  Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type !== "boolean")
    .map(([key]) => `--${flagName(key)}`),
);

/**
 * Splits `lethe [global options] <command> [args]` into the command and the rest; global options
 * given before the command are moved into the rest, so `lethe --json info` works.
 */
export function splitCommand(argv: readonly string[]): { command?: string; rest: string[]; leadingHelp: boolean; version: boolean } {
  const leading: string[] = [];
  let leadingHelp = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--help" || token === "-h") leadingHelp = true;
    else if (token === "--version") version = true;
    else if (token.startsWith("-") && token !== "-" && token !== "--") {
      leading.push(token);
      if (valueGlobals.has(token) && i + 1 < argv.length) leading.push(argv[++i]);
    } else {
      return { command: token, rest: [...leading, ...argv.slice(i + 1)], leadingHelp, version };
    }
  }
  return { rest: leading, leadingHelp, version };
}

/**
 * Best-effort global options for reporting errors that happen before a command's arguments are
 * parsed (an unknown command, a usage error): they must still honour --json and --no-color.
 */
function lenientGlobals(argv: readonly string[]): GlobalOptions {
  const has = (...flags: string[]) => argv.some((a) => flags.includes(a));
  return {
    json: has("--json"),
    quiet: has("--quiet", "-q"),
    verbose: has("--verbose", "-v"),
    threads: GLOBAL_OPTIONS.threads.default,
    color: !has("--no-color"),
  };
}

async function renderOverview(registry: CommandRegistry, width: number, out: Output): Promise<string> {
  const style = out.style;
  const rows: string[][] = [];
  for (const name of await registry.names()) {
    try {
      const command = await registry.load(name);
      if (command) rows.push([style.bold(name), command.spec.summary]);
    } catch (err) {
      // One broken command file must not take `lethe --help` down with it.
      rows.push([style.bold(name), style.red(`(cannot load: ${err instanceof Error ? err.message : String(err)})`)]);
    }
  }
  const { version } = readPackageJson();
  const column = Math.max(0, ...rows.map((r) => stripAnsi(r[0]).length)) + 2;
  const list = rows.map(([name, summary]) => {
    const padding = " ".repeat(column - stripAnsi(name).length);
    return `  ${name}${padding}${wrap(summary, Math.max(width - 2 - column, 30), 2 + column)}`;
  });
  return [
    `${style.bold("lethe")} ${version}: make a local LLM forget a body of text, and measure how well it forgot`,
    "",
    style.bold("Usage:"),
    "  lethe <command> [options]",
    "",
    style.bold("Commands:"),
    ...list,
    "",
    "Run `lethe <command> --help` for a command's options.",
    "Every command accepts --json, --quiet, --verbose, --threads N and --no-color.",
    "",
  ].join("\n");
}

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo, registry: CommandRegistry = defaultRegistry()): Promise<number> {
  let out = new Output({ ...io, globals: lenientGlobals(argv) });
  const width = Math.min(io.stdout.columns ?? 80, 100);
  try {
    const { command: name, rest, leadingHelp, version } = splitCommand(argv);
    if (name === undefined && version) return runCli(["version", ...rest], io, registry);
    if (name === undefined) {
      out.print(await renderOverview(registry, width, out));
      return ExitCode.ok;
    }
    const command = await registry.load(name);
    if (command === undefined) {
      const near = suggest(name, await registry.names());
      throw new UsageError(
        `unknown command "${name}"${near ? `; did you mean ${near}?` : ""}`,
        near ? `run \`lethe ${near}\`, or \`lethe --help\` to list the commands` : "run `lethe --help` to list the commands",
      );
    }
    if (leadingHelp || wantsHelp(rest)) {
      out.print(renderHelp(command.spec, { width, style: out.style }));
      return ExitCode.ok;
    }
    const { args, globals } = parseArgs(command.spec, rest);
    out = new Output({ ...io, globals });
    const signal = io.signal ?? new AbortController().signal;
    const result = await command.run(args, { globals, out, signal, cwd: io.cwd, env: io.env });
    out.finishProgress();
    out.result(result, command.render?.bind(command));
    return ExitCode.ok;
  } catch (err) {
    out.finishProgress();
    out.error(err);
    return exitCodeFor(err);
  }
}

/**
 * The process entry point (`bin/lethe.js` calls it): wires stdio, environment and signals to
 * {@link runCli} and sets the exit code. The first Ctrl-C (or SIGTERM) asks the command to stop
 * at its next safe point; a second Ctrl-C quits at once.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\ninterrupted: stopping at the next safe point (press Ctrl-C again to quit now)\n");
    controller.abort(new CancelledError(`lethe ${argv[0] ?? ""}`.trim()));
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  try {
    process.exitCode = await runCli(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      cwd: process.cwd(),
      signal: controller.signal,
    });
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
