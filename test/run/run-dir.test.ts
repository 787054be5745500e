import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RunDir, STAGING_DIR, checkOutputName } from "../../src/run/run-dir.js";
import { LOCK_FILE } from "../../src/run/lock.js";
import { MANIFEST_FILE, parseManifest } from "../../src/run/manifest.js";
import { FileFormatError, InputError } from "../../src/errors.js";
import { withTempDir } from "../helpers/temp.js";

/** A test function given the path of a run directory (not made yet) in a fresh temp folder of its own. */
function withDir(fn: (dir: string) => Promise<void>) {
  return withTempDir("rundir", (root) => fn(join(root, "run")));
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as { kind: string; version: number; stages: unknown[] };

test(
  "open creates the directory, a manifest of its kind and a lock; close releases the lock",
  withDir(async (dir) => {
    const run = await RunDir.open(dir, { kind: "unlearn" });
    assert.deepEqual(readManifest(dir).kind, "unlearn");
    assert.equal(readManifest(dir).version, 1);
    assert.ok(existsSync(join(dir, LOCK_FILE)));
    await run.close();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    assert.deepEqual(readdirSync(dir).sort(), [MANIFEST_FILE], "no manifest.json.tmp is left");
  }),
);

test(
  "outputs are written to tmpPath and appear under their name only on commit",
  withDir(async (dir) => {
    const run = await RunDir.open(dir, { kind: "pretrain" });
    try {
      const tmp = run.tmpPath("checkpoints/step-1.bin");
      writeFileSync(tmp, "weights");
      assert.equal(run.has("checkpoints/step-1.bin"), false);
      await run.commit("checkpoints/step-1.bin");
      assert.equal(readFileSync(join(dir, "checkpoints/step-1.bin"), "utf8"), "weights");
      assert.equal(existsSync(tmp), false);

      // A directory output replaces the previous directory as a whole.
      mkdirSync(run.tmpPath("model"));
      writeFileSync(join(run.tmpPath("model"), "old.txt"), "old");
      await run.commit("model");
      mkdirSync(run.tmpPath("model"));
      writeFileSync(join(run.tmpPath("model"), "new.txt"), "new");
      await run.commit("model");
      assert.deepEqual(readdirSync(join(dir, "model")), ["new.txt"]);

      await assert.rejects(run.commit("never-written"), /output "never-written" was never written/);
    } finally {
      await run.close();
    }
  }),
);

test(
  "reopening removes leftovers of an interrupted run from the staging area",
  withDir(async (dir) => {
    const run = await RunDir.open(dir, { kind: "pretrain" });
    writeFileSync(run.tmpPath("half.bin"), "partial");
    await run.close();
    const again = await RunDir.open(dir, { kind: "pretrain" });
    assert.equal(existsSync(join(dir, STAGING_DIR)), false);
    await again.close();
  }),
);

test(
  "a directory made by another command is refused unless forced",
  withDir(async (dir) => {
    await (await RunDir.open(dir, { kind: "pretrain" })).close();
    await assert.rejects(RunDir.open(dir, { kind: "unlearn" }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.message, `${dir} was made by \`lethe pretrain\`, not \`lethe unlearn\``);
      assert.equal(err.fix, `use another --run-dir, or pass --force to start over in ${dir}`);
      return true;
    });
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, "the refusal releases the lock");
    const forced = await RunDir.open(dir, { kind: "unlearn", force: true });
    assert.equal(forced.manifest.kind, "unlearn");
    assert.deepEqual(forced.manifest.stages, []);
    await forced.close();
  }),
);

test(
  "a non-empty directory without a manifest is refused unless forced",
  withDir(async (dir) => {
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine");
    await assert.rejects(RunDir.open(dir, { kind: "eval" }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.message, `${dir} is not empty and is not a lethe run directory (it has no manifest.json)`);
      return true;
    });
    await (await RunDir.open(dir, { kind: "eval", force: true })).close();
    assert.equal(readFileSync(join(dir, "notes.txt"), "utf8"), "mine");
  }),
);

test(
  "a path that is a file is refused",
  withDir(async (dir) => {
    mkdirSync(join(dir, ".."), { recursive: true });
    writeFileSync(dir, "x");
    await assert.rejects(RunDir.open(dir, { kind: "eval" }), InputError);
  }),
);

test(
  "a corrupt manifest is a FileFormatError that says how to recover",
  withDir(async (dir) => {
    await (await RunDir.open(dir, { kind: "unlearn" })).close();
    const path = join(dir, MANIFEST_FILE);
    writeFileSync(path, '{"version": 1, "kind": "unl');
    await assert.rejects(RunDir.open(dir, { kind: "unlearn" }), (err: unknown) => {
      assert.ok(err instanceof FileFormatError);
      assert.match(err.message, new RegExp(`^${path.replace(/[.]/g, "\\.")} is not valid JSON: `));
      assert.equal(err.fix, `delete ${path} to start the run over (finished stages will be recomputed)`);
      return true;
    });
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, "the failed open releases the lock");
    rmSync(path);
    await (await RunDir.open(dir, { kind: "unlearn", force: true })).close();
  }),
);

test("parseManifest explains what is wrong", () => {
  const ok = { version: 1, kind: "unlearn", createdAt: "t", updatedAt: "t", stages: [] };
  const record = { name: "labels", status: "done", configHash: "h", inputHashes: {}, outputs: ["x"], startedAt: "t" };
  assert.deepEqual(parseManifest(JSON.stringify({ ...ok, stages: [record] }), "m.json").stages[0], record);
  const problem = (value: unknown) => {
    try {
      parseManifest(typeof value === "string" ? value : JSON.stringify(value), "m.json");
    } catch (err) {
      assert.ok(err instanceof FileFormatError);
      return err.message;
    }
    assert.fail("expected a FileFormatError");
  };
  assert.equal(problem(""), "m.json is not valid JSON: it is empty");
  assert.equal(problem([]), "m.json is not a lethe run manifest (not a JSON object)");
  assert.equal(problem({ ...ok, version: 2 }), "m.json has manifest version 2; this lethe reads version 1");
  assert.equal(problem({ ...ok, kind: "" }), "m.json is damaged: kind is missing");
  assert.equal(problem({ ...ok, stages: {} }), "m.json is damaged: stages is not a list");
  assert.equal(problem({ ...ok, stages: [{ ...record, status: "maybe" }] }), "m.json is damaged: stages[0].status is not running, done or failed");
  assert.equal(problem({ ...ok, stages: [{ ...record, outputs: [1] }] }), "m.json is damaged: stages[0].outputs is not a list of names");
});

test("output names must stay inside the run directory and off lethe's own files", () => {
  for (const bad of ["", "/abs", "../up", "a/../b", "a//b", "./a", MANIFEST_FILE, LOCK_FILE, ".tmp/x", "manifest.json.tmp"]) {
    assert.throws(() => checkOutputName(bad), InputError, bad);
  }
  for (const good of ["model.gguf", "checkpoints/step-10.bin", ".hidden", "labels.jsonl"]) checkOutputName(good);
});
