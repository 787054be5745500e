/**
 * `eval-data.json`, a testbed folder's index for `lethe eval --testbed`: where its text is (what
 * the models trained on and the held-out tails), its membership-inference samples, and either the
 * synthetic ground truth or a preset's hand-written evaluation files. Paths are relative to the
 * folder, so a testbed can be moved or copied whole.
 */
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

import { FileFormatError, InputError } from "../errors.js";

export const MANIFEST_FILE = "eval-data.json";

/** Hand-written evaluation files, in the formats `lethe eval` reads for --prompts, --qa and --terms. */
export interface EvalFiles {
  /** Familiarity prompts, JSONL `{prompt, references?, targets?}`. */
  prompts?: string;
  /** Probability prompts, JSONL `{prompt, targets}`. */
  probability?: string;
  /** QA pairs, JSONL `{question, answer, split?}`. */
  qa?: string;
  /** Judge terms, or an anchored-term dictionary. */
  terms?: string;
}

/** The manifest as written; every path relative to the testbed folder. */
export interface TestbedManifest {
  format: "lethe-testbed";
  version: 1;
  /** The testbed's name: synthetic, oz, or a custom one. */
  testbed: string;
  models: { base: string; gold: string };
  text: { forget: string; retain: string; heldOutForget: string; heldOutRetain: string };
  /** Folders of membership-inference passages; absent when the held-out text held none. */
  membership?: { members: string; nonMembers: string };
  /** The synthetic testbed's ground truth (GroundTruth JSON). */
  truth?: string;
  files?: EvalFiles;
}

/** Writes the manifest into `dir` in one rename, so a reader never sees half of it. */
export function writeTestbedManifest(dir: string, manifest: TestbedManifest): void {
  const path = join(dir, MANIFEST_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

/** What a fix line tells the user who holds a testbed folder that eval cannot read. */
const REBUILD = "rerun the `lethe testbed` command that built it: it reuses the models and writes the evaluation data";

/**
 * Reads `<dir>/eval-data.json` with every path made absolute. A missing folder, a file, a folder
 * that is no testbed, and a testbed built before the manifest existed are InputErrors whose fix
 * says which command to run.
 */
export function readTestbedManifest(dir: string): TestbedManifest {
  const root = resolve(dir);
  if (!existsSync(root)) throw new InputError(`testbed folder ${root} not found`, "build one with `lethe testbed synthetic|oz|custom --dir DIR`, or check the path");
  if (!statSync(root).isDirectory()) throw new InputError(`testbed ${root} is a file, not a folder`, "give the folder `lethe testbed` wrote (it holds base.gguf, gold.gguf and eval-data.json)");
  const path = join(root, MANIFEST_FILE);
  if (!existsSync(path)) {
    if (existsSync(join(root, "report.json"))) throw new InputError(`testbed ${root} was built by an older lethe and has no ${MANIFEST_FILE}`, REBUILD);
    throw new InputError(
      `${root} is not a lethe testbed (it has no ${MANIFEST_FILE})`,
      "build one with `lethe testbed synthetic|oz|custom --dir DIR`, or give the data as files (--forget, --retain, --prompts, --qa)",
    );
  }
  let m: TestbedManifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8")) as TestbedManifest;
  } catch (err) {
    throw new FileFormatError(`${path} is not valid JSON: ${(err as Error).message}`, REBUILD, { cause: err });
  }
  const strings = [m?.testbed, m?.models?.base, m?.models?.gold, m?.text?.forget, m?.text?.retain, m?.text?.heldOutForget, m?.text?.heldOutRetain];
  if (m?.format !== "lethe-testbed" || m.version !== 1 || !strings.every((s) => typeof s === "string")) {
    throw new FileFormatError(`${path} is not a version-1 lethe testbed manifest`, REBUILD);
  }
  const at = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const files = m.files && Object.fromEntries(Object.entries(m.files).map(([k, v]) => [k, at(v as string)]));
  return {
    ...m,
    models: { base: at(m.models.base), gold: at(m.models.gold) },
    text: { forget: at(m.text.forget), retain: at(m.text.retain), heldOutForget: at(m.text.heldOutForget), heldOutRetain: at(m.text.heldOutRetain) },
    ...(m.membership ? { membership: { members: at(m.membership.members), nonMembers: at(m.membership.nonMembers) } } : {}),
    ...(m.truth ? { truth: at(m.truth) } : {}),
    ...(files ? { files } : {}),
  };
}

/** The documents of a testbed text folder (`NNNNN.txt`, in order). */
export function readTestbedDocs(folder: string): string[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new FileFormatError(`testbed text folder ${folder} is missing`, REBUILD);
  }
  return readdirSync(folder)
    .filter((f) => /^\d+\.txt$/.test(f))
    .sort()
    .map((f) => readFileSync(join(folder, f), "utf8"));
}
