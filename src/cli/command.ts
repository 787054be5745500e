/**
 * The contract between the CLI framework and a command. Each command lives in
 * `src/cli/commands/<name>.ts` and exports:
 *
 * - `spec`: its {@link CommandSpec}, made with `defineCommand` so the parsed arguments are typed;
 * - `run(args, ctx)`: does the work by calling lethe's API and returns a JSON-serialisable result
 *   object (the framework prints it: as one JSON line under `--json`, else via `render`);
 * - optionally `render(result, out)`: the human rendering of the result.
 *
 * `run` reports failures by throwing LetheErrors, logs through `ctx.out`, shows long work with
 * `ctx.out.progress(...)`, and stops when `ctx.signal` aborts (Ctrl-C). Heavy modules (the engine)
 * should be imported inside `run`, so `lethe --help`, which loads every command, stays fast.
 */
import type { CommandSpec, GlobalOptions, ParsedArgs } from "./args.js";
import type { Output } from "./output.js";

/** What the framework hands to a command's `run`. */
export interface CommandContext {
  /** The global options (`--json`, `--quiet`, `--verbose`, `--threads`, `--no-color`). */
  globals: GlobalOptions;
  out: Output;
  /** Aborted on the first Ctrl-C or SIGTERM; long work should stop at the next safe point. */
  signal: AbortSignal;
  /** The directory relative paths in arguments are resolved against. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** A command module's exports. */
export interface Command<S extends CommandSpec = CommandSpec, R = unknown> {
  spec: S;
  run(args: ParsedArgs<S>, ctx: CommandContext): Promise<R> | R;
  render?(result: R, out: Output): void;
}
