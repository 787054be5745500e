// `lethe pretrain` as a process: kill -9 after the first checkpoint, rerun the same command, and
// the run continues to exactly the curve of an uninterrupted run.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { runCli } from "../../../src/cli/main.js";
import { pretrain } from "../../../src/testbed/pretrain/index.js";
import { memoryStream } from "../../cli/helpers.js";
import { tempDir } from "../../helpers/temp.js";
import { MICRO, writeMicroCorpus } from "./helpers.js";

const mainTs = resolve("src/cli/main.ts");
// The sources, whether or not a build exists in dist/, through tsx like the test runner.
const nodeArgs = ["--import", "tsx", "--input-type=module", "-e", `await (await import(${JSON.stringify(mainTs)})).main(process.argv.slice(1))`];

const root = tempDir("pretrain-cli");
const corpus = writeMicroCorpus(root);
const config = join(root, "micro.json");
// Enough steps that the run outlives the moment its first checkpoint appears.
const STEPS = 150;
writeFileSync(config, JSON.stringify({ ...MICRO, steps: STEPS, checkpointEvery: 10 }));
const command = (out: string) => ["pretrain", "--corpus", corpus.join(","), "--size", config, "--out", out, "--seed", "5", "--threads", "1", "--json"];

function spawnCli(args: string[]) {
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const lines = r.stdout.trim().split("\n");
  return { status: r.status, json: JSON.parse(lines[lines.length - 1]!) as Record<string, any>, stderr: r.stderr };
}

test("kill -9 after the first checkpoint, then the same command finishes the same curve", async () => {
  const out = join(root, "killed.gguf");
  const checkpoints = join(`${out}.run`, "checkpoints");
  const child = spawn(process.execPath, [...nodeArgs, ...command(out)], { stdio: "ignore" });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on("exit", (_code, signal) => done(signal)));
  await new Promise<void>((done, fail) => {
    const poll = setInterval(() => {
      if (existsSync(checkpoints) && readdirSync(checkpoints).length > 0) {
        clearInterval(poll);
        child.kill("SIGKILL");
        done();
      }
    }, 5);
    child.on("exit", () => {
      clearInterval(poll);
      fail(new Error("the run ended before its first checkpoint was seen"));
    });
  });
  assert.equal(await exited, "SIGKILL");
  assert.equal(existsSync(out), false, "a killed run leaves no model at --out");

  const resumed = spawnCli(command(out));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.ok(resumed.json.resumedFrom >= 10 && resumed.json.resumedFrom < STEPS, `resumed from ${resumed.json.resumedFrom}`);
  const history = JSON.parse(readFileSync(resumed.json.historyFile, "utf8"));

  const whole = await pretrain({ corpus, out: join(root, "whole.gguf"), size: config, seed: 5, threads: 1 });
  assert.deepEqual(history.loss, whole.history.loss);
  assert.deepEqual(history.evals, whole.history.evals);
  assert.ok(readFileSync(out).equals(readFileSync(whole.model)));

  const again = spawnCli(command(out));
  assert.equal(again.status, 0);
  assert.equal(again.json.cached, true);
});

/** Runs the CLI in this process, with in-memory streams. */
async function runInProcess(args: string[]) {
  const stdout = memoryStream();
  const stderr = memoryStream();
  const status = await runCli(args, { stdout, stderr, env: { NO_COLOR: "1" }, cwd: root });
  return { status, stdout: stdout.text(), stderr: stderr.text() };
}

test("--help describes the command, its sizes and resuming", async () => {
  const r = await runInProcess(["pretrain", "--help"]);
  assert.equal(r.status, 0);
  for (const text of ["--corpus PATH", "--size tiny|small|FILE", "--out FILE", "--run-dir DIR", "--tokenizer FILE", "--vocab N", "--steps N", "--seed N", "--eval-every N", "rerun the same command"]) {
    assert.ok(r.stdout.includes(text), `help mentions ${text}`);
  }
});

test("bad input exits 1 with the error as JSON, before any run directory is made", async () => {
  const cases: [string[], RegExp][] = [
    [["--corpus", "nope"], /corpus path .*nope does not exist/],
    [["--corpus", corpus[0]!, "--vocab", "100"], /vocab 100 is too small/],
    [["--corpus", corpus[0]!, "--size", "huge"], /size "huge" is neither tiny, small nor an existing JSON config file/],
  ];
  for (const [args, message] of cases) {
    const r = await runInProcess(["pretrain", ...args, "--out", "x.gguf", "--json"]);
    assert.equal(r.status, 1);
    const { error } = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(error.type, "InputError");
    assert.match(error.message, message);
    assert.ok(error.fix.length > 0);
  }
  assert.equal(existsSync(join(root, "x.gguf.run")), false);
});
