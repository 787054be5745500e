/**
 * `lethe eval`: measure how well a model forgot, next to the models it is compared with and the
 * gold model, and write the results as JSON plus a Markdown summary.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

import { EngineError, ServiceError } from "../../errors.js";
import { checkOutputFile, refuseOverwritingInputs, type NamedPath } from "../../run/paths.js";

import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";
import type { Progress } from "../progress.js";
import type { EvalEvent } from "../../eval/evaluate.js";
import { SUITES, type SuiteName } from "../../eval/suite-names.js";

const SUITE_CHOICES = [...SUITES, "all"] as const;

export const spec = defineCommand({
  name: "eval",
  summary: "measure forgetting (familiarity, MUSE, robustness probes) and utility against a gold model",
  description:
    "Runs the chosen suites on --model, every --compare model and the --gold model, with the same prompts, " +
    "seeds and settings for all, and writes --out (JSON) plus a Markdown summary beside it (.md). " +
    "Data comes from a testbed folder (--testbed, as `lethe testbed` builds it) and/or files: --prompts, --qa, " +
    "--terms, --forget, --holdout, --retain; utility benchmarks from --data (its eval/ folder). A testbed built " +
    "from folders of text gets every prompt, question and judge term nobody wrote by hand generated from its text, " +
    "and the results say which. With --testbed, --gold defaults to the testbed's gold model. Without a gold model, " +
    "PrivLeak and the gold-relative gaps are reported as not available (null), never as 0. Malformed JSONL lines " +
    "are reported with their line numbers and skipped.",
  options: {
    model: { type: "string", alias: "m", required: true, placeholder: "GGUF", description: "the model to evaluate" },
    lora: { type: "string", placeholder: "GGUF", description: "a LoRA adapter applied to --model (what `lethe unlearn --lora` writes)" },
    compare: { type: "string[]", placeholder: "GGUF,...", description: "other models measured the same way (base, other methods)" },
    gold: { type: "string", placeholder: "GGUF", defaultLabel: "the --testbed's gold model", description: "a model never trained on the forget corpus" },
    suite: {
      type: "string[]",
      choices: SUITE_CHOICES,
      placeholder: "LIST",
      defaultLabel: "familiarity-completion,familiarity-probability,muse (those with data)",
      description: "suites and probes to run; all = every one",
    },
    out: { type: "string", alias: "o", required: true, placeholder: "FILE", description: "where to write the JSON results (.md beside it)" },
    testbed: { type: "string", placeholder: "DIR", description: "a testbed folder (lethe testbed synthetic|oz|custom): its prompts, QA, texts and terms" },
    forget: { type: "string[]", placeholder: "PATH", description: "forget-corpus text files or folders" },
    retain: { type: "string[]", placeholder: "PATH", description: "held-out retain text for perplexity" },
    holdout: { type: "string[]", placeholder: "PATH", description: "held-out text of the forget source (PrivLeak non-members)" },
    prompts: { type: "string", placeholder: "FILE", description: "familiarity prompts, JSONL {prompt, references?, targets?}" },
    paraphrases: { type: "string", placeholder: "FILE", description: "reworded prompts for the paraphrase probe (same format)" },
    qa: { type: "string", placeholder: "FILE", description: "QA pairs, JSONL {question, answer, split?: forget|retain}" },
    terms: { type: "string", placeholder: "FILE", description: "judge terms: JSON(L) [{term, tier}], a list of strings, or an anchored-term dictionary" },
    data: { type: "string", placeholder: "DIR", description: "shared data folder; utility benchmarks are read from its eval/ folder" },
    tasks: { type: "string[]", placeholder: "LIST", defaultLabel: "all", description: "utility benchmarks to run" },
    limit: { type: "number", integer: true, min: 1, placeholder: "N", description: "first N items of every prompt set, QA set and benchmark" },
    samples: { type: "number", integer: true, min: 0, max: 100, default: 2, description: "sampled completions per prompt besides the greedy one" },
    temperature: { type: "number", min: 0, max: 5, default: 0.7, description: "temperature of the sampled completions" },
    seed: { type: "number", integer: true, min: 0, max: 2 ** 32 - 1, default: 1, description: "seed of the sampled completions" },
    maxTokens: { type: "number", integer: true, min: 1, default: 48, description: "new tokens per familiarity completion" },
    relearnSteps: { type: "number", integer: true, min: 1, default: 20, description: "relearning probe: fine-tuning steps" },
    relearnLr: { type: "number", min: 0, default: 3e-4, description: "relearning probe: learning rate" },
    judgeUrl: { type: "string", placeholder: "URL", description: "grade completions with an LLM at this OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1)" },
    judgeModel: { type: "string", placeholder: "NAME", description: "the LLM judge's model name" },
    judgeKeyEnv: { type: "string", placeholder: "VAR", description: "environment variable holding the judge's API key" },
    universe: { type: "string", default: "the forgotten books", description: "what was forgotten, in words, for the LLM judge" },
  },
  examples: [
    {
      command: "eval --model unlearned.gguf --compare base.gguf --gold gold.gguf --testbed testbed/ --suite all --out eval.json",
      description: "everything on a testbed",
    },
    {
      command: "eval -m base.gguf --suite utility --data ../shared/data --limit 200 --out utility.json",
      description: "utility benchmarks, 200 documents each",
    },
    {
      command: "eval -m unlearned.gguf --forget ../shared/data/forget/oz --terms oz-terms.json --prompts oz-prompts.jsonl --out oz.json",
      description: "Oz familiarity from your own prompt set",
    },
  ],
});

/** What `lethe eval` returns: where it wrote, and each model's metrics flattened. */
export interface EvalCommandResult {
  out: string;
  markdown: string;
  gold: string | null;
  models: { name: string; role: string; metrics: Record<string, number | null>; vsGold: Record<string, number | null> }[];
  warnings: string[];
}

/** Shows one bar per (model, suite, phase), replacing the previous one. */
function progressReporter(out: Output): { onEvent(e: EvalEvent): void; finish(): void } {
  let bar: Progress | undefined;
  let key = "";
  const finish = () => {
    bar?.finish();
    bar = undefined;
    key = "";
  };
  return {
    finish,
    onEvent(e) {
      if (e.type === "model") {
        finish();
        out.info(`${e.model} (${e.role}): ${e.path}`);
      } else if (e.type === "suite") {
        if (e.status === "done") finish();
      } else {
        const k = `${e.model}/${e.suite}/${e.phase}`;
        if (k !== key) {
          finish();
          bar = out.progress({ label: `${e.suite} ${e.phase}`, total: e.total, unit: e.phase });
          key = k;
        }
        bar!.update(e.done);
      }
    },
  };
}

export async function run(args: ParsedArgs<typeof spec>, ctx: CommandContext): Promise<EvalCommandResult> {
  const { evaluate, flatMetrics } = await import("../../eval/evaluate.js");
  const { assembleEvalData, testbedModels } = await import("../../eval/eval-data.js");
  const { markdownPathFor, writeEvalReport } = await import("../../eval/eval-report.js");
  const { UsageError } = await import("../args.js");
  const at = (p: string) => resolve(ctx.cwd, p);
  const all = (ps: readonly string[]) => ps.map(at);

  if ((args.judgeUrl === undefined) !== (args.judgeModel === undefined)) {
    throw new UsageError("--judge-url and --judge-model go together", "give both to use an LLM judge, or neither for the automatic judge");
  }
  // Fail before hours of measuring, not after.
  const outPath = at(args.out);
  checkOutputFile(outPath, "--out");
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    ctx.out.warn(message);
  };
  let gold = args.gold && at(args.gold);
  if (gold === undefined && args.testbed) {
    const models = testbedModels(at(args.testbed));
    // When the gold model is the one under evaluation, a second run of it as gold adds nothing.
    if (models && existsSync(models.gold) && resolve(models.gold) !== at(args.model)) {
      gold = models.gold;
      ctx.out.info(`gold model: ${gold} (the testbed's)`);
    }
  }
  const one = (flag: string, path: string | undefined): NamedPath[] => (path === undefined ? [] : [{ flag, path: at(path) }]);
  // Corpus folders are read whole: the Markdown summary written into one would join the corpus.
  const corpus = (flag: string, paths: readonly string[]): NamedPath[] => paths.map((path) => ({ flag, path: at(path), readWhole: true }));
  const inputs: NamedPath[] = [
    ...one("--model", args.model),
    ...one("--lora", args.lora),
    ...args.compare.flatMap((path) => one("--compare", path)),
    ...one("--gold", gold),
    ...one("--testbed", args.testbed),
    ...one("--prompts", args.prompts),
    ...one("--paraphrases", args.paraphrases),
    ...one("--qa", args.qa),
    ...one("--terms", args.terms),
    ...one("--data", args.data),
    ...corpus("--forget", args.forget),
    ...corpus("--retain", args.retain),
    ...corpus("--holdout", args.holdout),
  ];
  refuseOverwritingInputs({ flag: "--out", path: outPath }, inputs);
  refuseOverwritingInputs({ flag: "the Markdown summary beside --out", path: markdownPathFor(outPath) }, inputs);
  const data = await assembleEvalData(
    {
      testbed: args.testbed && at(args.testbed),
      forget: all(args.forget),
      retain: all(args.retain),
      holdout: all(args.holdout),
      prompts: args.prompts && at(args.prompts),
      paraphrases: args.paraphrases && at(args.paraphrases),
      qa: args.qa && at(args.qa),
      terms: args.terms && at(args.terms),
    },
    warn,
  );

  let judge;
  if (args.judgeUrl && args.judgeModel) {
    const { ChatClient } = await import("../../llm/chat.js");
    const { LlmJudge } = await import("../../eval/judge/llm-judge.js");
    const client = new ChatClient({ baseUrl: args.judgeUrl, model: args.judgeModel, apiKeyEnv: args.judgeKeyEnv, onRetry: (notice) => ctx.out.warn(notice) });
    // A dead judge is found now, before any model is loaded, not as zero judgements at the end.
    ctx.out.info(`checking that the judge at ${args.judgeUrl} (model ${args.judgeModel}) answers`);
    await client.check({ signal: ctx.signal, onWait: (s) => ctx.out.info(`still waiting for ${args.judgeUrl} to answer (${s} s)`) });
    judge = new LlmJudge(client, { universe: args.universe });
  }

  const suites: SuiteName[] | undefined =
    args.suite.length === 0 ? undefined : args.suite.includes("all") ? [...SUITES] : (args.suite as SuiteName[]);
  const reporter = progressReporter(ctx.out);
  let report;
  try {
    report = await evaluate({
      model: at(args.model),
      ...(args.lora ? { lora: at(args.lora) } : {}),
      compare: all(args.compare),
      gold,
      suites,
      data,
      benchmarkDir: args.data && join(at(args.data), "eval"),
      tasks: args.tasks.length > 0 ? args.tasks : undefined,
      limit: args.limit,
      judge,
      judgeConcurrency: judge ? 4 : 1,
      settings: {
        samples: args.samples,
        temperature: args.temperature,
        seed: args.seed,
        maxTokens: args.maxTokens,
        relearnSteps: args.relearnSteps,
        relearnLr: args.relearnLr,
      },
      threads: ctx.globals.threads,
      signal: ctx.signal,
      onEvent: reporter.onEvent,
    });
  } finally {
    reporter.finish();
  }
  const judged = judge?.tally;
  if (judged && judged.failed > 0) {
    warn(`the LLM judge failed on ${judged.failed} of ${judged.judged + judged.failed} completions, left unscored (last: ${judged.lastFailure})`);
  }
  report.warnings.unshift(...warnings);
  for (const w of report.warnings.slice(warnings.length)) ctx.out.warn(w);
  const written = await writeEvalReport(report, outPath);
  // A model that crashed llama.cpp was left out; the others' results are written, but the command
  // fails so that no script takes the run for a complete one.
  const failed = report.failed ?? [];
  if (failed.length > 0) {
    const which = failed.map((f) => `${f.name} (${f.role}): ${f.error}`).join("; ");
    throw new EngineError(
      `${failed.length} of ${failed.length + report.models.length} models could not be evaluated and were left out of ${written.json}: ${which}`,
      failed[0]!.fix,
    );
  }
  // A judge that judged nothing leaves familiarity unmeasured: the other results are kept, but the
  // command fails so that no script takes the run for a complete one.
  if (judged && judged.failed > 0 && judged.judged === 0) {
    throw new ServiceError(
      `the LLM judge at ${args.judgeUrl} judged none of ${judged.failed} completions (last: ${judged.lastFailure}); ${written.json} was written without completion familiarity`,
      "check the judge's endpoint and model (its answers must end with MODEL_FAMILIARITY: X/3), then rerun; or leave --judge-url out for the automatic judge",
    );
  }
  return {
    out: written.json,
    markdown: written.markdown,
    gold: report.gold,
    models: report.models.map((m) => ({ name: m.name, role: m.role, metrics: flatMetrics(m.results), vsGold: m.vsGold })),
    warnings: report.warnings,
  };
}

export function render(result: EvalCommandResult, out: Output): void {
  const keys = [...new Set(result.models.flatMap((m) => Object.keys(m.metrics)))].filter((k) => !k.endsWith("_stderr"));
  out.table(
    keys.map((k) => [k, ...result.models.map((m) => m.metrics[k] ?? "n/a")]),
    ["metric", ...result.models.map((m) => (m.role === "model" ? m.name : `${m.name} (${m.role})`))],
  );
  if (result.gold === null) out.print("no gold model: PrivLeak and gold-relative gaps are not available (give --gold)");
  out.print(`wrote ${result.out} and ${result.markdown}`);
}
