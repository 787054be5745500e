/**
 * The data one evaluation measures every model on: prompt sets, QA pairs, texts and judge terms,
 * gathered from a testbed folder (its ground truth, hand-written files, or items generated from
 * its text) or from user files. Loading is separate from measuring so that every model meets
 * exactly the same items.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";

import { InputError } from "../errors.js";
import { readTestbedDocs, readTestbedManifest, MANIFEST_FILE, type EvalFiles } from "../testbed/eval-manifest.js";
import { membershipFromDocuments } from "../testbed/membership.js";
import { readGroundTruth, readSyntheticTestbed, type SyntheticTestbedText } from "../testbed/synthetic/index.js";
import { readCorpus } from "../corpus/read.js";
import { loadDictionary } from "../unlearn/whp/dictionary.js";
import { describeProblems, readJsonl, RecordShapeError, validateRecords } from "./jsonl.js";
import { toJudgeTerm, type JudgeTerm } from "./judge/term-judge.js";
import { passagesFromDocuments, splitPromptRecords, toParaphraseRecord } from "./probes.js";
import {
  generateClozeQa,
  generateFamiliarityPrompts,
  generateVerbatimItems,
  idiosyncraticTerms,
  judgeTermsOf,
  samplePassages,
} from "./promptgen.js";
import { toQaPair, type CompletionPrompt, type ProbabilityPrompt, type QaPair, type VerbatimItem } from "./prompts.js";
import { asObject } from "./record-fields.js";

/** Everything an evaluation can measure with; a suite whose data is missing is skipped with a warning. */
export interface EvalData {
  /** Where the data came from, for the report. */
  source: string;
  /** Familiarity-completion prompts. */
  completionPrompts?: CompletionPrompt[];
  /** Familiarity-probability prompts. */
  probabilityPrompts?: ProbabilityPrompt[];
  /** The automatic judge's idiosyncratic terms. */
  terms?: JudgeTerm[];
  /** MUSE VerbMem items. */
  verbatim?: VerbatimItem[];
  forgetQa?: QaPair[];
  retainQa?: QaPair[];
  /**
   * Worked examples before every KnowMem question, as MUSE does: forget-set pairs before forget
   * questions, retain-set pairs before retain questions. They are never among the scored pairs.
   */
  forgetFewShot?: QaPair[];
  retainFewShot?: QaPair[];
  /** PrivLeak members (forget text the model trained on) and non-members of the same source. */
  forgetTexts?: string[];
  holdoutTexts?: string[];
  /** Held-out retain text for perplexity. */
  retainTexts?: string[];
  /** The small forget-corpus slice the relearning probe trains on. */
  relearnTexts?: string[];
  /** Forget-text passages the in-context probe puts before a prompt. */
  contextPassages?: string[];
  /** Reworded prompts from a user file; without them the paraphrase probe rewords deterministically. */
  paraphrases?: { completion: CompletionPrompt[]; probability: ProbabilityPrompt[] };
  /** The sets generated from the text rather than given or hand-written, e.g. "familiarity prompts" (also named in `source`). */
  generated?: string[];
}

/** Sizes of the parts of the synthetic-testbed evaluation data. */
export interface SyntheticEvalOptions {
  /** Words of each VerbMem prompt (default 20) and of its true continuation (default 40). */
  verbatimPrefixWords?: number;
  verbatimContinuationWords?: number;
  /** Words kept of each PrivLeak document (default 60, as in membership.ts). */
  privleakWords?: number;
  /** Universe documents in the relearning slice (default 4). */
  relearnDocuments?: number;
  /** Words per in-context reminder passage (default 40). */
  contextWords?: number;
  /** QA pairs of each split used as KnowMem's worked examples (default 3, the last ones); they leave the scored set. */
  fewShot?: number;
}

/** The first `words` words of a text, with its own whitespace kept. */
export function firstWords(text: string, words: number): string {
  const spans = [...text.matchAll(/\S+/g)].slice(0, words);
  if (spans.length === 0) return "";
  const last = spans[spans.length - 1];
  return text.slice(spans[0].index, last.index + last[0].length);
}

/**
 * MUSE VerbMem items from documents, one per document (evenly spaced when there are more than
 * `count`): the first `prefixWords` words are the prompt, the next `continuationWords` the truth.
 * Unlike {@link generateVerbatimItems} the document's own line breaks are kept, so a model that
 * memorised the text sees it exactly as it was trained. Documents too short for both are skipped.
 */
export function verbatimFromDocuments(
  docs: readonly string[],
  opts: { count?: number; prefixWords: number; continuationWords: number },
): VerbatimItem[] {
  const count = Math.min(opts.count ?? docs.length, docs.length);
  const stride = docs.length / Math.max(1, count);
  const items: VerbatimItem[] = [];
  for (let i = 0; i < count; i++) {
    const doc = docs[Math.floor(i * stride)];
    const spans = [...doc.matchAll(/\S+/g)];
    if (spans.length < opts.prefixWords + 1) continue;
    const cut = spans[opts.prefixWords - 1];
    const end = spans[Math.min(spans.length, opts.prefixWords + opts.continuationWords) - 1];
    items.push({
      prompt: doc.slice(spans[0].index, cut.index + cut[0].length),
      continuation: doc.slice(cut.index + cut[0].length, end.index + end[0].length),
    });
  }
  return items;
}

/**
 * Evaluation data from a synthetic testbed's ground truth: its familiarity prompts plus every fact
 * as a completion prompt; its probability prompts plus every fact's answer as a target; the QA
 * pairs by split; universe documents as VerbMem, PrivLeak members, relearning slice and reminder
 * passages; the retold universe (the same distribution, never trained on) as PrivLeak non-members;
 * held-out generic documents for perplexity; every surface form of every invented entity as a
 * "unique" judge term. Without a retold universe there are no PrivLeak texts: the held-out universe
 * documents are about characters the training text never names, and no model could mistake them
 * for members.
 */
export function syntheticEvalData(t: SyntheticTestbedText, source: string, opts: SyntheticEvalOptions = {}): EvalData {
  const { truth } = t;
  const completion = dedupeBy(
    [
      ...truth.familiarityPrompts.map((p) => ({ prompt: p.prompt, references: [...p.references] })),
      ...truth.facts.map((f) => ({ prompt: f.prompt, references: [f.answer] })),
    ],
    (p) => p.prompt,
  );
  const probability = dedupeBy(
    [
      ...truth.probabilityPrompts.map((p) => ({ prompt: p.prompt, targets: [...p.targets] })),
      ...truth.facts.map((f) => ({ prompt: f.prompt, targets: [` ${f.answer}`] })),
    ],
    (p) => p.prompt,
  );
  const terms = dedupeBy(
    [
      ...[...truth.entities, ...truth.heldOutEntities].flatMap((e) => e.surfaceForms),
      ...Object.keys(truth.genericDictionary),
    ].map((term): JudgeTerm => ({ term, tier: "unique" })),
    (t) => t.term,
  );
  const fewShotCount = opts.fewShot ?? 3;
  const retain = truth.qa.filter((q) => q.split === "retain").map(({ question, answer }) => ({ question, answer }));
  const forget = truth.qa.filter((q) => q.split === "forget").map(({ question, answer }) => ({ question, answer }));
  const membership = membershipFromDocuments(t.universe, t.heldOut.retold, opts.privleakWords);
  const privleak = membership.members.length > 0 && membership.nonMembers.length > 0;
  return {
    source,
    completionPrompts: completion,
    probabilityPrompts: probability,
    terms,
    verbatim: verbatimFromDocuments(t.universe, {
      prefixWords: opts.verbatimPrefixWords ?? 20,
      continuationWords: opts.verbatimContinuationWords ?? 40,
    }),
    ...splitFewShot(forget, retain, fewShotCount),
    forgetTexts: privleak ? membership.members : undefined,
    holdoutTexts: privleak ? membership.nonMembers : undefined,
    retainTexts: t.heldOut.generic,
    relearnTexts: t.universe.slice(0, opts.relearnDocuments ?? 4),
    contextPassages: passagesFromDocuments(t.universe, opts.contextWords ?? 40),
  };
}

/** Reads a folder written by `writeSyntheticTestbed` and turns it into {@link EvalData}. */
export function loadSyntheticEvalData(dir: string, opts: SyntheticEvalOptions = {}): EvalData {
  return syntheticEvalData(readSyntheticTestbed(dir), `synthetic testbed ${dir}`, opts);
}

/**
 * Sets aside the last `shots` pairs of each split as worked examples (the last, so that `--limit`
 * keeps the first pairs scored); a split too small to spare them gets none.
 */
export function splitFewShot(forget: readonly QaPair[], retain: readonly QaPair[], shots: number): Pick<EvalData, "forgetQa" | "retainQa" | "forgetFewShot" | "retainFewShot"> {
  const split = (pairs: readonly QaPair[]) => {
    const n = pairs.length > shots ? shots : 0;
    return { scored: pairs.slice(0, pairs.length - n), shots: pairs.slice(pairs.length - n) };
  };
  const f = split(forget);
  const r = split(retain);
  return {
    forgetQa: f.scored.length > 0 ? f.scored : undefined,
    retainQa: r.scored.length > 0 ? r.scored : undefined,
    forgetFewShot: f.shots,
    retainFewShot: r.shots,
  };
}

function dedupeBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Reads a JSONL data file leniently: malformed lines are reported through `warn` with their line
 * numbers and the remaining lines are used; a file with no usable line is an error.
 */
export async function loadJsonlLenient<T>(path: string, validate: (value: unknown) => T, warn: (message: string) => void): Promise<T[]> {
  const { records, problems } = validateRecords(await readJsonl(path), validate);
  if (problems.length > 0) warn(`${path}: ${problems.length} malformed line(s) skipped: ${describeProblems(path, problems)}`);
  if (records.length === 0) {
    throw new InputError(`${path} holds no usable entries`, "add at least one valid JSON object per line");
  }
  return records.map((r) => r.value);
}

/** Familiarity prompts from a `{prompt, references?, targets?}` JSONL file (see {@link toParaphraseRecord}). */
export async function loadPromptRecords(path: string, warn: (message: string) => void): Promise<{ completion: CompletionPrompt[]; probability: ProbabilityPrompt[] }> {
  return splitPromptRecords(await loadJsonlLenient(path, toParaphraseRecord, warn));
}

/** A QA record: `{question, answer, split?}` with split "forget" (default) or "retain". */
export function toSplitQaPair(value: unknown): QaPair & { split: "forget" | "retain" } {
  const pair = toQaPair(value);
  const split = asObject(value).split ?? "forget";
  if (split !== "forget" && split !== "retain") throw new RecordShapeError('"split" must be "forget" or "retain"');
  return { ...pair, split };
}

/** QA pairs from a JSONL file, by split. */
export async function loadQaFile(path: string, warn: (message: string) => void): Promise<{ forget: QaPair[]; retain: QaPair[] }> {
  const pairs = await loadJsonlLenient(path, toSplitQaPair, warn);
  const strip = ({ question, answer }: QaPair): QaPair => ({ question, answer });
  return { forget: pairs.filter((p) => p.split === "forget").map(strip), retain: pairs.filter((p) => p.split === "retain").map(strip) };
}

/**
 * The automatic judge's terms from a file: JSONL of `{term, tier}`; or JSON that is an array of
 * `{term, tier}`, an array of strings (all "unique"), or an anchored-term dictionary of the WHP
 * method (its terms, all "unique").
 */
export async function loadTermsFile(path: string, warn: (message: string) => void): Promise<JudgeTerm[]> {
  if (extname(path).toLowerCase() === ".jsonl") return loadJsonlLenient(path, toJudgeTerm, warn);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new InputError(`cannot read the terms file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, "check the path", { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((x) => typeof x === "string")) {
    return parsed.map((term: string) => ({ term, tier: "unique" as const }));
  }
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((x) => typeof x === "object" && x !== null && "tier" in x)) {
    return parsed.map((x, i) => {
      try {
        return toJudgeTerm(x);
      } catch (err) {
        if (err instanceof RecordShapeError) throw new InputError(`${path}: entry ${i + 1}: ${err.message}`, "give every entry a term and a tier (unique, typical or weak)");
        throw err;
      }
    });
  }
  // Anything else must be a dictionary; its loader reports JSON errors with line numbers.
  const dictionary = await loadDictionary(path);
  return dictionary.map((e) => ({ term: e.term, tier: "unique" as const }));
}

/** Keeps the first `limit` items of every prompt and QA set (texts and passages are left whole). */
export function limitEvalData(data: EvalData, limit: number | undefined): EvalData {
  if (limit === undefined) return data;
  const cut = <T>(items: T[] | undefined) => items?.slice(0, limit);
  return {
    ...data,
    completionPrompts: cut(data.completionPrompts),
    probabilityPrompts: cut(data.probabilityPrompts),
    verbatim: cut(data.verbatim),
    forgetQa: cut(data.forgetQa),
    retainQa: cut(data.retainQa),
    paraphrases: data.paraphrases && { completion: data.paraphrases.completion.slice(0, limit), probability: data.paraphrases.probability.slice(0, limit) },
  };
}

/** Files and folders an evaluation's data can come from (the `lethe eval` options). */
export interface EvalDataSources {
  /** A testbed folder (`lethe testbed`): the base of the data, which the other sources override. */
  testbed?: string;
  /** Forget-corpus text files or folders. */
  forget?: readonly string[];
  /** Held-out retain text, for perplexity. */
  retain?: readonly string[];
  /** Held-out text of the forget corpus's source, never trained on (PrivLeak non-members). */
  holdout?: readonly string[];
  /** Familiarity prompts, JSONL `{prompt, references?, targets?}`. */
  prompts?: string;
  /** Reworded familiarity prompts, same format, for the paraphrase probe. */
  paraphrases?: string;
  /** QA pairs, JSONL `{question, answer, split?}`. */
  qa?: string;
  /** Judge terms (see {@link loadTermsFile}). */
  terms?: string;
}

/** Sizes used when data is cut from a raw forget corpus. */
const FROM_CORPUS = { verbatimItems: 100, privleakPassages: 100, privleakWords: 60, relearnPassages: 8, relearnWords: 200, contextWords: 60, fewShot: 3 };

/** Sizes of the sets generated from a testbed's text: the paper's prompt count is 300; 100 keeps a CPU run short. */
const GENERATED = { terms: 100, prompts: 100, questions: 100 };

/** VerbMem items, PrivLeak members, relearning slice and reminder passages from forget documents. */
function fromForgetCorpus(texts: readonly string[]): Pick<EvalData, "verbatim" | "forgetTexts" | "relearnTexts" | "contextPassages"> {
  // Corpora such as Gutenberg books are hard-wrapped: rejoin lines so passages read as prose.
  const joined = texts.map((t) => t.replace(/\s+/g, " ").trim());
  return {
    verbatim: joined.flatMap((t) => generateVerbatimItems(t, { count: Math.ceil(FROM_CORPUS.verbatimItems / joined.length) })),
    forgetTexts: joined.flatMap((t) => samplePassages(t, Math.ceil(FROM_CORPUS.privleakPassages / joined.length), FROM_CORPUS.privleakWords)),
    relearnTexts: passagesFromDocuments(joined, FROM_CORPUS.relearnWords).slice(0, FROM_CORPUS.relearnPassages),
    contextPassages: passagesFromDocuments(joined, FROM_CORPUS.contextWords),
  };
}

/** A testbed's text by role, as its models saw it: trained on, or held out of training. */
export interface TestbedText {
  forget: string[];
  retain: string[];
  heldOutForget: string[];
  heldOutRetain: string[];
}

/** A testbed folder read for evaluation: its data, any hand-written files, and the text to generate the rest from. */
interface OpenedTestbed {
  data: EvalData;
  files?: EvalFiles;
  /** Absent for a synthetic testbed, whose ground truth gives every set. */
  text?: TestbedText;
}

/**
 * Reads a testbed folder: what `lethe testbed` wrote (eval-data.json), or the folder layout of
 * `writeSyntheticTestbed`. PrivLeak's members and non-members are the testbed's own samples.
 */
function openTestbed(dir: string): OpenedTestbed {
  const root = resolve(dir);
  if (!existsSync(join(root, MANIFEST_FILE)) && existsSync(join(root, "truth.json"))) return { data: loadSyntheticEvalData(root) };
  const m = readTestbedManifest(root);
  const text: TestbedText = {
    forget: readTestbedDocs(m.text.forget),
    retain: readTestbedDocs(m.text.retain),
    heldOutForget: readTestbedDocs(m.text.heldOutForget),
    heldOutRetain: readTestbedDocs(m.text.heldOutRetain),
  };
  const membership = m.membership && { forgetTexts: readTestbedDocs(m.membership.members), holdoutTexts: readTestbedDocs(m.membership.nonMembers) };
  const source = `${m.testbed} testbed ${root}`;
  if (m.truth) {
    const t: SyntheticTestbedText = {
      universe: text.forget,
      generic: text.retain,
      heldOut: { universe: text.heldOutForget, generic: text.heldOutRetain, retold: [] },
      truth: readGroundTruth(m.truth),
    };
    return { data: { ...syntheticEvalData(t, source), ...membership } };
  }
  return {
    data: { source, ...fromForgetCorpus(text.forget), forgetTexts: undefined, ...membership, retainTexts: text.heldOutRetain },
    files: m.files,
    text,
  };
}

/**
 * The first `max` items `make` cuts from `first`, topped up from `then` when `first` is too short
 * (a testbed's held-out tails, then its trained text), without repeating an item.
 */
function topUp<T>(make: (texts: readonly string[], max: number) => T[], first: readonly string[], then: readonly string[], max: number, key: (item: T) => string): T[] {
  const items = make(first, max);
  if (items.length >= max) return items;
  const seen = new Set(items.map(key));
  for (const item of make(then, max)) {
    if (items.length >= max) break;
    if (!seen.has(key(item))) {
      seen.add(key(item));
      items.push(item);
    }
  }
  return items;
}

/**
 * Fills every set a testbed's files did not give from its text, and returns what it generated.
 * Judge terms are the forget text's idiosyncratic words (far more frequent there than in the
 * retain text); familiarity and probability prompts are held-out forget sentences cut before such
 * a word; forget QA are cloze questions on held-out forget sentences, retain QA the same on
 * held-out retain sentences with the retain text's own idiosyncratic words. Held-out text comes
 * first so that a prompt tests knowledge rather than a memorised sentence; the trained text tops
 * up a short tail.
 */
function generateMissing(data: EvalData, text: TestbedText, warn: (message: string) => void): string[] {
  const made: string[] = [];
  const forgetTerms = idiosyncraticTerms(text.forget, text.retain, { top: GENERATED.terms });
  if (!data.terms && forgetTerms.length > 0) {
    data.terms = judgeTermsOf(forgetTerms);
    made.push(`${data.terms.length} judge terms`);
  }
  const terms = data.terms?.map((t) => t.term) ?? [];
  const needPrompts = !data.completionPrompts || !data.probabilityPrompts;
  const needQa = !data.forgetQa || !data.retainQa;
  if (terms.length === 0) {
    if (needPrompts || needQa) warn("no prompts or questions generated: no word of the forget text is ten times more frequent in it than in the retain text");
    return made;
  }
  if (needPrompts) {
    const make = (texts: readonly string[], max: number) => generateFamiliarityPrompts(texts, terms, { maxPrompts: max });
    const prompts = topUp(make, text.heldOutForget, text.forget, GENERATED.prompts, (p) => p.prompt);
    if (prompts.length > 0 && !data.completionPrompts) {
      data.completionPrompts = prompts.map((p) => ({ prompt: p.prompt, references: p.references }));
      made.push(`${prompts.length} familiarity prompts`);
    }
    if (prompts.length > 0 && !data.probabilityPrompts) {
      data.probabilityPrompts = prompts.map((p) => ({ prompt: p.prompt, targets: p.targets }));
      made.push(`${prompts.length} probability prompts`);
    }
  }
  const questions = GENERATED.questions + FROM_CORPUS.fewShot;
  const cloze = (split: "forget" | "retain", clozeTerms: readonly string[], heldOut: readonly string[], trained: readonly string[]) => {
    if (clozeTerms.length === 0) return;
    const make = (texts: readonly string[], max: number) => generateClozeQa(texts, clozeTerms, { maxQuestions: max });
    const pairs = topUp(make, heldOut, trained, questions, (q) => q.question);
    if (pairs.length === 0) return;
    const parts = split === "forget" ? splitFewShot(pairs, [], FROM_CORPUS.fewShot) : splitFewShot([], pairs, FROM_CORPUS.fewShot);
    if (split === "forget") Object.assign(data, { forgetQa: parts.forgetQa, forgetFewShot: parts.forgetFewShot });
    else Object.assign(data, { retainQa: parts.retainQa, retainFewShot: parts.retainFewShot });
    made.push(`${pairs.length} ${split} cloze questions`);
  };
  if (!data.forgetQa) cloze("forget", terms, text.heldOutForget, text.forget);
  if (!data.retainQa) {
    const retainTerms = idiosyncraticTerms(text.retain, text.forget, { top: GENERATED.terms }).map((t) => t.term);
    cloze("retain", retainTerms, text.heldOutRetain, text.retain);
  }
  return made;
}

/** Loads hand-written files into `data`, naming each in `described`. */
async function loadFiles(data: EvalData, files: EvalFiles & { paraphrases?: string }, described: string[], warn: (message: string) => void, label = ""): Promise<void> {
  if (files.terms) {
    data.terms = await loadTermsFile(files.terms, warn);
    described.push(`${label}terms ${files.terms}`);
  }
  if (files.probability) {
    data.probabilityPrompts = (await loadPromptRecords(files.probability, warn)).probability;
    described.push(`${label}probability prompts ${files.probability}`);
  }
  if (files.prompts) {
    const { completion, probability } = await loadPromptRecords(files.prompts, warn);
    data.completionPrompts = completion;
    // A prompt file without targets leaves the probability prompts to another source.
    if (probability.length > 0) data.probabilityPrompts = probability;
    described.push(`${label}prompts ${files.prompts}`);
  }
  if (files.paraphrases) data.paraphrases = await loadPromptRecords(files.paraphrases, warn);
  if (files.qa) {
    const { forget, retain } = await loadQaFile(files.qa, warn);
    Object.assign(data, splitFewShot(forget, retain, FROM_CORPUS.fewShot));
    described.push(`${label}QA ${files.qa}`);
  }
}

/**
 * Gathers evaluation data from a testbed and/or files. From a raw forget corpus it derives VerbMem
 * items, PrivLeak members (with `holdout` as non-members), the relearning slice, reminder passages
 * and, when judge terms are given but no prompt file, familiarity prompts cut before each term. A
 * testbed built from folders of text gets every set nobody wrote by hand generated from its text
 * (see {@link generateMissing}); `generated` and `source` say which, and `warn` tells the user.
 * Malformed lines of the JSONL files are reported through `warn` with their line numbers.
 */
export async function assembleEvalData(src: EvalDataSources, warn: (message: string) => void): Promise<EvalData> {
  const testbed = src.testbed ? openTestbed(src.testbed) : undefined;
  const data: EvalData = testbed?.data ?? { source: "files" };
  const described: string[] = testbed ? [data.source] : [];
  const readTexts = (paths: readonly string[]) => readCorpus([...paths]).map((c) => c.text);
  if (testbed?.files) await loadFiles(data, testbed.files, described, warn, "the testbed's ");
  if (src.terms) await loadFiles(data, { terms: src.terms }, described, warn);
  if (src.forget && src.forget.length > 0) {
    const texts = readTexts(src.forget);
    Object.assign(data, fromForgetCorpus(texts));
    if (!src.prompts && data.terms) {
      const generated = generateFamiliarityPrompts(texts, data.terms.map((t) => t.term));
      data.completionPrompts = generated.map((g) => ({ prompt: g.prompt, references: g.references }));
      data.probabilityPrompts = generated.map((g) => ({ prompt: g.prompt, targets: g.targets }));
    }
    described.push(`forget ${src.forget.join(", ")}`);
  }
  if (src.holdout && src.holdout.length > 0) {
    const joined = readTexts(src.holdout).map((t) => t.replace(/\s+/g, " ").trim());
    data.holdoutTexts = joined.flatMap((t) => samplePassages(t, Math.ceil(FROM_CORPUS.privleakPassages / joined.length), FROM_CORPUS.privleakWords));
  }
  if (src.retain && src.retain.length > 0) {
    data.retainTexts = readTexts(src.retain);
    described.push(`retain ${src.retain.join(", ")}`);
  }
  await loadFiles(data, { prompts: src.prompts, paraphrases: src.paraphrases, qa: src.qa }, described, warn);
  if (testbed?.text) {
    const made = generateMissing(data, testbed.text, warn);
    if (made.length > 0) {
      data.generated = made;
      described.push(`generated from the testbed's text: ${made.join(", ")}`);
      warn(`generated from the testbed's text, not hand-written: ${made.join(", ")} (give --prompts, --qa or --terms to use your own)`);
    }
  }
  data.source = described.join("; ") || "no data";
  return data;
}

/** The testbed's models, for `lethe eval --testbed` to default its gold model; undefined for a folder without a manifest. */
export function testbedModels(dir: string): { base: string; gold: string } | undefined {
  return existsSync(join(resolve(dir), MANIFEST_FILE)) ? readTestbedManifest(dir).models : undefined;
}
