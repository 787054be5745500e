/**
 * Declarative command-line specs and a typed parser for them.
 *
 * A command declares its options as an object whose keys are camelCase identifiers; on the command
 * line each key appears in kebab-case (`learningRate` is `--learning-rate`). Parsing returns an
 * object with the same keys, typed from the spec, so a command never handles raw strings.
 *
 * Accepted syntax: `--name value`, `--name=value`, `-a value`, `-a=value`, `-avalue` (value options),
 * `-abc` (a bundle of boolean aliases), `--flag` / `--no-flag` / `--flag=false` for booleans, and
 * `--` to end option parsing. A `string[]` option may be repeated and each value may hold a
 * comma-separated list. A non-repeatable option given twice keeps its last value, so a shell alias
 * can be overridden on the command line.
 */
import { availableParallelism } from "node:os";
import { LetheError, InputError } from "../errors.js";

/** Bad command-line usage; the CLI exits with code 2 for it. */
export class UsageError extends InputError {}

/** The value kinds an option can take. */
export type OptionType = "string" | "number" | "boolean" | "string[]";

/** One `--option` of a command. */
export interface OptionSpec {
  readonly type: OptionType;
  /** One line for the help table. */
  readonly description: string;
  /** A single-letter short form, used as `-x`. */
  readonly alias?: string;
  readonly default?: string | number | boolean | readonly string[];
  /** Shown in help instead of the default value, when the value is computed (e.g. "all cores"). */
  readonly defaultLabel?: string;
  readonly required?: boolean;
  /** Allowed values of a string (or each item of a string[]) option. */
  readonly choices?: readonly string[];
  /** Inclusive bounds of a number option. */
  readonly min?: number;
  readonly max?: number;
  /** Whether a number option must be a whole number. */
  readonly integer?: boolean;
  /** The value's name in help, e.g. `PATH` in `--model PATH`; defaults to the type's name. */
  readonly placeholder?: string;
}

/** One positional argument of a command, in order. */
export interface PositionalSpec {
  /** A camelCase identifier; it is the key in the parsed object and shows as `<name>` in help. */
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Takes all remaining arguments; only the last positional may be variadic. */
  readonly variadic?: boolean;
  readonly choices?: readonly string[];
}

/** One example invocation for `--help`. */
export interface ExampleSpec {
  /** The arguments after the program name, e.g. `unlearn --model m.gguf`. */
  readonly command: string;
  readonly description?: string;
}

/** Everything the parser and the help renderer need to know about a command. */
export interface CommandSpec {
  readonly name: string;
  /** One line, shown in the command list of `lethe --help`. */
  readonly summary: string;
  /** A paragraph for `lethe <name> --help`. */
  readonly description?: string;
  /** Replaces the generated usage line (without the program name). */
  readonly usage?: string;
  readonly examples?: readonly ExampleSpec[];
  readonly options?: { readonly [key: string]: OptionSpec };
  readonly positionals?: readonly PositionalSpec[];
}

type ChoiceOf<S> = S extends { readonly choices: readonly (infer C extends string)[] } ? C : string;

/** The parsed value type of one option spec. */
export type OptionValueOf<O extends OptionSpec> = O["type"] extends "number"
  ? number
  : O["type"] extends "boolean"
    ? boolean
    : O["type"] extends "string[]"
      ? ChoiceOf<O>[]
      : ChoiceOf<O>;

type Present<O extends OptionSpec> = O extends { readonly required: true }
  ? true
  : O extends { readonly default: unknown }
    ? true
    : O["type"] extends "boolean" | "string[]"
      ? true
      : false;

type OptionValues<Os> = Os extends { readonly [key: string]: OptionSpec }
  ? { -readonly [K in keyof Os]: Present<Os[K]> extends true ? OptionValueOf<Os[K]> : OptionValueOf<Os[K]> | undefined }
  : {};

type PositionalValue<P extends PositionalSpec> = P extends { readonly variadic: true }
  ? ChoiceOf<P>[]
  : P extends { readonly required: true }
    ? ChoiceOf<P>
    : ChoiceOf<P> | undefined;

type PositionalValues<Ps> = Ps extends readonly PositionalSpec[]
  ? { -readonly [P in Ps[number] as P["name"]]: PositionalValue<P> }
  : {};

/** The typed object `parseArgs` returns for a command spec. */
export type ParsedArgs<S extends CommandSpec> = OptionValues<S["options"]> & PositionalValues<S["positionals"]>;

/**
 * Declares a command spec, keeping its literal types so `ParsedArgs<typeof spec>` knows each
 * option's type, whether it can be undefined, and the union of its choices.
 */
export function defineCommand<const S extends CommandSpec>(spec: S): S {
  return spec;
}

/** Options every command accepts, handled by the framework. */
export interface GlobalOptions {
  /** Print the result as one JSON line, the last line of stdout; human logs go to stderr. */
  json: boolean;
  /** Silence progress and informational messages. */
  quiet: boolean;
  /** Show debug messages and stack traces. */
  verbose: boolean;
  /** CPU threads for compute; never more than the machine's cores. */
  threads: number;
  /** False under `--no-color`. */
  color: boolean;
}

const cores = availableParallelism();

/** Specs of the global options, shared by every command's parser and help. */
export const GLOBAL_OPTIONS = {
  json: { type: "boolean", description: "print the result as one JSON line (last line of stdout); logs go to stderr" },
  quiet: { type: "boolean", alias: "q", description: "no progress bars or informational messages" },
  verbose: { type: "boolean", alias: "v", description: "debug messages and stack traces" },
  threads: {
    type: "number",
    integer: true,
    min: 1,
    max: cores,
    default: cores,
    defaultLabel: `all ${cores} cores`,
    placeholder: "N",
    description: "CPU threads to use",
  },
  color: { type: "boolean", default: true, description: "no colours in the output" },
} as const satisfies Record<keyof GlobalOptions, OptionSpec>;

/** Every command accepts these; the framework answers them before parsing. */
const HELP_FLAGS = new Set(["--help", "-h"]);

/** Converts a camelCase key to its kebab-case flag name: `learningRate` -> `learning-rate`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbouring characters each cost 1, so the common typo "stpes" is one edit from "steps".
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate the user most likely meant, or undefined when none is close. Abbreviations are
 * tried first because people type them on purpose: `lr` matches the initials of `learning-rate`,
 * `learn` is a prefix of it. Otherwise the nearest candidate within a third of its length in edits.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const typed = input.toLowerCase();
  if (typed.length >= 2) {
    const byInitials = candidates.find((c) => c.includes("-") && c.split("-").map((w) => w[0]).join("") === typed);
    if (byInitials !== undefined) return byInitials;
    const byPrefix = candidates.filter((c) => c.startsWith(typed));
    if (byPrefix.length === 1) return byPrefix[0];
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(typed, c);
    const allowed = Math.max(1, Math.floor(Math.max(typed.length, c.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

/** The result of parsing one command line. */
export interface ParseResult<S extends CommandSpec> {
  args: ParsedArgs<S>;
  globals: GlobalOptions;
}

interface Resolved {
  key: string;
  spec: OptionSpec;
  flag: string;
}

function optionTable(spec: CommandSpec): Resolved[] {
  const all: Resolved[] = [];
  const seen = new Map<string, string>();
  const claim = (name: string, key: string) => {
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw new LetheError(
        `command ${spec.name}: options ${previous} and ${key} both use ${name.length === 1 ? "-" : "--"}${name}`,
        `rename one of them in the spec of \`${spec.name}\``,
      );
    }
    seen.set(name, key);
  };
  claim("help", "help");
  claim("h", "help");
  const entries: [string, OptionSpec][] = [...Object.entries(GLOBAL_OPTIONS), ...Object.entries(spec.options ?? {})];
  for (const [key, option] of entries) {
    const flag = flagName(key);
    claim(flag, key);
    if (option.alias !== undefined) claim(option.alias, key);
    all.push({ key, spec: option, flag });
  }
  return all;
}

function helpHint(spec: CommandSpec): string {
  return `run \`lethe ${spec.name} --help\` to see its options`;
}

function parseBoolean(text: string, shown: string): boolean {
  const lower = text.toLowerCase();
  if (["true", "yes", "1"].includes(lower)) return true;
  if (["false", "no", "0"].includes(lower)) return false;
  throw new UsageError(`${shown} is a switch and takes no value, got "${text}"`, `write ${shown} alone, or leave it out`);
}

function checkChoice(value: string, choices: readonly string[] | undefined, shown: string): void {
  if (choices === undefined || choices.includes(value)) return;
  const near = suggest(value, choices);
  throw new UsageError(
    `${shown} must be one of ${choices.join(", ")}; got "${value}"${near ? `; did you mean ${near}?` : ""}`,
    near ? `use ${shown.startsWith("-") ? `${shown} ${near}` : near}` : `pick one of ${choices.join(", ")}`,
  );
}

function parseNumber(text: string, option: OptionSpec, shown: string): number {
  const value = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw new UsageError(`${shown} expects a number, got "${text}"`, `give a number, e.g. ${shown} ${option.min ?? 1}`);
  }
  if (option.integer && !Number.isInteger(value)) {
    throw new UsageError(`${shown} must be a whole number, got ${text}`, `give a whole number, e.g. ${shown} ${Math.round(value)}`);
  }
  if (option.min !== undefined && value < option.min) {
    throw new UsageError(`${shown} must be at least ${option.min}, got ${text}`, `give ${shown} ${option.min} or more`);
  }
  if (option.max !== undefined && value > option.max) {
    throw new UsageError(`${shown} must be at most ${option.max}, got ${text}`, `give ${shown} ${option.max} or less`);
  }
  return value;
}

function isNegativeNumber(token: string): boolean {
  return /^-\d/.test(token) || /^-\.\d/.test(token);
}

/** Whether `argv` asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const token of argv) {
    if (token === "--") return false;
    if (HELP_FLAGS.has(token)) return true;
  }
  return false;
}

/**
 * Parses the arguments after the command name. Throws UsageError for an unknown option (with a
 * suggestion), a missing or malformed value, a value out of range or not among the choices, a
 * missing required option or argument, and surplus arguments. Check `wantsHelp` first: help is
 * not an error and needs no valid arguments.
 */
export function parseArgs<const S extends CommandSpec>(spec: S, argv: readonly string[]): ParseResult<S> {
  const table = optionTable(spec);
  const { values, positionals } = scanArgv(spec, table, argv);
  const result = optionValues(table, values);
  assignPositionals(spec, positionals, result);
  return splitGlobals<S>(result);
}

/** A command line being read left to right: the options given so far and the positional arguments. */
interface Scan {
  readonly spec: CommandSpec;
  readonly argv: readonly string[];
  readonly byFlag: Map<string, Resolved>;
  readonly byAlias: Map<string, Resolved>;
  readonly values: Map<string, unknown>;
  readonly positionals: string[];
  /** The token being read; an option that takes the next token as its value moves it on. */
  i: number;
}

function scanArgv(spec: CommandSpec, table: readonly Resolved[], argv: readonly string[]): Scan {
  const scan: Scan = {
    spec,
    argv,
    byFlag: new Map(table.map((r) => [r.flag, r])),
    byAlias: new Map(table.filter((r) => r.spec.alias !== undefined).map((r) => [r.spec.alias as string, r])),
    values: new Map(),
    positionals: [],
    i: 0,
  };
  for (; scan.i < argv.length; scan.i++) {
    const token = argv[scan.i];
    if (token === "--") {
      scan.positionals.push(...argv.slice(scan.i + 1));
      break;
    }
    if (token.startsWith("--")) readLongOption(scan, token.slice(2));
    else if (token.startsWith("-") && token !== "-" && !isNegativeNumber(token)) readShortOptions(scan, token);
    else scan.positionals.push(token);
  }
  return scan;
}

/** `--name`, `--name=value` or `--no-name`; `body` is the token without its dashes. */
function readLongOption(scan: Scan, body: string): void {
  const eq = body.indexOf("=");
  const name = eq >= 0 ? body.slice(0, eq) : body;
  const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
  const r = scan.byFlag.get(name);
  if (r !== undefined) {
    consume(scan, r, inline, `--${name}`);
    return;
  }
  const negated = name.startsWith("no-") ? scan.byFlag.get(name.slice(3)) : undefined;
  if (negated !== undefined && negated.spec.type === "boolean") {
    if (inline !== undefined) {
      throw new UsageError(`--${name} takes no value, got "${inline}"`, `write --${name} alone`);
    }
    scan.values.set(negated.key, false);
    return;
  }
  const near = suggest(name, [...scan.byFlag.keys()]);
  throw new UsageError(
    `unknown option --${name}${near ? `; did you mean --${near}?` : ""}`,
    near ? `use --${near}, or ${helpHint(scan.spec)}` : helpHint(scan.spec),
  );
}

/** `-a`, `-a value`, `-a=value`, `-avalue`, or a bundle of switches `-abc`. */
function readShortOptions(scan: Scan, token: string): void {
  const body = token.slice(1);
  const first = scan.byAlias.get(body[0]);
  if (first === undefined) {
    throw new UsageError(`unknown option -${body[0]}`, helpHint(scan.spec));
  }
  if (body.length === 1) {
    consume(scan, first, undefined, `-${body}`);
  } else if (body[1] === "=") {
    consume(scan, first, body.slice(2), `-${body[0]}`);
  } else if (first.spec.type !== "boolean") {
    assign(scan.values, first, body.slice(1), `-${body[0]}`);
  } else {
    for (const letter of body) {
      const r = scan.byAlias.get(letter);
      if (r === undefined || r.spec.type !== "boolean") {
        throw new UsageError(`-${letter} in ${token} is not a switch`, `give -${letter} separately, or ${helpHint(scan.spec)}`);
      }
      scan.values.set(r.key, true);
    }
  }
}

/** Takes the option's value from `inline` or, for non-booleans, from the next token. */
function consume(scan: Scan, r: Resolved, inline: string | undefined, shown: string): void {
  if (r.spec.type === "boolean") {
    scan.values.set(r.key, inline === undefined ? true : parseBoolean(inline, shown));
    return;
  }
  if (inline !== undefined) {
    assign(scan.values, r, inline, shown);
    return;
  }
  const next = scan.argv[scan.i + 1];
  if (next === undefined || (next.startsWith("-") && next !== "-" && !isNegativeNumber(next))) {
    const placeholder = r.spec.placeholder ?? (r.spec.type === "number" ? "N" : "VALUE");
    const dash = next !== undefined && shown.startsWith("--") ? `, or ${shown}=${placeholder} for a value starting with -` : "";
    throw new UsageError(`option ${shown} needs a value`, `give it as ${shown} ${placeholder}${dash}`);
  }
  scan.i++;
  assign(scan.values, r, next, shown);
}

/** Stores the value of a non-boolean option (switches are handled by `consume`). */
function assign(values: Map<string, unknown>, r: Resolved, text: string, shown: string): void {
  switch (r.spec.type) {
    case "number":
      values.set(r.key, parseNumber(text, r.spec, shown));
      return;
    case "string":
      checkChoice(text, r.spec.choices, shown);
      values.set(r.key, text);
      return;
    case "string[]": {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const item of items) checkChoice(item, r.spec.choices, shown);
      values.set(r.key, [...((values.get(r.key) as string[] | undefined) ?? []), ...items]);
      return;
    }
  }
}

/** Every option's value: the one given, else its default; a required option must have been given. */
function optionValues(table: readonly Resolved[], values: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const r of table) {
    if (values.has(r.key)) {
      result[r.key] = values.get(r.key);
    } else if (r.spec.required) {
      const placeholder = r.spec.placeholder ?? (r.spec.type === "number" ? "N" : "VALUE");
      throw new UsageError(`missing required option --${r.flag}`, `give it as --${r.flag} ${placeholder}`);
    } else if (r.spec.default !== undefined) {
      result[r.key] = Array.isArray(r.spec.default) ? [...r.spec.default] : r.spec.default;
    } else if (r.spec.type === "boolean") {
      result[r.key] = false;
    } else if (r.spec.type === "string[]") {
      result[r.key] = [];
    } else {
      result[r.key] = undefined;
    }
  }
  return result;
}

/** Matches the positional arguments to the spec's, in order, into `result`; none may be left over. */
function assignPositionals(spec: CommandSpec, positionals: readonly string[], result: Record<string, unknown>): void {
  const specs = spec.positionals ?? [];
  let next = 0;
  for (const p of specs) {
    if (p.variadic) {
      const rest = positionals.slice(next);
      if (p.required && rest.length === 0) {
        throw new UsageError(`missing argument <${p.name}>`, `give at least one <${p.name}>, e.g. ${usageLine(spec)}`);
      }
      for (const item of rest) checkChoice(item, p.choices, `<${p.name}>`);
      result[p.name] = rest;
      next = positionals.length;
      continue;
    }
    const value = positionals[next];
    if (value === undefined) {
      if (p.required) {
        throw new UsageError(`missing argument <${p.name}>`, `give it as ${usageLine(spec)}`);
      }
      result[p.name] = undefined;
      continue;
    }
    checkChoice(value, p.choices, `<${p.name}>`);
    result[p.name] = value;
    next++;
  }
  if (next < positionals.length) {
    const surplus = positionals[next];
    const expected = specs.length === 0 ? "takes no arguments" : `takes ${specs.map((p) => `<${p.name}>`).join(" ")}`;
    throw new UsageError(
      `unexpected argument "${surplus}": \`lethe ${spec.name}\` ${expected}`,
      `remove it, or quote an option value that contains spaces`,
    );
  }
}

/** Moves the global options out of `result`, which leaves the command's own arguments. */
function splitGlobals<S extends CommandSpec>(result: Record<string, unknown>): ParseResult<S> {
  const globals: GlobalOptions = {
    json: result.json as boolean,
    quiet: result.quiet as boolean,
    verbose: result.verbose as boolean,
    threads: result.threads as number,
    color: result.color as boolean,
  };
  for (const key of Object.keys(GLOBAL_OPTIONS)) delete result[key];
  return { args: result as ParsedArgs<S>, globals };
}

/** The generated usage line, e.g. `lethe unlearn [options] <model> [files...]`. */
export function usageLine(spec: CommandSpec): string {
  if (spec.usage !== undefined) return `lethe ${spec.usage}`;
  const parts = [`lethe ${spec.name}`];
  const required = Object.entries(spec.options ?? {}).filter(([, o]) => o.required);
  for (const [key, o] of required) parts.push(`--${flagName(key)} ${o.placeholder ?? (o.type === "number" ? "N" : "VALUE")}`);
  parts.push("[options]");
  for (const p of spec.positionals ?? []) {
    const name = p.choices ? p.choices.join("|") : p.name;
    const shown = p.variadic ? `${name}...` : name;
    parts.push(p.required ? `<${shown}>` : `[${shown}]`);
  }
  return parts.join(" ");
}

/** Minimal styling hooks so help can be bold on a terminal and plain elsewhere. */
export interface HelpStyle {
  bold(text: string): string;
  dim(text: string): string;
}

const plainStyle: HelpStyle = { bold: (s) => s, dim: (s) => s };

/**
 * Wraps `text` into lines of at most `width` characters (a longer word gets a line of its own);
 * continuation lines are prefixed with `indent` spaces, to sit in a table column.
 */
export function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function optionLeft(key: string, o: OptionSpec): string {
  const negated = o.type === "boolean" && o.default === true;
  const long = `--${negated ? "no-" : ""}${flagName(key)}`;
  const value = o.type === "boolean" ? "" : ` ${o.placeholder ?? (o.type === "number" ? "N" : o.type === "string[]" ? "LIST" : "VALUE")}`;
  return `${o.alias && !negated ? `-${o.alias}, ` : "    "}${long}${value}`;
}

function optionRight(o: OptionSpec): string {
  const notes: string[] = [];
  if (o.choices) notes.push(`one of: ${o.choices.join(", ")}`);
  if (o.min !== undefined && o.max !== undefined) notes.push(`${o.min}..${o.max}`);
  else if (o.min !== undefined) notes.push(`>= ${o.min}`);
  else if (o.max !== undefined) notes.push(`<= ${o.max}`);
  if (o.type === "string[]") notes.push("repeatable or comma-separated");
  if (o.required) notes.push("required");
  else if (o.defaultLabel !== undefined) notes.push(`default: ${o.defaultLabel}`);
  else if (o.default !== undefined && o.type !== "boolean") {
    notes.push(`default: ${Array.isArray(o.default) ? o.default.join(",") : String(o.default)}`);
  }
  return notes.length === 0 ? o.description : `${o.description} (${notes.join("; ")})`;
}

function optionRows(options: { readonly [key: string]: OptionSpec }, column: number, width: number, style: HelpStyle): string[] {
  return Object.entries(options).map(([key, o]) => {
    const left = optionLeft(key, o);
    const right = wrap(optionRight(o), Math.max(width - 2 - column, 30), 2 + column);
    return left.length + 2 > column ? `  ${style.bold(left)}\n${" ".repeat(2 + column)}${right}` : `  ${style.bold(left.padEnd(column))}${right}`;
  });
}

/** Renders `lethe <command> --help`: usage, description, arguments, options with defaults, examples. */
export function renderHelp(spec: CommandSpec, opts: { width?: number; style?: HelpStyle } = {}): string {
  const width = Math.max(opts.width ?? 80, 60);
  const style = opts.style ?? plainStyle;
  const out: string[] = [`${style.bold(`lethe ${spec.name}`)}: ${spec.summary}`, "", style.bold("Usage:"), `  ${usageLine(spec)}`];
  if (spec.description) out.push("", wrap(spec.description, width, 0));
  const positionals = spec.positionals ?? [];
  if (positionals.length > 0) {
    out.push("", style.bold("Arguments:"));
    const column = Math.max(...positionals.map((p) => p.name.length + 2)) + 2;
    for (const p of positionals) {
      const notes = [p.choices ? `one of: ${p.choices.join(", ")}` : "", p.required ? "" : "optional"].filter((s) => s !== "");
      const text = notes.length > 0 ? `${p.description} (${notes.join("; ")})` : p.description;
      out.push(`  ${style.bold(`<${p.name}>`.padEnd(column))}${wrap(text, width - 2 - column, 2 + column)}`);
    }
  }
  const own = spec.options ?? {};
  const globals = { ...GLOBAL_OPTIONS, help: { type: "boolean", alias: "h", description: "show this help" } } as const;
  // One column for both tables so they line up; an overlong flag moves its text to the next line.
  const lefts = Object.entries({ ...own, ...globals }).map(([key, o]) => optionLeft(key, o).length);
  const column = Math.min(Math.max(...lefts) + 2, 34);
  if (Object.keys(own).length > 0) out.push("", style.bold("Options:"), ...optionRows(own, column, width, style));
  out.push("", style.bold("Global options:"), ...optionRows(globals, column, width, style));
  if (spec.examples && spec.examples.length > 0) {
    out.push("", style.bold("Examples:"));
    for (const e of spec.examples) {
      out.push(`  $ lethe ${e.command}`);
      if (e.description) out.push(`    ${style.dim(wrap(e.description, width - 4, 4))}`);
    }
  }
  return out.join("\n") + "\n";
}
