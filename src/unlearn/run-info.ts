/**
 * `unlearn.json` in an unlearning run directory: which method made the directory, and the settings
 * and inputs of its latest run, so that later commands (`lethe labels export`, `lethe labels merge`)
 * work from the run directory alone.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileFormatError, InputError } from "../errors.js";
import type { MethodName, UnlearnConfig } from "./config.js";
import type { AnchorSources } from "./method.js";

export const RUN_INFO_FILE = "unlearn.json";

/** What a run records about itself. Runs made before lethe recorded settings hold `method` only. */
export interface RunInfo {
  method: MethodName;
  config?: UnlearnConfig;
  /** Absolute paths of the inputs. */
  model?: string;
  reinforced?: string;
  forget?: string[];
  retain?: string[];
  /** The user's dictionary and LLM endpoint for anchors, when given. */
  dictionary?: string;
  llm?: AnchorSources["llm"];
  /** Tokens per block, after capping to the model's context. */
  blockTokens?: number;
}

/** The run's record, or undefined when the directory has none. */
export function readRunInfo(runDir: string): RunInfo | undefined {
  const path = join(runDir, RUN_INFO_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunInfo;
  } catch {
    throw new FileFormatError(`${path} is not valid JSON`, `delete ${path} and rerun \`lethe unlearn\` with the run's arguments (finished stages are skipped)`);
  }
}

/** A record with the settings: the optional inputs stay optional. */
export type CompleteRunInfo = Required<Pick<RunInfo, "method" | "config" | "model" | "forget" | "retain" | "blockTokens">> & RunInfo;

/** The record of a run with its settings, or an error saying how to get one. */
export function readCompleteRunInfo(runDir: string): CompleteRunInfo {
  const info = readRunInfo(runDir);
  if (info === undefined) throw new InputError(`${runDir} has no ${RUN_INFO_FILE}: it is not a \`lethe unlearn\` run directory`, "pass the --run-dir of an unlearning run");
  const { config, model, forget, retain, blockTokens } = info;
  if (config === undefined || model === undefined || forget === undefined || retain === undefined || blockTokens === undefined) {
    throw new InputError(
      `${join(runDir, RUN_INFO_FILE)} does not record the run's settings (it was made by an older lethe)`,
      "rerun `lethe unlearn` with the run's arguments once: finished stages are skipped and the settings are recorded",
    );
  }
  return { ...info, config, model, forget, retain, blockTokens };
}

export function writeRunInfo(runDir: string, info: RunInfo): void {
  const path = join(runDir, RUN_INFO_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(info, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}
