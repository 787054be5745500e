/**
 * The synthetic testbed on disk: one plain text file per document, a folder per corpus, and
 * truth.json, so the corpora can be inspected with ordinary tools and a testbed built once is reused.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FileFormatError, InputError } from "../../errors.js";
import type { GroundTruth, SyntheticTestbedText } from "./types.js";

const TRUTH = "truth.json";
const FOLDERS = {
  universe: "universe",
  generic: "generic",
  heldOutUniverse: join("heldout", "universe"),
  heldOutGeneric: join("heldout", "generic"),
  heldOutRetold: join("heldout", "retold"),
} as const;

/**
 * Writes a testbed as `universe/NNNNN.txt`, `generic/NNNNN.txt`, `heldout/universe/`, `heldout/generic/`
 * and `truth.json`. Everything is written into a sibling staging folder that is renamed into place at
 * the end, so a reader never sees a half-written testbed. An existing testbed at `dir` is replaced; any
 * other non-empty folder there is refused rather than deleted.
 */
export function writeSyntheticTestbed(dir: string, t: SyntheticTestbedText): void {
  const target = resolve(dir);
  if (existsSync(target) && !isReplaceable(target)) {
    throw new InputError(
      `${target} exists and is not a synthetic testbed (no ${TRUTH})`,
      "choose an empty or new directory for the synthetic testbed",
    );
  }
  const staging = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  const retired = join(dirname(target), `.${basename(target)}.old-${process.pid}`);
  try {
    rmSync(staging, { recursive: true, force: true });
    writeDocs(join(staging, FOLDERS.universe), t.universe);
    writeDocs(join(staging, FOLDERS.generic), t.generic);
    writeDocs(join(staging, FOLDERS.heldOutUniverse), t.heldOut.universe);
    writeDocs(join(staging, FOLDERS.heldOutGeneric), t.heldOut.generic);
    writeDocs(join(staging, FOLDERS.heldOutRetold), t.heldOut.retold);
    writeFileSync(join(staging, TRUTH), JSON.stringify(t.truth, null, 1) + "\n");
    if (existsSync(target)) renameSync(target, retired);
    renameSync(staging, target);
    rmSync(retired, { recursive: true, force: true });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new InputError(`cannot write the synthetic testbed to ${target}: ${(err as Error).message}`, "choose a writable directory with free space", { cause: err });
  }
}

function isReplaceable(dir: string): boolean {
  if (!statSync(dir).isDirectory()) return false;
  const entries = readdirSync(dir);
  return entries.length === 0 || entries.includes(TRUTH);
}

function writeDocs(dir: string, docs: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  docs.forEach((doc, i) => writeFileSync(join(dir, `${String(i).padStart(5, "0")}.txt`), doc));
}

/** Reads back a testbed written by {@link writeSyntheticTestbed}. */
export function readSyntheticTestbed(dir: string): SyntheticTestbedText {
  const root = resolve(dir);
  const truthPath = join(root, TRUTH);
  if (!existsSync(truthPath)) {
    throw new InputError(`${root} holds no synthetic testbed (${TRUTH} is missing)`, "point at a testbed folder, or build one with `lethe testbed synthetic`");
  }
  const truth = readGroundTruth(truthPath);
  return {
    universe: readDocs(join(root, FOLDERS.universe)),
    generic: readDocs(join(root, FOLDERS.generic)),
    heldOut: {
      universe: readDocs(join(root, FOLDERS.heldOutUniverse)),
      generic: readDocs(join(root, FOLDERS.heldOutGeneric)),
      // Folders written before the retold sample existed have none: PrivLeak then has no non-members.
      retold: existsSync(join(root, FOLDERS.heldOutRetold)) ? readDocs(join(root, FOLDERS.heldOutRetold)) : [],
    },
    truth,
  };
}

/** A testbed's ground truth (truth.json), checked for the lists the evaluation reads. */
export function readGroundTruth(truthPath: string): GroundTruth {
  let truth: GroundTruth;
  try {
    truth = JSON.parse(readFileSync(truthPath, "utf8")) as GroundTruth;
  } catch (err) {
    throw new FileFormatError(`${truthPath} is not valid JSON: ${(err as Error).message}`, "rebuild the testbed with `lethe testbed synthetic`", { cause: err });
  }
  const lists = ["entities", "facts", "familiarityPrompts", "probabilityPrompts", "qa"] as const;
  const missing = lists.filter((k) => !Array.isArray(truth?.[k]));
  if (typeof truth?.seed !== "number" || missing.length > 0 || typeof truth.genericDictionary !== "object") {
    throw new FileFormatError(
      `${truthPath} lacks ${missing.length > 0 ? missing.join(", ") : "a seed or generic dictionary"}`,
      "rebuild the testbed with `lethe testbed synthetic`",
    );
  }
  return truth;
}

function readDocs(dir: string): string[] {
  if (!existsSync(dir)) {
    throw new FileFormatError(`synthetic testbed folder ${dir} is missing`, "rebuild the testbed with `lethe testbed synthetic`");
  }
  return readdirSync(dir)
    .filter((f) => /^\d+\.txt$/.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"));
}
