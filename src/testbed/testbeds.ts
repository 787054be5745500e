/**
 * The testbeds: a synthetic universe (no data needed; the demo's), a testbed from any pair of
 * folders of text (forget and retain), and the Oz books from `../shared/data` as a preset of it
 * (forget: eleven Oz books; retain: public-domain novels) with lethe's hand-written Oz evaluation set.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";

import { InputError } from "../errors.js";
import { generateFamiliarityPrompts, idiosyncraticTerms, splitSentences } from "../eval/promptgen.js";
import { packageRoot } from "../util/package-root.js";
import type { TestbedSpec } from "./build.js";
import type { EvalFiles } from "./eval-manifest.js";
import { membershipFromDocuments, membershipFromTails } from "./membership.js";
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
    membership: membershipFromDocuments(t.universe, t.heldOut.retold),
    truth: t.truth,
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

/** Share of each document held out as its tail: never trained on, for perplexity and evaluation. */
export const HELD_OUT_FRACTION = 0.03;

/** Files of a folder (recursively, sorted) ending in .txt. */
function textFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? textFiles(join(dir, e.name)) : e.name.endsWith(".txt") ? [join(dir, e.name)] : []))
    .sort();
}

/** The .txt documents of a corpus folder; `role` and `fix` word the errors for the command that asked. */
function readCorpusFolder(dir: string, role: string, fix: string): string[] {
  if (!existsSync(dir)) throw new InputError(`${role} folder ${dir} not found`, fix);
  if (!statSync(dir).isDirectory()) throw new InputError(`${role} folder ${dir} is a file, not a folder`, fix);
  const files = textFiles(dir);
  if (files.length === 0) throw new InputError(`${role} folder ${dir} holds no .txt files`, fix);
  const docs = files.map((f) => readFileSync(f, "utf8"));
  if (docs.every((d) => d.trim() === "")) throw new InputError(`the .txt files of ${role} folder ${dir} are empty`, fix);
  return docs;
}

/**
 * Splits a document into training text and a held-out tail: the last `fraction` of its paragraphs
 * (at least one), so that held-out text comes from the same source but was never trained on. A
 * document too short for that to leave any text (one paragraph, or a tail of blank lines) is cut
 * the same way between its lines, or failing that its sentences.
 */
export function holdOutTail(text: string, fraction: number): { train: string; heldOut: string } {
  const byParagraph = cutTail(text.split(/\n\s*\n/), "\n\n", fraction);
  if (byParagraph.heldOut.trim() !== "") return byParagraph;
  const nonBlank = (units: string[]) => units.map((u) => u.trim()).filter((u) => u !== "");
  const paragraphs = nonBlank(text.split(/\n\s*\n/));
  if (paragraphs.length >= 2) return cutTail(paragraphs, "\n\n", fraction);
  const lines = nonBlank(text.split("\n"));
  if (lines.length >= 2) return cutTail(lines, "\n", fraction);
  return cutTail(splitSentences(text.replace(/\s+/g, " ").trim()), " ", fraction);
}

function cutTail(units: string[], joiner: string, fraction: number): { train: string; heldOut: string } {
  const keep = Math.max(1, Math.floor(units.length * (1 - fraction)));
  return { train: units.slice(0, keep).join(joiner), heldOut: units.slice(keep).join(joiner) };
}

/** Options of {@link corpusTestbed}. */
export interface CorpusTestbedOptions extends Common {
  /** Names the report and the testbed. */
  name: string;
  /** A folder of .txt files the base model learns and the gold model never sees. */
  forget: string;
  /** A folder of .txt files both models learn. */
  retain: string;
  /** How a user fixes a bad folder (the errors name the folder). */
  fix?: { forget: string; retain: string };
  /** Prompts the report completes; default: cut from the held-out forget text before its idiosyncratic terms. */
  completionPrompts?: string[];
  /** A preset's hand-written evaluation files, which `lethe eval --testbed` uses instead of generated ones. */
  evalFiles?: EvalFiles;
}

/** Held-out forget prompts the build report completes and scores as facts. */
const REPORT_PROMPTS = 50;

/**
 * A testbed over any pair of folders of .txt files: every document keeps its held-out tail out of
 * training. Without given prompts, the report's completions and facts are held-out forget sentences
 * cut before an idiosyncratic term (one far more frequent in the forget text than in the retain
 * text), the answer being that term.
 */
export function corpusTestbed(options: CorpusTestbedOptions): TestbedSpec {
  const { name, forget, retain, fix, completionPrompts, evalFiles, ...common } = options;
  const [f, r] = [resolve(forget), resolve(retain)];
  if (f === r || f.startsWith(r + sep) || r.startsWith(f + sep)) {
    throw new InputError(`the forget folder ${f} and the retain folder ${r} overlap`, "give two separate folders: the gold model must never see the forget text");
  }
  const folderFix = fix ?? { forget: "pass --forget a folder of .txt files (plain UTF-8 text)", retain: "pass --retain a folder of .txt files (plain UTF-8 text)" };
  const split = (dir: string, role: "forget" | "retain") => {
    const docs = readCorpusFolder(dir, role, folderFix[role]).map((d) => holdOutTail(d, HELD_OUT_FRACTION));
    if (docs.every((d) => d.heldOut.trim() === "")) {
      throw new InputError(`the ${role} text in ${dir} is too short to hold out a tail of each document`, "give documents of at least two paragraphs, lines or sentences");
    }
    return docs;
  };
  const forgetDocs = split(f, "forget");
  const retainDocs = split(r, "retain");
  const spec: TestbedSpec = {
    ...common,
    name,
    forget: forgetDocs.map((d) => d.train),
    retain: retainDocs.map((d) => d.train),
    heldOut: { forget: forgetDocs.map((d) => d.heldOut), retain: retainDocs.map((d) => d.heldOut) },
    membership: membershipFromTails(forgetDocs),
    completionPrompts: completionPrompts ?? [],
    ...(evalFiles ? { evalFiles } : {}),
  };
  if (completionPrompts === undefined) {
    const terms = idiosyncraticTerms(spec.forget, spec.retain).map((t) => t.term);
    const prompts = terms.length === 0 ? [] : generateFamiliarityPrompts(spec.heldOut.forget, terms, { maxPrompts: REPORT_PROMPTS });
    spec.completionPrompts = prompts.slice(0, 12).map((p) => p.prompt);
    spec.facts = prompts.map((p) => ({ prompt: p.prompt, answer: p.targets[0] }));
  }
  return spec;
}

/** A testbed over any two folders, named after the forget folder unless `name` is given. */
export function customTestbed(options: Common & { forget: string; retain: string; name?: string }): TestbedSpec {
  return corpusTestbed({ ...options, name: options.name ?? basename(resolve(options.forget)) });
}

/** The Oz preset of {@link corpusTestbed} over `<data>/forget/oz` and `<data>/retain`, with lethe's Oz evaluation set. */
export function ozTestbed(options: Common & { data: string }): TestbedSpec {
  const { data, ...common } = options;
  const fix = "pass --data pointing at the shared data folder (it holds forget/oz and retain)";
  const evalDir = join(packageRoot(), "data", "oz");
  return corpusTestbed({
    ...common,
    name: "oz",
    forget: join(data, "forget", "oz"),
    retain: join(data, "retain"),
    fix: { forget: fix, retain: fix },
    completionPrompts: OZ_PROMPTS,
    evalFiles: {
      prompts: join(evalDir, "familiarity.jsonl"),
      probability: join(evalDir, "probability.jsonl"),
      qa: join(evalDir, "qa.jsonl"),
      terms: join(evalDir, "dictionary.json"),
    },
  });
}
