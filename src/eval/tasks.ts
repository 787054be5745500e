/**
 * The utility benchmarks as data, following lm-evaluation-harness conventions: each task is a spec
 * naming its file, its document format and its metrics, so adding a benchmark is a line, not code.
 */
import { join } from "node:path";
import { InputError } from "../errors.js";
import { readJsonl, validateRecords, type JsonlProblem } from "./jsonl.js";
import { asObject, indexField, stringArrayField, stringField } from "./record-fields.js";
import { joinAtSeam, type ContinuationRequest } from "./scoring.js";

/**
 * How a benchmark document becomes scoring requests:
 * - `choices`: `{query, choices, gold}`; each choice is scored as a continuation of the query.
 * - `partial-context`: `{context_options, continuation, gold}` (Winogrande's partial scoring); the
 *   same continuation is scored after each context, so only the option's effect on it counts.
 * - `last-word`: `{context, continuation}` (LAMBADA); the final word is scored after the passage.
 */
export type TaskFormat = "choices" | "partial-context" | "last-word";

/** `acc`/`acc_norm`: multiple-choice accuracy; `ppl`: perplexity of the target word; `acc` on last-word is greedy exact match. */
export type TaskMetric = "acc" | "acc_norm" | "ppl";

/** A benchmark described as data: which file, how its documents read, what to report. */
export interface TaskSpec {
  name: string;
  /** JSONL file name inside the benchmark directory. */
  file: string;
  format: TaskFormat;
  metrics: readonly TaskMetric[];
  /** Put between context and continuation unless whitespace is already there. */
  delimiter: string;
  /** Documents in the shipped file, checked by the loader tests. */
  expectedDocs: number;
}

/**
 * The utility benchmarks of the unlearning paper's retention table plus COPA, SIQA and LAMBADA, with
 * the metrics lm-evaluation-harness reports for each (acc_norm where answer lengths vary).
 */
export const TASKS: readonly TaskSpec[] = [
  { name: "arc_easy", file: "arc_easy.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 2376 },
  { name: "arc_challenge", file: "arc_challenge.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 1172 },
  { name: "boolq", file: "boolq.jsonl", format: "choices", metrics: ["acc"], delimiter: " ", expectedDocs: 3270 },
  { name: "hellaswag", file: "hellaswag.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 10042 },
  { name: "openbook_qa", file: "openbook_qa.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 500 },
  { name: "piqa", file: "piqa.jsonl", format: "choices", metrics: ["acc", "acc_norm"], delimiter: " ", expectedDocs: 1838 },
  { name: "winogrande", file: "winogrande.jsonl", format: "partial-context", metrics: ["acc"], delimiter: " ", expectedDocs: 1267 },
  { name: "copa", file: "copa.jsonl", format: "choices", metrics: ["acc"], delimiter: " ", expectedDocs: 100 },
  { name: "siqa", file: "siqa.jsonl", format: "choices", metrics: ["acc"], delimiter: " ", expectedDocs: 1954 },
  { name: "lambada_openai", file: "lambada_openai.jsonl", format: "last-word", metrics: ["ppl", "acc"], delimiter: " ", expectedDocs: 5153 },
];

/** Looks a task up by name; an unknown name is an {@link InputError} listing the known ones. */
export function findTask(name: string, tasks: readonly TaskSpec[] = TASKS): TaskSpec {
  const task = tasks.find((t) => t.name === name);
  if (!task) {
    throw new InputError(`unknown benchmark "${name}"`, `use one of: ${tasks.map((t) => t.name).join(", ")}`);
  }
  return task;
}

/** One benchmark document ready to score: a request per candidate, and which one is right. */
export interface TaskDoc {
  /** Line in the task file, for warnings. */
  line: number;
  requests: ContinuationRequest[];
  /** Index of the correct request (always 0 for last-word). */
  gold: number;
  /** Characters in each candidate as written in the file (acc_norm's normaliser). */
  choiceLengths: number[];
}

/** Character count as Python's len() has it (code points), which lm-eval's acc_norm uses. */
function codePoints(text: string): number {
  return [...text].length;
}

/** Turns one parsed JSONL value into a {@link TaskDoc}; shape errors are RecordShapeErrors. */
export function toTaskDoc(spec: TaskSpec, value: unknown, line: number): TaskDoc {
  const obj = asObject(value);
  switch (spec.format) {
    case "choices": {
      const query = stringField(obj, "query");
      const choices = stringArrayField(obj, "choices", { minLength: 2 });
      return {
        line,
        requests: choices.map((c) => joinAtSeam(query, c, spec.delimiter)),
        gold: indexField(obj, "gold", choices.length),
        choiceLengths: choices.map(codePoints),
      };
    }
    case "partial-context": {
      const options = stringArrayField(obj, "context_options", { minLength: 2 });
      const continuation = stringField(obj, "continuation", { nonEmpty: true });
      return {
        line,
        requests: options.map((o) => joinAtSeam(o, continuation, spec.delimiter)),
        gold: indexField(obj, "gold", options.length),
        choiceLengths: options.map(() => codePoints(continuation)),
      };
    }
    case "last-word": {
      const continuation = stringField(obj, "continuation", { nonEmpty: true });
      return {
        line,
        requests: [joinAtSeam(stringField(obj, "context", { nonEmpty: true }), continuation, spec.delimiter)],
        gold: 0,
        choiceLengths: [codePoints(continuation)],
      };
    }
  }
}

/** A loaded benchmark: its usable documents and the lines that were not. */
export interface LoadedTask {
  spec: TaskSpec;
  path: string;
  docs: TaskDoc[];
  problems: JsonlProblem[];
}

/**
 * Reads a task's file from `dir`. Malformed lines are returned as problems (the rest still run);
 * `limit` keeps the first N usable documents, as lm-eval's `--limit` does.
 */
export async function loadTask(spec: TaskSpec, dir: string, limit?: number): Promise<LoadedTask> {
  const path = join(dir, spec.file);
  const { records, problems } = validateRecords(await readJsonl(path), (value, line) => toTaskDoc(spec, value, line));
  const docs = records.map((r) => r.value);
  return { spec, path, docs: limit === undefined ? docs : docs.slice(0, limit), problems };
}
