// Temporary folders for the tests: fresh folders under the OS temp dir that remove themselves.
import { AsyncResource } from "node:async_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext } from "node:test";

/**
 * The test file's own async scope, taken when this module loads (at the file's top level). node:test
 * attaches `after` to whatever test, suite or hook is running; registered from this scope it
 * attaches to the file, wherever tempDir is called.
 */
const fileScope = new AsyncResource("lethe-temp-dir");
const fileDirs: string[] = [];

function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function make(name: string): string {
  return mkdtempSync(join(tmpdir(), `lethe-${name}-`));
}

/**
 * A fresh folder `lethe-NAME-XXXXXX` under the OS temp dir, removed (recursive, force) when the test
 * file finishes, wherever in the file it is made. The `after` hook that removes the file's folders
 * is registered with the first one, so a module that only imports this one registers nothing.
 */
export function tempDir(name = "test"): string {
  const dir = make(name);
  if (fileDirs.push(dir) === 1) fileScope.runInAsyncScope(() => after(() => fileDirs.forEach(remove)));
  return dir;
}

/** A fresh folder like tempDir's, removed as soon as the test `t` finishes. */
export function testTempDir(t: TestContext, name = "test"): string {
  const dir = make(name);
  t.after(() => remove(dir));
  return dir;
}

/**
 * A test function that runs `fn` with a fresh folder of its own, removed when that test finishes:
 * `test("…", withTempDir("lock", async (dir) => { … }))`.
 */
export function withTempDir(name: string, fn: (dir: string) => void | Promise<void>): (t: TestContext) => Promise<void> {
  return async (t) => fn(testTempDir(t, name));
}
