// Shared fixtures of the pretrain tests: a small learnable corpus and a micro model preset.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PretrainPreset } from "../../../src/testbed/pretrain/index.js";

const SUBJECTS = ["the cat", "the old dog", "a small bird", "my friend", "the farmer"];
const VERBS = ["sat on", "looked at", "ran to", "found", "walked past"];
const OBJECTS = ["the red mat", "a green field", "the big house", "the river", "an apple tree"];

/**
 * About 25 kB of simple sentences from a fixed pseudo-random sequence: regular enough for a micro
 * model to learn in a few dozen steps, varied enough that it cannot just memorise one line.
 */
export function microCorpusText(sentences = 1200): string {
  let state = 12345;
  const pick = (list: string[]) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return list[(state >>> 16) % list.length]!;
  };
  const lines: string[] = [];
  for (let i = 0; i < sentences; i++) lines.push(`${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)}.`);
  return lines.join("\n") + "\n";
}

/** Writes the micro corpus as two documents in `dir` and returns their paths. */
export function writeMicroCorpus(dir: string): string[] {
  const text = microCorpusText();
  const half = text.indexOf("\n", text.length / 2) + 1;
  const paths = [join(dir, "a.txt"), join(dir, "b.txt")];
  writeFileSync(paths[0]!, text.slice(0, half));
  writeFileSync(paths[1]!, text.slice(half));
  return paths;
}

/** 2 layers × 64, vocab 300, context 64: ~120k parameters, a step takes a few ms. */
export const MICRO: PretrainPreset = {
  name: "micro",
  nLayer: 2,
  nEmbd: 64,
  nHead: 4,
  nHeadKv: 4,
  nFf: 128,
  context: 64,
  vocab: 300,
  steps: 40,
  batchSize: 8,
  microBatch: 4,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 4,
  weightDecay: 0.1,
  clip: 1,
  beta1: 0.9,
  beta2: 0.95,
  evalEvery: 10,
  checkpointEvery: 10,
  evalFraction: 0.05,
  maxEvalBlocks: 8,
};
