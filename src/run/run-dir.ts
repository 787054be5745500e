/**
 * A run directory: the outputs of a multi-stage command, its manifest, a lock, and a staging area.
 *
 * Layout:
 *   manifest.json   what ran (see manifest.ts), replaced atomically
 *   run.lock        present while a process works here
 *   .tmp/           outputs being written; removed when the directory is opened or closed
 *   <outputs>       committed outputs, each moved out of .tmp/ by one rename
 *
 * Because an output only reaches its final name by rename once complete, a final name never holds
 * a half-written file, whatever kills the process.
 */
import { existsSync, mkdirSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { InputError, LetheError } from "../errors.js";
import { LOCK_FILE, RunLock } from "./lock.js";
import { MANIFEST_FILE, newManifest, parseManifest, type Manifest, type StageRecord } from "./manifest.js";

/** The staging directory inside a run directory. */
export const STAGING_DIR = ".tmp";

const RESERVED = new Set([MANIFEST_FILE, `${MANIFEST_FILE}.tmp`, LOCK_FILE, STAGING_DIR]);

/** Throws InputError unless `name` is a relative path inside a run directory that lethe does not reserve. */
export function checkOutputName(name: string): void {
  const parts = name.split(/[\\/]/);
  if (name === "" || isAbsolute(name) || parts.some((p) => p === "" || p === "." || p === "..") || RESERVED.has(parts[0])) {
    throw new InputError(
      `"${name}" cannot name an output of a run directory`,
      `use a relative path inside the run directory, not starting with ${[...RESERVED].join(", ")}`,
    );
  }
}

/** How to open a run directory. */
export interface OpenRunDirOptions {
  /** The command that owns the directory, e.g. `unlearn`; shown as `lethe <kind>` in errors. */
  kind: string;
  /**
   * Start over in a directory made by another command, or use a non-empty directory that is not a
   * run directory. Records of the previous run are dropped; its files stay until overwritten.
   */
  force?: boolean;
}

/** Files a directory may hold and still count as empty for a new run. */
const isLetheFile = (name: string) => RESERVED.has(name) || name.startsWith(`${LOCK_FILE}.`);

/** An open, locked run directory. Close it when done to release the lock. */
export class RunDir {
  private current: Manifest;

  private constructor(
    /** The directory, as the user gave it (for messages). */
    readonly dir: string,
    manifest: Manifest,
    /** Undefined for a directory opened read-only, which takes no lock and writes nothing. */
    private readonly lock: RunLock | undefined,
  ) {
    this.current = manifest;
  }

  /**
   * Opens an existing run directory of `kind` to read, without locking it, so that several workers
   * (label shards) can read one directory while each writes only a folder of its own. Every method
   * that would change the directory throws.
   */
  static async openReadOnly(dir: string, kind: string): Promise<RunDir> {
    const manifestPath = join(dir, MANIFEST_FILE);
    const text = await readFile(manifestPath, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new InputError(`${dir} is not a run directory (it has no ${MANIFEST_FILE})`, "run the earlier stages in it first");
      throw err;
    });
    const manifest = parseManifest(text, manifestPath);
    if (manifest.kind !== kind) throw new InputError(`${dir} was made by \`lethe ${manifest.kind}\`, not \`lethe ${kind}\``, "pass the run directory of the earlier stages");
    return new RunDir(dir, manifest, undefined);
  }

  private writable(what: string): void {
    if (this.lock === undefined) throw new LetheError(`${this.dir} is open read-only, so ${what} is not allowed`, "open the run directory with RunDir.open to change it");
  }

  /**
   * Opens (creating if needed) and locks a run directory for a command of `kind`. Refuses, with an
   * InputError, a directory made by another kind of command or a non-empty directory that is not a
   * run directory (unless `force`), and one another process is working in. A damaged manifest is a
   * FileFormatError. Leftovers of an interrupted run in the staging area are removed.
   */
  static async open(dir: string, opts: OpenRunDirOptions): Promise<RunDir> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new InputError(`cannot create run directory ${dir}: ${(err as Error).message}`, "choose a writable --run-dir", { cause: err });
    }
    if (!(await stat(dir)).isDirectory()) {
      throw new InputError(`${dir} is a file, not a run directory`, "use another --run-dir");
    }
    const lock = await RunLock.acquire(dir);
    try {
      const manifestPath = join(dir, MANIFEST_FILE);
      const text = await readFile(manifestPath, "utf8").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw err;
      });
      let manifest: Manifest;
      if (text === undefined) {
        const foreign = (await readdir(dir)).filter((f) => !isLetheFile(f));
        if (foreign.length > 0 && !opts.force) {
          throw new InputError(
            `${dir} is not empty and is not a lethe run directory (it has no ${MANIFEST_FILE})`,
            "use a new or empty --run-dir, or pass --force to use this one anyway",
          );
        }
        manifest = newManifest(opts.kind);
      } else {
        manifest = parseManifest(text, manifestPath);
        if (manifest.kind !== opts.kind) {
          if (!opts.force) {
            throw new InputError(
              `${dir} was made by \`lethe ${manifest.kind}\`, not \`lethe ${opts.kind}\``,
              `use another --run-dir, or pass --force to start over in ${dir}`,
            );
          }
          manifest = newManifest(opts.kind);
        }
      }
      const runDir = new RunDir(dir, manifest, lock);
      await rm(join(dir, STAGING_DIR), { recursive: true, force: true });
      await runDir.save();
      return runDir;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** The manifest as last saved. */
  get manifest(): Readonly<Manifest> {
    return this.current;
  }

  /** The record of stage `name`, if any. */
  record(name: string): StageRecord | undefined {
    return this.current.stages.find((s) => s.name === name);
  }

  /** Where a committed output lives. */
  path(name: string): string {
    checkOutputName(name);
    return join(this.dir, name);
  }

  /**
   * Where to write an output before committing it; its parent directory exists. Write the output
   * here (a file or a directory) and call {@link commit} once it is complete.
   */
  tmpPath(name: string): string {
    checkOutputName(name);
    const path = join(this.dir, STAGING_DIR, name);
    mkdirSync(dirname(path), { recursive: true });
    return path;
  }

  /** Whether an output exists under its final name. */
  has(name: string): boolean {
    return existsSync(this.path(name));
  }

  /**
   * Moves a finished output from its tmp path to its final name. A file replaces the old one in a
   * single rename; a directory output first removes the old directory, which rename cannot replace.
   */
  async commit(name: string): Promise<void> {
    this.writable(`committing ${name}`);
    const from = join(this.dir, STAGING_DIR, name);
    const to = this.path(name);
    const staged = await stat(from).catch(() => undefined);
    if (staged === undefined) {
      throw new LetheError(`output "${name}" was never written to ${from}`, "write the output to runDir.tmpPath(name) before committing it");
    }
    await mkdir(dirname(to), { recursive: true });
    if (staged.isDirectory()) await rm(to, { recursive: true, force: true });
    await rename(from, to);
  }

  /** Removes an output's staged copy, e.g. after the stage writing it failed. */
  async discard(name: string): Promise<void> {
    await rm(join(this.dir, STAGING_DIR, name), { recursive: true, force: true });
  }

  /** Adds a stage record at the end, or replaces the one of that name where it is, and saves. */
  async putRecord(record: StageRecord): Promise<void> {
    this.writable(`recording stage ${record.name}`);
    const stages = this.current.stages.some((s) => s.name === record.name)
      ? this.current.stages.map((s) => (s.name === record.name ? record : s))
      : [...this.current.stages, record];
    this.current = { ...this.current, stages };
    await this.save();
  }

  /** Drops the records of the named stages (their outputs must be recomputed) and saves. */
  async dropRecords(names: readonly string[]): Promise<void> {
    this.writable("dropping stage records");
    const drop = new Set(names);
    if (!this.current.stages.some((s) => drop.has(s.name))) return;
    this.current = { ...this.current, stages: this.current.stages.filter((s) => !drop.has(s.name)) };
    await this.save();
  }

  /** Removes the staging area and releases the lock. The RunDir must not be used afterwards. */
  async close(): Promise<void> {
    if (this.lock === undefined) return;
    try {
      await rm(join(this.dir, STAGING_DIR), { recursive: true, force: true });
    } finally {
      await this.lock.release();
    }
  }

  // Written to a temporary file, flushed to disk and renamed over the old manifest, so a crash
  // leaves either the old or the new manifest, never a mix.
  private async save(): Promise<void> {
    this.current = { ...this.current, updatedAt: new Date().toISOString() };
    const path = join(this.dir, MANIFEST_FILE);
    const file = await open(`${path}.tmp`, "w");
    try {
      await file.writeFile(JSON.stringify(this.current, null, 2) + "\n");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(`${path}.tmp`, path);
  }
}
