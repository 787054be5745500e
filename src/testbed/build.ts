/**
 * Builds a testbed: a base model pretrained on forget + retain text and a gold model pretrained the
 * same way on retain text alone, sharing one tokenizer trained on both corpora so their ids agree.
 * Then measures what a testbed must show: held-out perplexity of both models on forget and retain
 * text (the base clearly lower on forget, about equal on retain), greedy fact accuracy where the
 * facts are known, and a few completions. Every step is cached; an interrupted build resumes.
 * Last, it writes what `lethe eval --testbed` reads (eval-data.json and the files it names).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";

import { InputError } from "../errors.js";
import { Model } from "../engine/model.js";
import { BpeTokenizer } from "../tokenizer/bpe.js";
import { writeTestbedManifest, type EvalFiles, type TestbedManifest } from "./eval-manifest.js";
import type { Membership } from "./membership.js";
import { pretrain, type PretrainEvent, type PretrainPreset, type PretrainResult } from "./pretrain/index.js";
import type { GroundTruth } from "./synthetic/index.js";

export interface TestbedSpec {
  /** "synthetic", "oz" or a custom testbed's name; names the report. */
  name: string;
  dir: string;
  /** Text the base model learns and the gold model never sees. */
  forget: string[];
  /** Text both models learn. */
  retain: string[];
  /** Held-out documents of each kind, never trained on, for perplexity. */
  heldOut: { forget: string[]; retain: string[] };
  /** Prompts whose greedy completion should start with `answer` (null accuracy when absent). */
  facts?: { prompt: string; answer: string }[];
  /** Prompts whose greedy completions are reported side by side. */
  completionPrompts: string[];
  /**
   * MUSE PrivLeak's samples: passages the base model trained on and passages of the same kind no
   * model saw (see membership.ts). Not trained on as such; written for `lethe eval`.
   */
  membership: Membership;
  /** The synthetic testbed's ground truth, written for `lethe eval`. */
  truth?: GroundTruth;
  /** Hand-written evaluation files, copied into the testbed for `lethe eval`. */
  evalFiles?: EvalFiles;
  size: string | PretrainPreset;
  overrides?: Partial<PretrainPreset>;
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (model: "base" | "gold", event: PretrainEvent) => void;
}

export interface ModelReport {
  path: string;
  ppl_forget: number;
  ppl_retain: number;
  fact_accuracy: number | null;
}

export interface TestbedReport {
  testbed: string;
  size: string;
  tokens: number;
  steps: number;
  wall_s: number;
  base: ModelReport;
  gold: ModelReport;
  completions: { prompt: string; base: string; gold: string }[];
  tokenizer: string;
  /**
   * Folders of text: what the models trained on (for unlearning runs) and the held-out documents
   * (for evaluation: perplexity, PrivLeak non-members).
   */
  text: { forget: string; retain: string; heldOutForget: string; heldOutRetain: string };
}

/**
 * Writes documents as numbered .txt files of a folder named by their content hash (once), so a
 * changed corpus gets a new folder and the pretraining runs see changed inputs.
 */
function writeDocs(parent: string, kind: string, docs: string[]): string {
  if (docs.length === 0) throw new InputError(`no ${kind} documents for the testbed in ${parent}`, "check the testbed's corpus");
  const hash = createHash("sha256");
  for (const d of docs) hash.update(d).update("\0");
  const dir = join(parent, `${kind}-${hash.digest("hex").slice(0, 12)}`);
  if (!existsSync(join(dir, ".complete"))) {
    mkdirSync(dir, { recursive: true });
    docs.forEach((d, i) => writeFileSync(join(dir, `${String(i).padStart(5, "0")}.txt`), d));
    writeFileSync(join(dir, ".complete"), "");
  }
  return dir;
}

/** Pretrains base and gold (cached), then measures them; writes `<dir>/report.json`. */
export async function buildTestbed(spec: TestbedSpec): Promise<TestbedReport> {
  const dir = resolve(spec.dir);
  mkdirSync(dir, { recursive: true });
  const forgetDir = writeDocs(join(dir, "text"), "forget", spec.forget);
  const retainDir = writeDocs(join(dir, "text"), "retain", spec.retain);
  const text = {
    forget: forgetDir,
    retain: retainDir,
    heldOutForget: writeDocs(join(dir, "text"), "heldout-forget", spec.heldOut.forget.filter((d) => d.trim() !== "")),
    heldOutRetain: writeDocs(join(dir, "text"), "heldout-retain", spec.heldOut.retain.filter((d) => d.trim() !== "")),
  };
  const t0 = performance.now();
  const common = { size: spec.size, overrides: spec.overrides, seed: spec.seed ?? 1, threads: spec.threads, signal: spec.signal };
  const base: PretrainResult = await pretrain({
    ...common,
    corpus: [forgetDir, retainDir],
    out: join(dir, "base.gguf"),
    onEvent: (e) => spec.onEvent?.("base", e),
  });
  // The gold model shares the base's tokenizer, trained on both corpora, and its size and steps.
  // The shared tokenizer fixes the vocabulary, so a vocab override applies to the base run only.
  const { vocab: _vocab, ...goldOverrides } = spec.overrides ?? {};
  const gold: PretrainResult = await pretrain({
    ...common,
    overrides: goldOverrides,
    corpus: [retainDir],
    out: join(dir, "gold.gguf"),
    tokenizer: base.tokenizer,
    onEvent: (e) => spec.onEvent?.("gold", e),
  });
  const out = join(dir, "report.json");
  // Both models came from the cache: their measurements are the ones already written.
  if (base.cached && gold.cached && existsSync(out)) {
    const cached = JSON.parse(readFileSync(out, "utf8")) as TestbedReport;
    if (cached.base.path === base.model && cached.gold.path === gold.model && cached.text?.forget === forgetDir) {
      writeEvalData(dir, spec, text, base.model, gold.model);
      return { ...cached, text };
    }
  }
  const tokenizer = BpeTokenizer.fromJSON(JSON.parse(readFileSync(base.tokenizer, "utf8")));
  const wallS = (performance.now() - t0) / 1000;
  const trainS = base.trainS + gold.trainS;

  const measure = async (path: string) => measureModel(path, tokenizer, spec);
  const [b, g] = [await measure(base.model), await measure(gold.model)];
  const completions: TestbedReport["completions"] = [];
  for (let i = 0; i < spec.completionPrompts.length; i++) {
    completions.push({ prompt: spec.completionPrompts[i]!, base: b.completions[i]!, gold: g.completions[i]! });
  }
  const report: TestbedReport = {
    testbed: spec.name,
    size: base.preset.name,
    tokens: base.corpusTokens,
    steps: base.steps,
    // Cached builds report the training time they took, not the seconds spent loading them.
    wall_s: Math.round(base.cached && gold.cached ? trainS : Math.max(wallS, trainS)),
    base: b.report,
    gold: g.report,
    completions,
    tokenizer: base.tokenizer,
    text,
  };
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2) + "\n");
  renameSync(`${out}.tmp`, out);
  writeEvalData(dir, spec, text, base.model, gold.model);
  return report;
}

/**
 * Writes what `lethe eval --testbed` reads: the membership samples as text folders, the ground
 * truth or the hand-written files under `eval/`, and eval-data.json naming them all. Written after
 * the models, on every build, so a testbed built before this existed gains it by a rebuild that
 * reuses its models.
 */
function writeEvalData(dir: string, spec: TestbedSpec, text: TestbedReport["text"], base: string, gold: string): void {
  const rel = (p: string) => relative(dir, p);
  const evalDir = join(dir, "eval");
  const manifest: TestbedManifest = {
    format: "lethe-testbed",
    version: 1,
    testbed: spec.name,
    models: { base: rel(base), gold: rel(gold) },
    text: { forget: rel(text.forget), retain: rel(text.retain), heldOutForget: rel(text.heldOutForget), heldOutRetain: rel(text.heldOutRetain) },
  };
  const { members, nonMembers } = spec.membership;
  if (members.length > 0 && nonMembers.length > 0) {
    manifest.membership = {
      members: rel(writeDocs(join(dir, "text"), "members", members)),
      nonMembers: rel(writeDocs(join(dir, "text"), "nonmembers", nonMembers)),
    };
  }
  if (spec.truth || spec.evalFiles) mkdirSync(evalDir, { recursive: true });
  if (spec.truth) {
    const truth = join(evalDir, "truth.json");
    writeFileSync(`${truth}.tmp`, JSON.stringify(spec.truth, null, 1) + "\n");
    renameSync(`${truth}.tmp`, truth);
    manifest.truth = rel(truth);
  }
  if (spec.evalFiles) {
    const files: EvalFiles = {};
    for (const [role, path] of Object.entries(spec.evalFiles) as [keyof EvalFiles, string][]) {
      const copy = join(evalDir, `${role}${extname(path)}`);
      copyFileSync(path, copy);
      files[role] = rel(copy);
    }
    manifest.files = files;
  }
  writeTestbedManifest(dir, manifest);
}

async function measureModel(path: string, tok: BpeTokenizer, spec: TestbedSpec): Promise<{ report: ModelReport; completions: string[] }> {
  const model = await Model.load(path, { threads: spec.threads, contextLength: 512 });
  try {
    const ctx = model.info.nCtxTrain;
    const ppl = async (docs: string[]) => {
      // Held-out documents cut into context-sized windows, each starting with BOS.
      const seqs = docs.flatMap((d) => {
        const ids = tok.encode(d);
        const out: number[][] = [];
        for (let i = 0; i < ids.length; i += ctx - 1) out.push([tok.bosId, ...ids.slice(i, i + ctx - 1)]);
        return out.filter((s) => s.length > 1);
      });
      const lps = await model.tokenLogprobs(seqs);
      let sum = 0;
      let n = 0;
      for (const lp of lps) for (const x of lp) (sum -= x), n++;
      return Math.round(Math.exp(sum / n) * 100) / 100;
    };
    const greedy = async (prompt: string, maxTokens: number) => {
      const g = await model.generate(tok.encode(prompt, { addBos: true }), { maxTokens });
      return tok.decode(g.tokens);
    };
    let factAccuracy: number | null = null;
    if (spec.facts && spec.facts.length > 0) {
      let ok = 0;
      for (const f of spec.facts) if ((await greedy(f.prompt, 8)).trimStart().startsWith(f.answer)) ok++;
      factAccuracy = Math.round((1000 * ok) / spec.facts.length) / 1000;
    }
    const completions: string[] = [];
    for (const p of spec.completionPrompts) completions.push(await greedy(p, 24));
    return {
      report: { path, ppl_forget: await ppl(spec.heldOut.forget), ppl_retain: await ppl(spec.heldOut.retain), fact_accuracy: factAccuracy },
      completions,
    };
  } finally {
    await model.dispose();
  }
}
