/**
 * `lethe labels merge`: finishes the labels stage of a run from its shards (`lethe unlearn --stage
 * labels --shard I/N`), checking first that every shard is there and that they agree. The stage
 * then joins the shards' blocks in order, so labels.bin is byte-identical to an unsharded run's,
 * and the run goes on (`lethe unlearn` with the same arguments fine-tunes; `lethe labels export`
 * exports).
 */
import { join } from "node:path";
import { InputError } from "../../errors.js";
import { LABELS_FILE } from "../method.js";
import { readCompleteRunInfo } from "../run-info.js";
import { shardsOf } from "../stages/labels.js";
import { unlearn, type UnlearnOptions, type UnlearnResult } from "../unlearn.js";

export interface MergeLabelsOptions {
  runDir: string;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: UnlearnOptions["onEvent"];
}

export interface MergeLabelsResult {
  runDir: string;
  /** The run's labels file. */
  labels: string;
  shards: number;
  blocks: number;
  stages: UnlearnResult["stages"];
}

/** Checks the shards of `runDir` (see {@link checkShards}) and completes its labels stage from them. */
export async function mergeLabelShards(options: MergeLabelsOptions): Promise<MergeLabelsResult> {
  const info = readCompleteRunInfo(options.runDir);
  const { count, totalBlocks } = checkShards(options.runDir);
  const result = await unlearn({
    model: info.model,
    forget: info.forget,
    retain: info.retain,
    runDir: options.runDir,
    config: info.config,
    method: info.method,
    reinforced: info.reinforced,
    dictionary: info.dictionary,
    llm: info.llm,
    stage: "labels",
    labelsFromShardsOnly: true,
    threads: options.threads,
    signal: options.signal,
    onEvent: options.onEvent,
  });
  return { runDir: options.runDir, labels: join(options.runDir, LABELS_FILE), shards: count, blocks: totalBlocks, stages: result.stages };
}

/**
 * The shards of a run, checked: one settings key, one shard count N, every shard 0..N-1 finished,
 * and every block covered. Throws an InputError naming what is missing or mixed.
 */
export function checkShards(runDir: string): { key: string; count: number; totalBlocks: number } {
  const shards = shardsOf(runDir);
  if (shards.length === 0) {
    throw new InputError(`${runDir} has no finished label shards (under ${join(runDir, "shards")})`, "run `lethe unlearn ... --stage labels --shard I/N` for I = 0..N-1 first, and copy their shards/ folders here if they ran elsewhere");
  }
  const keys = [...new Set(shards.map((s) => s.key))];
  if (keys.length > 1) throw new InputError(`the shards of ${runDir} were made with ${keys.length} different settings or inputs (${keys.join(", ")})`, "delete the shards of the settings you do not want, then merge");
  const counts = [...new Set(shards.map((s) => s.count))];
  if (counts.length > 1) throw new InputError(`the shards of ${runDir} split the labels ${counts.join(" and ")} ways`, "run every shard with the same N, and delete the others");
  const count = counts[0]!;
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !shards.some((s) => s.index === i));
  if (missing.length > 0) throw new InputError(`shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} of ${runDir} ${missing.length > 1 ? "are" : "is"} missing or unfinished`, `run \`lethe unlearn ... --stage labels --shard ${missing[0]}/${count}\``);
  const totalBlocks = shards[0]!.totalBlocks;
  const covered = new Set(shards.flatMap((s) => s.blocks));
  if (covered.size !== totalBlocks) throw new InputError(`the shards of ${runDir} cover ${covered.size} of ${totalBlocks} blocks`, "rerun the shards: one of them finished with a different corpus");
  return { key: keys[0]!, count, totalBlocks };
}
