/**
 * Puts a finished file from a run directory at its public path (`--out`).
 *
 * The public file is a copy of its own, never a hard link: with a link, writing into `--out` would
 * also change the run directory's file, and a rerun would then trust (or publish) the damaged file.
 * `copyFile` with COPYFILE_FICLONE lets the kernel share the blocks copy-on-write where the file
 * system can (btrfs, XFS), so the copy costs no space or time there; elsewhere the bytes are copied.
 * The copy is written beside `out` and renamed over it, so `out` never holds a partial file.
 *
 * Two runs with different run directories may name the same `out`: the path is locked (a lock file
 * `<out>.lock`, see lock.ts) while a run writes it, and a second run is refused, naming the first.
 */
import { constants } from "node:fs";
import { copyFile, rename, rm, stat } from "node:fs/promises";
import { LetheError } from "../errors.js";
import { sha256File } from "./hash.js";
import { RunLock } from "./lock.js";

/** The lock file guarding `out`. */
export const outputLockPath = (out: string): string => `${out}.lock`;

/**
 * Locks the output path `out` (given by `flag`, for messages) for as long as the caller works
 * towards it: take it before the long work, so a second run aimed at the same path is refused at
 * once rather than after hours. Throws InputError when another live process holds it.
 */
export function lockOutput(out: string, flag = "--out"): Promise<RunLock> {
  return RunLock.acquireFile(outputLockPath(out), {
    what: `${flag} ${out}`,
    busy: "being written by another lethe process",
    busyFix: `wait for it to finish or choose another ${flag}`,
    self: `${flag} ${out} is already being written by this process`,
    selfFix: `give each run its own ${flag}`,
  });
}

/** Options for {@link publishFile}. */
export interface PublishOptions {
  /**
   * The source's hex SHA-256 when known (from the stage record): an `out` that already hashes to it
   * is left as it is. Default: always copy.
   */
  sha256?: string;
  /**
   * The caller's {@link lockOutput} lock of `out`, held for its whole run. Default: the lock is
   * taken for the copy and released after it.
   */
  lock?: RunLock;
  /** Names `out` in messages; default `--out`. */
  flag?: string;
}

/**
 * Copies `source` to `out` (see the module comment). Returns false when `out` already held the
 * content (`opts.sha256`) and was left alone, true when it was written.
 */
export async function publishFile(source: string, out: string, opts: PublishOptions = {}): Promise<boolean> {
  if (opts.lock !== undefined && opts.lock.path !== outputLockPath(out)) {
    throw new LetheError(`publishing ${out} under the lock ${opts.lock.path}, which guards another path`, "pass the lock lockOutput gave for this path");
  }
  const lock = opts.lock ?? (await lockOutput(out, opts.flag));
  try {
    if (opts.sha256 !== undefined) {
      const current = await stat(out).catch(() => undefined);
      const same = current?.isFile() && current.size === (await stat(source)).size && (await sha256File(out)) === opts.sha256;
      if (same) return false;
    }
    const tmp = `${out}.tmp`;
    await rm(tmp, { force: true });
    try {
      await copyFile(source, tmp, constants.COPYFILE_FICLONE);
      await rename(tmp, out);
    } finally {
      await rm(tmp, { force: true });
    }
    return true;
  } finally {
    if (opts.lock === undefined) await lock.release();
  }
}
