// Fixture of the label shard and export tests: a tiny model, an invented forget text with a
// dictionary, and the arguments of a WHP run that stops after a given stage.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { UnlearnOptions } from "../../../src/unlearn/index.js";
import { makeTinyModel } from "../../fixtures/tiny-model.js";

/** The invented names of the forget text, and the generic ones the dictionary maps them to. */
export const NAMES = ["Tembenna", "Quorvix", "Hollow Spire", "Ysolde Marr"];
export const GENERICS = ["Richard", "Tom", "old tower", "Anna Smith"];
const VERBS = ["met", "followed", "left", "watched", "called", "found"];
const PLACES = ["by the river", "at dawn", "in the market", "near the gate", "after the storm"];

/** `n` sentences about `names`, from a seeded generator. */
export function sentences(n: number, seed: number, names: readonly string[]): string {
  const out: string[] = [];
  let x = seed;
  const next = (k: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
  for (let i = 0; i < n; i++) out.push(`${names[next(names.length)]} ${VERBS[next(VERBS.length)]} ${names[next(names.length)]} ${PLACES[next(PLACES.length)]}.`);
  return out.join(" ");
}

/** Writes a forget folder (two files of `counts` sentences), a retain folder and the dictionary under `dir`. */
export function writeLabelsInputs(dir: string, counts: readonly [number, number] = [60, 40]): { forget: string; retain: string; dictionary: string } {
  const forget = join(dir, "forget");
  const retain = join(dir, "retain");
  mkdirSync(forget, { recursive: true });
  mkdirSync(retain, { recursive: true });
  writeFileSync(join(forget, "a.txt"), sentences(counts[0], 1, NAMES));
  writeFileSync(join(forget, "b.txt"), sentences(counts[1], 2, NAMES));
  writeFileSync(join(retain, "g.txt"), sentences(50, 3, ["The baker", "A farmer", "Her brother", "The teacher"]));
  const dictionary = join(dir, "dictionary.json");
  writeFileSync(dictionary, JSON.stringify(Object.fromEntries(NAMES.map((n, i) => [n, GENERICS[i]!]))));
  return { forget, retain, dictionary };
}

/** Blocks of 48 tokens, the dictionary alone as anchors, and soft labels: the top 2 plus 2 tail samples, K = 4. */
export const LABELS_CONFIG = { blockTokens: 48, anchors: { top: 0, gainTokens: 0 }, labels: { topK: 2, tail: 2 } };

/** Writes the inputs under `dir` and returns the options of a run in `runDir` (soft labels, K = 4). */
export function labelsRunOptions(dir: string, runDir: string): UnlearnOptions {
  const { forget, retain, dictionary } = writeLabelsInputs(dir);
  return {
    model: makeTinyModel(dir, { seed: 7 }),
    reinforced: makeTinyModel(dir, { seed: 8 }),
    forget: [forget],
    retain: [retain],
    dictionary,
    runDir,
    threads: 2,
    config: { ...LABELS_CONFIG, finetune: { steps: 6, batchSize: 4 } },
  };
}
