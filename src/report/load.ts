/**
 * Reads the report's inputs from disk: eval JSON files, loss history files and run directories
 * (their `manifest.json` and the JSON files in them and in their direct subfolders).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { FileFormatError, InputError } from "../errors.js";
import { collectFromJson, type Collected } from "./collect.js";

/** JSON files larger than this are not report inputs (a run directory may hold big ones). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** File names too generic to name a model or a curve on their own; their folder's name is added. */
const GENERIC_NAMES = new Set(["eval", "evals", "results", "history", "losses", "loss", "metrics", "report", "manifest"]);

/** Folders of a run directory that never hold report inputs. */
const SKIPPED_DIRS = new Set(["checkpoints", "node_modules"]);

/** What the inputs contributed, in input order, and the files read. */
export interface LoadedInputs {
  collected: Collected[];
  sources: string[];
}

/** The name a file's untitled contents go by: its base name, prefixed by its folder's when generic. */
export function sourceName(file: string): string {
  const base = basename(file, extname(file));
  return GENERIC_NAMES.has(base.toLowerCase()) ? `${basename(dirname(file))} · ${base}` : base;
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    const why = text.trim() === "" ? "it is empty" : (err as Error).message;
    throw new FileFormatError(`${file} is not valid JSON: ${why}`, "pass the JSON file written by `lethe eval`, or fix the file");
  }
}

const contributes = (c: Collected) => c.suites.length > 0 || c.losses.length > 0 || c.models.length > 0;

/** The JSON files of a run directory and of its direct subfolders, manifest first, then by name. */
async function runDirFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    if (e.isFile() && e.name.endsWith(".json")) out.push(join(dir, e.name));
    else if (e.isDirectory() && !SKIPPED_DIRS.has(e.name)) {
      const inner = (await readdir(join(dir, e.name), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const f of inner) if (f.isFile() && f.name.endsWith(".json")) out.push(join(dir, e.name, f.name));
    }
  }
  const manifest = join(dir, "manifest.json");
  return out.includes(manifest) ? [manifest, ...out.filter((f) => f !== manifest)] : out;
}

/**
 * Reads every input. A file given directly must be valid JSON (else FileFormatError); inside a run
 * directory, unreadable or unrelated JSON files are skipped with a note. Throws InputError for a
 * missing path, and when the inputs hold neither suite results nor loss histories.
 */
export async function loadReportInputs(paths: readonly string[]): Promise<LoadedInputs> {
  if (paths.length === 0) throw new InputError("no report input given", "pass an eval JSON file written by `lethe eval` or a run directory");
  const collected: Collected[] = [];
  const sources: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new InputError(`report input ${path} does not exist`, "pass an eval JSON file written by `lethe eval` or a run directory");
    if (info.isDirectory()) {
      const files = await runDirFiles(path);
      let found = false;
      for (const file of files) {
        const size = (await stat(file)).size;
        if (size > MAX_JSON_BYTES) continue;
        let value: unknown;
        try {
          value = await readJsonFile(file);
        } catch (err) {
          collected.push({ suites: [], models: [], losses: [], notes: [`${file} skipped: ${(err as Error).message}`] });
          continue;
        }
        const c = collectFromJson(value, basename(file) === "manifest.json" ? basename(path) : sourceName(file));
        if (contributes(c)) {
          collected.push(c);
          sources.push(file);
          found = true;
        }
      }
      if (!found) collected.push({ suites: [], models: [], losses: [], notes: [`run directory ${path} holds no evaluation results or loss histories`] });
    } else {
      const c = collectFromJson(await readJsonFile(path), sourceName(path));
      if (!contributes(c)) c.notes.push(`${path} holds no suite results, model descriptions or loss histories`);
      collected.push(c);
      sources.push(path);
    }
  }
  if (collected.every((c) => c.suites.length === 0 && c.losses.length === 0)) {
    throw new InputError(
      `the report inputs (${paths.join(", ")}) hold no evaluation results and no loss history`,
      "pass the JSON written by `lethe eval --out`, or a run directory that has one",
    );
  }
  return { collected, sources };
}
