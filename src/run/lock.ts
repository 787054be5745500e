/**
 * A lock file so that two processes never work in the same run directory at once, or write the same
 * output file. It records the holder's pid and host; a lock whose process is gone (killed, crashed,
 * machine rebooted) is stale and is taken over by the next run.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { InputError } from "../errors.js";

/** The lock file's name inside a run directory. */
export const LOCK_FILE = "run.lock";

/** What a lock file records about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  /** The holder's command line, to tell the user what is running. */
  command: string;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(h.pid) && typeof h.hostname === "string" && typeof h.startedAt === "string") {
      return { pid: h.pid as number, hostname: h.hostname, startedAt: h.startedAt, command: String(h.command ?? "") };
    }
  } catch {
    // Not JSON: reported by the caller as an unreadable lock.
  }
  return undefined;
}

/**
 * Whether the process holding a lock may still be running. Only a process on this host can be
 * checked; signal 0 tests for existence, and EPERM means it exists but belongs to someone else.
 */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What a lock guards, for the messages that refuse it: `what` names it (e.g. the run directory's
 * path), `busy` says what another process is doing there, and `busyFix` what to do about it.
 */
export interface LockSubject {
  /** The guarded thing, e.g. `runs/x` or `--out model.gguf`. */
  what: string;
  /** Completes "`what` is ... (pid 12, since ...)", e.g. "in use by another lethe process". */
  busy: string;
  /** The fix when another process holds it; the lock file's path is appended. */
  busyFix: string;
  /** The refusal when this process holds it already. */
  self: string;
  selfFix: string;
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder) => a?.pid === b.pid && a.startedAt === b.startedAt && a.hostname === b.hostname;

/** An acquired lock (of a run directory or an output); release it when done (it is also removed if the process exits). */
export class RunLock {
  private released = false;
  // A process that exits without releasing (an uncaught error, process.exit) still frees the
  // directory; only kill -9 and crashes leave a stale lock behind.
  private readonly onExit = () => {
    try {
      if (sameHolder(parseHolder(readFileSync(this.path, "utf8")), this.holder)) unlinkSync(this.path);
    } catch {
      // Already gone; nothing to clean up.
    }
  };

  private constructor(
    /** The lock file. */
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    process.once("exit", this.onExit);
  }

  /**
   * Takes the lock of the run directory `dir`, taking over a stale one. Throws InputError when a
   * live process holds it (or one on another host, which cannot be checked), or when the lock file
   * is unreadable.
   */
  static async acquire(dir: string): Promise<RunLock> {
    return RunLock.acquireFile(join(dir, LOCK_FILE), {
      what: dir,
      busy: "in use by another lethe process",
      busyFix: "wait for it to finish or use another --run-dir",
      self: `${dir} is already open in this process`,
      selfFix: "close the other RunDir on it first",
    });
  }

  /** Takes the lock file `path` (see {@link acquire}), refusing in the words of `subject`. */
  static async acquireFile(path: string, subject: LockSubject): Promise<RunLock> {
    const me: LockHolder = {
      pid: process.pid,
      hostname: hostname(),
      startedAt: new Date().toISOString(),
      command: process.argv.slice(1).join(" "),
    };
    // The lock is written in full under a unique name, then hard-linked to its final name: the link
    // fails if a lock exists, and no reader can ever see a half-written one.
    const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(draft, JSON.stringify(me) + "\n");
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(draft, path);
          return new RunLock(path, me);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        const text = await readFile(path, "utf8").catch(() => undefined);
        if (text === undefined) continue; // released meanwhile; try again
        const holder = parseHolder(text);
        if (holder === undefined) {
          throw new InputError(`${path} is not a lethe lock file`, `delete ${path} if no lethe process is using ${subject.what}`);
        }
        if (holder.pid === process.pid && holder.hostname === me.hostname) throw new InputError(subject.self, subject.selfFix);
        if (holderAlive(holder)) {
          const where = holder.hostname === me.hostname ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.hostname}`;
          throw new InputError(
            `${subject.what} is ${subject.busy} (${where}, since ${holder.startedAt}: ${holder.command})`,
            `${subject.busyFix}; if that process is not lethe, delete ${path}`,
          );
        }
        await RunLock.removeStale(path, holder);
      }
      throw new InputError(`could not lock ${subject.what}: other processes keep taking it`, "run one lethe process at a time on it");
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  }

  // Moves the stale lock aside under a name of our own, so that of two processes taking over the
  // same stale lock only one succeeds. Should the file moved turn out not to be the stale lock (a
  // racing process just replaced it), it is linked back.
  private static async removeStale(path: string, stale: LockHolder): Promise<void> {
    const aside = `${path}.stale.${process.pid}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const moved = parseHolder(await readFile(aside, "utf8"));
    if (!sameHolder(moved, stale)) await link(aside, path).catch(() => undefined);
    await unlink(aside);
  }

  /** Removes the lock file, if it is still this lock's. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    const current = parseHolder(await readFile(this.path, "utf8").catch(() => ""));
    if (sameHolder(current, this.holder)) await unlink(this.path).catch(() => undefined);
  }
}
