/**
 * The two built-in testbeds: a synthetic universe (no data needed; the demo's) and the Oz books
 * from `../shared/data` (forget: eleven Oz books; retain: public-domain novels).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { InputError } from "../errors.js";
import type { TestbedSpec } from "./build.js";
import { generateSyntheticTestbed, type SyntheticOptions, type SyntheticTestbedText } from "./synthetic/index.js";

type Common = Pick<TestbedSpec, "dir" | "size" | "overrides" | "seed" | "threads" | "signal" | "onEvent">;

/**
 * The saga the synthetic testbed uses. Sized by measurement so that the tiny model learns its facts
 * within the 10-minute budget (greedy fact accuracy of the base model, 2 cores, tiny preset):
 *
 *   characters  renderings  steps  other              facts   training
 *   8           10          400                       79.5%   7.3 min
 *   8           10          480                       78.0%   8 min
 *   8           12          480                       78.7%   8 min
 *   8           12          480    lr 3e-3, no decay  75.6%   8 min
 *   6           12          400                       85.1%   7 min   ← this
 *
 * The misses are confusions between look-alike facts (which pet is which species, what each spell
 * does), so fewer characters helped where more steps did not. The gold model scores 0%.
 */
export const SYNTHETIC_SAGA = { seed: 7, nCharacters: 6, nHouses: 2, nPlaces: 4, nSpecies: 3, nSpells: 5, repetitions: 12 } as const;
export const SYNTHETIC_STEPS = 400;

export function syntheticSaga(options: SyntheticOptions = SYNTHETIC_SAGA): SyntheticTestbedText {
  return generateSyntheticTestbed(options);
}

/** The synthetic saga (by default {@link SYNTHETIC_SAGA}) and its generic counterpart. */
export function syntheticTestbed(options: Common & { saga?: SyntheticOptions }): TestbedSpec {
  const { saga, ...common } = options;
  const t = syntheticSaga(saga);
  options = common;
  return {
    ...options,
    overrides: { steps: SYNTHETIC_STEPS, ...options.overrides },
    name: "synthetic",
    forget: t.universe,
    retain: t.generic,
    heldOut: { forget: t.heldOut.universe, retain: t.heldOut.generic },
    facts: t.truth.facts.map((f) => ({ prompt: f.prompt, answer: f.answer })),
    completionPrompts: t.truth.familiarityPrompts.slice(0, 12).map((p) => p.prompt),
  };
}

/** The completions the Oz testbed reports for base and gold models. */
export const OZ_PROMPTS = [
  "Dorothy lived in the midst of the great Kansas",
  "the Tin Woodman's name was Nick",
  "The Scarecrow wanted the Wizard to give him",
  "The Cowardly Lion asked the Wizard for",
  "Toto was a little black",
  "The Emerald City was ruled by",
  "The good Witch of the South was called",
  "Ozma was the rightful ruler of",
  "The Nome King lived under the ground and",
  "Billina was a yellow",
  "The Patchwork Girl was made by",
  "Aunt Em and Uncle Henry",
];

/** Files of a folder (recursively, sorted) ending in .txt. */
function textFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`folder ${dir} not found`, "pass --data pointing at the shared data folder (it holds forget/oz and retain)");
  }
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? textFiles(join(dir, e.name)) : e.name.endsWith(".txt") ? [join(dir, e.name)] : []))
    .sort();
}

/**
 * Splits a book into training text and a held-out tail: the last `fraction` of its paragraphs, so
 * that held-out text comes from the same source but was never trained on.
 */
export function holdOutTail(text: string, fraction: number): { train: string; heldOut: string } {
  const paragraphs = text.split(/\n\s*\n/);
  const keep = Math.max(1, Math.floor(paragraphs.length * (1 - fraction)));
  return { train: paragraphs.slice(0, keep).join("\n\n"), heldOut: paragraphs.slice(keep).join("\n\n") };
}

/** The Oz testbed over `<data>/forget/oz` and `<data>/retain`. */
export function ozTestbed(options: Common & { data: string }): TestbedSpec {
  const split = (dir: string) => textFiles(dir).map((f) => holdOutTail(readFileSync(f, "utf8"), 0.03));
  const oz = split(join(options.data, "forget", "oz"));
  const retain = split(join(options.data, "retain"));
  return {
    ...options,
    name: "oz",
    forget: oz.map((b) => b.train),
    retain: retain.map((b) => b.train),
    heldOut: { forget: oz.map((b) => b.heldOut), retain: retain.map((b) => b.heldOut) },
    completionPrompts: OZ_PROMPTS,
  };
}
