// Fuzzing (issue 13): seeded mutations of valid model (GGUF), labels, manifest and tokenizer files,
// run through lethe's readers and through the paths that hand a model to llama.cpp and the trainer.
// Every case must end in success or a typed LetheError: never an untyped exception, a hang, or a
// native abort. The cases run in a child process (fuzz-worker.ts) so that an abort or a hang is a
// test failure naming the case, not the end of the test runner; after a crash the worker is
// restarted at the next case.
//
// LETHE_FUZZ_SEED=<n> runs another seed (default 13). A failure prints the seed, the case and its
// mutation, and the command that reruns that case alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { PLAN, TOTAL_CASES } from "./plan.js";
import { testTempDir } from "../helpers/temp.js";

const SEED = Number(process.env.LETHE_FUZZ_SEED ?? 13);
if (!Number.isSafeInteger(SEED) || SEED < 0) throw new Error(`LETHE_FUZZ_SEED must be a non-negative integer, got ${process.env.LETHE_FUZZ_SEED}`);
/** A case that takes longer than this has hung (the slowest ones, through the trainer, take ~0.1 s). */
const CASE_TIMEOUT_MS = 15_000;
/** Making the tiny model and training the tokenizer happen before the first case. */
const SETUP_TIMEOUT_MS = 60_000;

interface CaseLine {
  i: number;
  target: string;
  what: string;
  started?: boolean;
  results?: string[];
  ms?: number;
}

interface WorkerRun {
  finished: CaseLine[];
  /** The case running when the worker died or hung. */
  running?: CaseLine;
  /** How the worker ended when it did not finish its cases: a signal, an exit code, or "hung". */
  death?: string;
  stderr: string;
}

/** Runs cases [start, TOTAL_CASES) in one worker until they finish, it dies, or a case hangs. */
function runWorker(dir: string, start: number): Promise<WorkerRun> {
  const worker = fileURLToPath(new URL("./fuzz-worker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), worker, dir, String(SEED), String(start), String(TOTAL_CASES)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: WorkerRun = { finished: [], stderr: "" };
  let pending = "";
  let hung = false;
  let watchdog = setTimeout(() => ((hung = true), child.kill("SIGKILL")), SETUP_TIMEOUT_MS);
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const text of lines) {
      const line = JSON.parse(text) as CaseLine;
      if (line.started) {
        run.running = line;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ((hung = true), child.kill("SIGKILL")), CASE_TIMEOUT_MS);
      } else {
        run.finished.push(line);
        run.running = undefined;
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (run.stderr = (run.stderr + chunk).slice(-4000)));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      if (hung) run.death = "hung";
      else if (signal || code !== 0 || run.running) run.death = signal ?? `exit code ${code}`;
      resolve(run);
    });
  });
}

test(`fuzz: ${TOTAL_CASES} seeded mutations of model, labels, manifest and tokenizer files end in success or a typed error (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  const dir = testTempDir(t, "fuzz");
  const failures: string[] = [];
  const lines: CaseLine[] = [];
  const rerun = (i: number) => `rerun: node --import tsx test/fuzz/fuzz-worker.ts ${join(tmpdir(), "fuzz-case")} ${SEED} ${i} ${i + 1}`;
  let next = 0;
  while (next < TOTAL_CASES) {
    const run = await runWorker(dir, next);
    lines.push(...run.finished);
    if (!run.death) break;
    // A worker that dies between cases died making the next one (a bug of the fuzzer itself).
    const at = run.running?.i ?? (run.finished.at(-1)?.i ?? next - 1) + 1;
    const what = run.running ? `${run.running.target}: ${run.running.what}` : "while making the mutation";
    const why = run.death === "hung" ? `hung (no result in ${CASE_TIMEOUT_MS / 1000} s)` : `killed the process (${run.death})`;
    // The lines that say why: an assertion or exception, not stack frames or node's banner.
    const reason = run.stderr
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 1 && !l.startsWith("at ") && !l.startsWith("Node.js v") && !/^[\^}{]+$/.test(l))
      .slice(-3)
      .join(" / ");
    failures.push(`case ${at} (${what}) ${why}; stderr: ${reason}; ${rerun(at)}`);
    if (!run.running) break;
    next = at + 1;
  }
  for (const line of lines) {
    for (const result of line.results ?? []) {
      if (result.includes("untyped:")) failures.push(`case ${line.i} (${line.target}: ${line.what}): ${result}; ${rerun(line.i)}`);
    }
  }
  assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} case(s) failed`);

  // The fuzzer must exercise what it claims to: every case ran, some mutated models reached
  // llama.cpp and the trainer, and both successes and typed errors occurred for each target.
  assert.equal(lines.length, TOTAL_CASES);
  const count = (pattern: RegExp) => lines.filter((l) => l.results?.some((r) => pattern.test(r))).length;
  assert.ok(count(/^llama\.cpp ok/) >= 10, "mutated models that llama.cpp loaded and ran");
  assert.ok(count(/^llama\.cpp typed/) >= 5, "mutated models that llama.cpp refused with an error");
  assert.ok(count(/^trainer (ok|typed)/) >= 10, "mutated models given to the trainer");
  for (const [target] of PLAN) {
    const results = lines.filter((l) => l.target === target).flatMap((l) => l.results ?? []);
    assert.ok(results.some((r) => / typed:/.test(r)), `${target}: some mutations were refused with a typed error`);
  }
});
