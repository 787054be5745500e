import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, RunLock, holderAlive } from "../../src/run/lock.js";
import { InputError } from "../../src/errors.js";
import { withTempDir } from "../helpers/temp.js";

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(child.status, 0);
  return child.pid as number;
}

function writeLock(dir: string, pid: number, host = hostname()) {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, hostname: host, startedAt: "2024-01-01T00:00:00.000Z", command: "lethe unlearn" }));
}

test(
  "acquire writes the holder, release removes the lock, and it can be taken again",
  withTempDir("lock", async (dir) => {
    const lock = await RunLock.acquire(dir);
    const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid: number; hostname: string };
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.hostname, hostname());
    await lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    const again = await RunLock.acquire(dir);
    await again.release();
    assert.deepEqual(readdirSync(dir), [], "no drafts or stale files are left behind");
  }),
);

test(
  "a second acquire in the same process is refused",
  withTempDir("lock", async (dir) => {
    const lock = await RunLock.acquire(dir);
    try {
      await assert.rejects(RunLock.acquire(dir), (err: unknown) => err instanceof InputError && err.message === `${dir} is already open in this process`);
    } finally {
      await lock.release();
    }
  }),
);

test(
  "a lock held by a live process is refused with who holds it",
  withTempDir("lock", async (dir) => {
    writeLock(dir, 1); // pid 1 always exists
    await assert.rejects(RunLock.acquire(dir), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.message, `${dir} is in use by another lethe process (pid 1, since 2024-01-01T00:00:00.000Z: lethe unlearn)`);
      assert.equal(err.fix, `wait for it to finish or use another --run-dir; if that process is not lethe, delete ${join(dir, LOCK_FILE)}`);
      return true;
    });
  }),
);

test(
  "a stale lock from a dead pid is taken over",
  withTempDir("lock", async (dir) => {
    const pid = deadPid();
    writeLock(dir, pid);
    assert.equal(holderAlive({ pid, hostname: hostname(), startedAt: "", command: "" }), false);
    const lock = await RunLock.acquire(dir);
    assert.equal(lock.holder.pid, process.pid);
    await lock.release();
    assert.deepEqual(readdirSync(dir), []);
  }),
);

test(
  "a lock from another host cannot be checked, so it is respected",
  withTempDir("lock", async (dir) => {
    writeLock(dir, deadPid(), "elsewhere.example");
    await assert.rejects(RunLock.acquire(dir), /in use by another lethe process \(pid \d+ on host elsewhere\.example/);
  }),
);

test(
  "an unreadable lock file is reported, not overwritten",
  withTempDir("lock", async (dir) => {
    writeFileSync(join(dir, LOCK_FILE), "garbage");
    await assert.rejects(RunLock.acquire(dir), (err: unknown) => err instanceof InputError && err.message === `${join(dir, LOCK_FILE)} is not a lethe lock file`);
    assert.equal(readFileSync(join(dir, LOCK_FILE), "utf8"), "garbage");
  }),
);

test(
  "release leaves a lock that is no longer this one's alone",
  withTempDir("lock", async (dir) => {
    const lock = await RunLock.acquire(dir);
    writeLock(dir, 1);
    await lock.release();
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid, 1);
  }),
);
