// Publishing a finished file: a copy of its own (never a link into the run directory) put in place
// by one rename, no partial file, nothing left behind, and one publisher per path at a time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { linkSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { InputError } from "../../src/errors.js";
import { sha256File } from "../../src/run/hash.js";
import { lockOutput, outputLockPath, publishFile } from "../../src/run/publish.js";
import { withTempDir } from "../helpers/temp.js";

test(
  "publishing twice leaves no temporary file, and a new source replaces the published file",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights v1");
    assert.equal(await publishFile(source, out), true);
    assert.equal(await publishFile(source, out), true);
    assert.equal(readFileSync(out, "utf8"), "weights v1");
    assert.deepEqual(readdirSync(dir).sort(), ["model.gguf", "out.gguf"]);
    const next = join(dir, "model2.gguf");
    writeFileSync(next, "weights v2");
    await publishFile(next, out);
    assert.equal(readFileSync(out, "utf8"), "weights v2");
    assert.deepEqual(readdirSync(dir).sort(), ["model.gguf", "model2.gguf", "out.gguf"]);
  }),
);

test(
  "the published file is a copy: writing into it leaves the run directory's file intact, and the other way round",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights v1");
    await publishFile(source, out);
    assert.notEqual(statSync(out).ino, statSync(source).ino);
    writeFileSync(out, "edited by the user");
    assert.equal(readFileSync(source, "utf8"), "weights v1");
    await publishFile(source, out);
    writeFileSync(source, "damaged run dir");
    assert.equal(readFileSync(out, "utf8"), "weights v1");
  }),
);

test(
  "publishing over a hard link left by an older lethe breaks the link",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights v1");
    linkSync(source, out);
    await publishFile(source, out);
    assert.notEqual(statSync(out).ino, statSync(source).ino);
    writeFileSync(out, "edited by the user");
    assert.equal(readFileSync(source, "utf8"), "weights v1");
  }),
);

test(
  "given the source's hash, an output that already holds it is not rewritten",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights v1");
    const sha256 = await sha256File(source);
    assert.equal(await publishFile(source, out, { sha256 }), true);
    const ino = statSync(out).ino;
    assert.equal(await publishFile(source, out, { sha256 }), false);
    assert.equal(statSync(out).ino, ino);
    writeFileSync(out, "weights v0");
    assert.equal(await publishFile(source, out, { sha256 }), true);
    assert.equal(readFileSync(out, "utf8"), "weights v1");
  }),
);

test(
  "a second publisher to the same output is refused, naming the process that holds it",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights of run 2");
    writeFileSync(out, "weights of run 1");
    const fixture = fileURLToPath(new URL("./fixtures/hold-output.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, out], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
        child.on("exit", (code) => reject(new Error(`holder exited (${code}) before taking the lock: ${stderr}`)));
      });
      await assert.rejects(publishFile(source, out), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.match(err.message, new RegExp(`^--out ${out} is being written by another lethe process \\(pid ${child.pid},`));
        return true;
      });
      await assert.rejects(lockOutput(out), /is being written by another lethe process/);
      assert.equal(readFileSync(out, "utf8"), "weights of run 1", "the refused publisher wrote nothing");
    } finally {
      child.stdin.end();
      assert.equal(await exited, 0, stderr);
    }
    await publishFile(source, out);
    assert.equal(readFileSync(out, "utf8"), "weights of run 2");
    assert.deepEqual(readdirSync(dir).sort(), ["model.gguf", "out.gguf"], `no ${outputLockPath(out)} is left behind`);
  }),
);

test(
  "a run holding the output's lock publishes with it; another lock of the same output in the process is refused",
  withTempDir("publish", async (dir) => {
    const source = join(dir, "model.gguf");
    const out = join(dir, "out.gguf");
    writeFileSync(source, "weights");
    const lock = await lockOutput(out);
    try {
      await assert.rejects(publishFile(source, out), /already being written by this process/);
      await publishFile(source, out, { lock });
      assert.equal(readFileSync(out, "utf8"), "weights");
    } finally {
      await lock.release();
    }
  }),
);
