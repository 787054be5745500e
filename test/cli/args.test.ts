import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import {
  UsageError,
  defineCommand,
  editDistance,
  flagName,
  parseArgs,
  renderHelp,
  suggest,
  usageLine,
  wantsHelp,
  wrap,
  type ParsedArgs,
} from "../../src/cli/args.js";
import { InputError } from "../../src/errors.js";

const spec = defineCommand({
  name: "unlearn",
  summary: "make a model forget a corpus",
  description: "Runs the four stages of Who's Harry Potter unlearning.",
  options: {
    model: { type: "string", alias: "m", required: true, placeholder: "PATH", description: "the GGUF model" },
    learningRate: { type: "number", default: 1e-5, min: 0, description: "fine-tuning learning rate" },
    steps: { type: "number", integer: true, min: 1, max: 1000, description: "fine-tuning steps" },
    mode: { type: "string", choices: ["fast", "thorough"], default: "fast", description: "how hard to try" },
    datasets: { type: "string[]", choices: ["arc", "boolq", "copa"], description: "benchmarks" },
    dryRun: { type: "boolean", alias: "n", description: "print the plan only" },
    cache: { type: "boolean", default: true, description: "reuse cached teacher logits" },
  },
  positionals: [
    { name: "corpus", description: "what to forget", required: true },
    { name: "extra", description: "more files", variadic: true },
  ],
  examples: [{ command: "unlearn -m m.gguf oz.jsonl", description: "forget Oz" }],
});

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a UsageError");
}

test("parses options, defaults and positionals into a typed object", () => {
  const { args, globals } = parseArgs(spec, ["--model", "m.gguf", "oz.jsonl", "--steps=20", "a", "b"]);
  assert.deepEqual(args, {
    model: "m.gguf",
    learningRate: 1e-5,
    steps: 20,
    mode: "fast",
    datasets: [],
    dryRun: false,
    cache: true,
    corpus: "oz.jsonl",
    extra: ["a", "b"],
  });
  assert.deepEqual(globals, { json: false, quiet: false, verbose: false, threads: availableParallelism(), color: true });
  // Compile-time checks of the inferred types.
  const typed: ParsedArgs<typeof spec> = args;
  const mode: "fast" | "thorough" = typed.mode;
  const steps: number | undefined = typed.steps;
  const model: string = typed.model;
  assert.equal(`${mode} ${steps} ${model}`, "fast 20 m.gguf");
});

test("short aliases, bundles, negation, lists and -- work", () => {
  const { args, globals } = parseArgs(spec, [
    "-m=x.gguf",
    "-nq",
    "--no-cache",
    "--datasets",
    "arc,boolq",
    "--datasets=copa",
    "--",
    "--not-an-option",
  ]);
  assert.equal(args.model, "x.gguf");
  assert.equal(args.dryRun, true);
  assert.equal(globals.quiet, true);
  assert.equal(args.cache, false);
  assert.deepEqual(args.datasets, ["arc", "boolq", "copa"]);
  assert.equal(args.corpus, "--not-an-option");
});

test("a negative number after an option is its value, not an option", () => {
  const err = usageError(() => parseArgs(spec, ["-m", "a", "c", "--learning-rate", "-0.5"]));
  assert.equal(err.message, "--learning-rate must be at least 0, got -0.5");
  assert.equal(err.fix, "give --learning-rate 0 or more");
});

test("-mVALUE attaches a value to a short option; a later value wins", () => {
  const { args } = parseArgs(spec, ["-mone.gguf", "c", "--model", "two.gguf"]);
  assert.equal(args.model, "two.gguf");
});

test("global options are parsed and removed from the command's args", () => {
  const { args, globals } = parseArgs(spec, ["-m", "a", "c", "--json", "--verbose", "--threads", "1", "--no-color"]);
  assert.deepEqual(globals, { json: true, quiet: false, verbose: true, threads: 1, color: false });
  assert.equal("json" in args, false);
  assert.equal("threads" in args, false);
});

test("unknown option suggests the nearest, by initials, prefix or edit distance", () => {
  const lr = usageError(() => parseArgs(spec, ["--lr", "1"]));
  assert.equal(lr.message, "unknown option --lr; did you mean --learning-rate?");
  assert.equal(lr.fix, "use --learning-rate, or run `lethe unlearn --help` to see its options");
  assert.equal(usageError(() => parseArgs(spec, ["--stpes", "3"])).message, "unknown option --stpes; did you mean --steps?");
  assert.equal(usageError(() => parseArgs(spec, ["--zzzzzz"])).message, "unknown option --zzzzzz");
  assert.equal(usageError(() => parseArgs(spec, ["-x"])).message, "unknown option -x");
});

test("missing value, bad number, range, integer and choice errors", () => {
  const missing = usageError(() => parseArgs(spec, ["c", "--model"]));
  assert.equal(missing.message, "option --model needs a value");
  assert.equal(missing.fix, "give it as --model PATH");
  const dashed = usageError(() => parseArgs(spec, ["--model", "--steps", "3"]));
  assert.equal(dashed.message, "option --model needs a value");
  assert.equal(dashed.fix, "give it as --model PATH, or --model=PATH for a value starting with -");
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--steps", "abc"])).message, '--steps expects a number, got "abc"');
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--steps", ""])).message, '--steps expects a number, got ""');
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--steps", "0"])).message, "--steps must be at least 1, got 0");
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--steps", "1001"])).message, "--steps must be at most 1000, got 1001");
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--steps", "2.5"])).message, "--steps must be a whole number, got 2.5");
  const choice = usageError(() => parseArgs(spec, ["-m", "a", "c", "--mode", "thorogh"]));
  assert.equal(choice.message, '--mode must be one of fast, thorough; got "thorogh"; did you mean thorough?');
  assert.equal(choice.fix, "use --mode thorough");
  assert.equal(
    usageError(() => parseArgs(spec, ["-m", "a", "c", "--datasets", "arc,hellaswag"])).message,
    '--datasets must be one of arc, boolq, copa; got "hellaswag"',
  );
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--json=maybe"])).message, '--json is a switch and takes no value, got "maybe"');
  assert.equal(usageError(() => parseArgs(spec, ["-m", "a", "c", "--threads", String(availableParallelism() + 1)])).message,
    `--threads must be at most ${availableParallelism()}, got ${availableParallelism() + 1}`);
});

test("missing required option or argument, and surplus arguments", () => {
  const option = usageError(() => parseArgs(spec, ["c"]));
  assert.equal(option.message, "missing required option --model");
  const positional = usageError(() => parseArgs(spec, ["-m", "a"]));
  assert.equal(positional.message, "missing argument <corpus>");
  assert.equal(positional.fix, "give it as lethe unlearn --model PATH [options] <corpus> [extra...]");
  const none = defineCommand({ name: "info", summary: "s" });
  const surplus = usageError(() => parseArgs(none, ["what"]));
  assert.equal(surplus.message, 'unexpected argument "what": `lethe info` takes no arguments');
});

test("UsageError is an InputError, so API callers can catch it by kind", () => {
  assert.ok(new UsageError("m", "f") instanceof InputError);
});

test("clashing option names are reported as a spec bug", () => {
  const clash = defineCommand({ name: "bad", summary: "s", options: { json: { type: "string", description: "d" } } });
  assert.throws(() => parseArgs(clash, []), /options json and json both use --json/);
  const alias = defineCommand({ name: "bad", summary: "s", options: { hide: { type: "boolean", alias: "h", description: "d" } } });
  assert.throws(() => parseArgs(alias, []), /options help and hide both use -h/);
});

test("wantsHelp looks for --help/-h before --", () => {
  assert.equal(wantsHelp(["a", "--help"]), true);
  assert.equal(wantsHelp(["-h"]), true);
  assert.equal(wantsHelp(["--", "--help"]), false);
  assert.equal(wantsHelp(["--helpful"]), false);
});

test("editDistance counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("steps", "stpes"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
});

test("suggest prefers initials and unique prefixes, then close spellings", () => {
  const options = ["learning-rate", "steps", "model", "mode"];
  assert.equal(suggest("lr", options), "learning-rate");
  assert.equal(suggest("learn", options), "learning-rate");
  assert.equal(suggest("mod", options), "mode"); // "mod" prefixes both; distance picks mode
  assert.equal(suggest("modle", options), "model");
  assert.equal(suggest("xyz", options), undefined);
});

test("flagName turns camelCase keys into kebab-case flags", () => {
  assert.equal(flagName("learningRate"), "learning-rate");
  assert.equal(flagName("runDir"), "run-dir");
  assert.equal(flagName("steps"), "steps");
});

test("wrap breaks at word boundaries with a hanging indent", () => {
  assert.equal(wrap("one two three four", 9, 2), "one two\n  three\n  four");
});

test("usage line lists required options and positionals", () => {
  assert.equal(usageLine(spec), "lethe unlearn --model PATH [options] <corpus> [extra...]");
  const testbed = defineCommand({ name: "testbed", summary: "s", positionals: [{ name: "which", description: "d", required: true, choices: ["synthetic", "oz"] }] });
  assert.equal(usageLine(testbed), "lethe testbed [options] <synthetic|oz>");
});

test("help shows usage, description, arguments, options with defaults, and examples", () => {
  const help = renderHelp(spec, { width: 100 });
  const lines = help.split("\n");
  assert.equal(lines[0], "lethe unlearn: make a model forget a corpus");
  assert.ok(lines.includes("  lethe unlearn --model PATH [options] <corpus> [extra...]"));
  assert.ok(lines.includes("Runs the four stages of Who's Harry Potter unlearning."));
  assert.ok(lines.some((l) => /^  <corpus> +what to forget$/.test(l)), help);
  assert.ok(lines.some((l) => /^  -m, --model PATH +the GGUF model \(required\)$/.test(l)), help);
  assert.ok(lines.some((l) => /^      --learning-rate N +fine-tuning learning rate \(>= 0; default: 0.00001\)$/.test(l)), help);
  assert.ok(lines.some((l) => /^      --mode VALUE +how hard to try \(one of: fast, thorough; default: fast\)$/.test(l)), help);
  assert.ok(lines.some((l) => /^      --no-cache +reuse cached teacher logits$/.test(l)), help);
  assert.ok(lines.some((l) => /^      --datasets LIST +benchmarks \(one of: arc, boolq, copa; repeatable or comma-separated\)$/.test(l)), help);
  assert.ok(lines.some((l) => /^      --threads N +CPU threads to use \(1\.\.\d+; default: all \d+ cores\)$/.test(l)), help);
  assert.ok(lines.includes("  $ lethe unlearn -m m.gguf oz.jsonl"));
  assert.ok(lines.includes("    forget Oz"));
  assert.ok(lines.every((l) => l.length <= 100), "no line is wider than the width");
});
