/**
 * The data one evaluation measures every model on: prompt sets, QA pairs, texts and judge terms,
 * gathered from a synthetic testbed's ground truth or from user files. Loading is separate from
 * measuring so that every model meets exactly the same items.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";

import { InputError } from "../errors.js";
import { readSyntheticTestbed, type SyntheticTestbedText } from "../testbed/synthetic/index.js";
import { readCorpus } from "../tokenizer/corpus.js";
import { loadDictionary } from "../unlearn/whp/dictionary.js";
import { describeProblems, readJsonl, RecordShapeError, validateRecords } from "./jsonl.js";
import { toJudgeTerm, type JudgeTerm } from "./judge/term-judge.js";
import { passagesFromDocuments, splitPromptRecords, toParaphraseRecord } from "./probes.js";
import { generateFamiliarityPrompts, generateVerbatimItems, samplePassages } from "./promptgen.js";
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
}

/** Sizes of the parts of the synthetic-testbed evaluation data. */
export interface SyntheticEvalOptions {
  /** Words of each VerbMem prompt (default 20) and of its true continuation (default 40). */
  verbatimPrefixWords?: number;
  verbatimContinuationWords?: number;
  /** Words kept of each PrivLeak document (default 60; the model's context cuts longer ones anyway). */
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
 * passages; held-out universe documents as PrivLeak non-members; held-out generic documents for
 * perplexity; every surface form of every invented entity as a "unique" judge term.
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
  const privleakWords = opts.privleakWords ?? 60;
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
    forgetTexts: t.universe.map((d) => firstWords(d, privleakWords)),
    holdoutTexts: t.heldOut.universe.map((d) => firstWords(d, privleakWords)),
    retainTexts: t.heldOut.generic,
    relearnTexts: t.universe.slice(0, opts.relearnDocuments ?? 4),
    contextPassages: passagesFromDocuments(t.universe, opts.contextWords ?? 40),
  };
}

/** Reads a testbed folder written by `writeSyntheticTestbed` and turns it into {@link EvalData}. */
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
  /** A synthetic testbed folder: the base of the data, which the other sources override. */
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

/**
 * Gathers evaluation data from a testbed and/or files. From a raw forget corpus it derives VerbMem
 * items, PrivLeak members (with `holdout` as non-members), the relearning slice, reminder passages
 * and, when judge terms are given but no prompt file, familiarity prompts cut before each term.
 * Malformed lines of the JSONL files are reported through `warn` with their line numbers.
 */
export async function assembleEvalData(src: EvalDataSources, warn: (message: string) => void): Promise<EvalData> {
  const data: EvalData = src.testbed ? loadSyntheticEvalData(src.testbed) : { source: "files" };
  const described: string[] = src.testbed ? [data.source] : [];
  const readTexts = (paths: readonly string[]) => readCorpus([...paths]).map((c) => c.text);
  if (src.terms) {
    data.terms = await loadTermsFile(src.terms, warn);
    described.push(`terms ${src.terms}`);
  }
  if (src.forget && src.forget.length > 0) {
    const texts = readTexts(src.forget);
    // Corpora such as Gutenberg books are hard-wrapped: rejoin lines so passages read as prose.
    const joined = texts.map((t) => t.replace(/\s+/g, " ").trim());
    data.verbatim = joined.flatMap((t) => generateVerbatimItems(t, { count: Math.ceil(FROM_CORPUS.verbatimItems / joined.length) }));
    data.forgetTexts = joined.flatMap((t) => samplePassages(t, Math.ceil(FROM_CORPUS.privleakPassages / joined.length), FROM_CORPUS.privleakWords));
    data.relearnTexts = passagesFromDocuments(joined, FROM_CORPUS.relearnWords).slice(0, FROM_CORPUS.relearnPassages);
    data.contextPassages = passagesFromDocuments(joined, FROM_CORPUS.contextWords);
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
  if (src.prompts) {
    const { completion, probability } = await loadPromptRecords(src.prompts, warn);
    data.completionPrompts = completion;
    data.probabilityPrompts = probability.length > 0 ? probability : undefined;
    described.push(`prompts ${src.prompts}`);
  }
  if (src.paraphrases) data.paraphrases = await loadPromptRecords(src.paraphrases, warn);
  if (src.qa) {
    const { forget, retain } = await loadQaFile(src.qa, warn);
    Object.assign(data, splitFewShot(forget, retain, FROM_CORPUS.fewShot));
    described.push(`QA ${src.qa}`);
  }
  data.source = described.join("; ") || "no data";
  return data;
}
