// Pretraining checkpoint files: names, stale and damaged checkpoints.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError } from "../../../src/errors.js";
import { RunDir } from "../../../src/run/run-dir.js";
import { checkpointName, checkpointState, latestCheckpoint } from "../../../src/testbed/pretrain/checkpoint.js";
import { tempDir } from "../../helpers/temp.js";

test("checkpointName pads the step so names sort by step", () => {
  assert.equal(checkpointName(120), "checkpoints/step-000120");
});

test("latestCheckpoint picks the newest of the run's key and deletes those of another key", async () => {
  const runDir = await RunDir.open(join(tempDir("pretrain-latest"), "run"), { kind: "pretrain" });
  try {
    const history = (n: number) => ({ loss: Array(n).fill(1), gradNorm: Array(n).fill(1), lr: Array(n).fill(1e-3), evals: [], trainS: n });
    const write = (step: number, key: string) => {
      const dir = runDir.path(checkpointName(step));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "state.json"), JSON.stringify(checkpointState(key, step, history(step))));
      return dir;
    };
    const stale = write(30, "other");
    const older = write(10, "mine");
    const newer = write(20, "mine");
    const found = latestCheckpoint(runDir, "mine");
    assert.equal(found?.dir, newer);
    assert.equal(found?.state.step, 20);
    assert.equal(existsSync(stale), false, "a checkpoint of another configuration is deleted");
    assert.equal(existsSync(older), true);
    assert.equal(latestCheckpoint(runDir, "nobody")?.dir, undefined);

    const damaged = runDir.path(checkpointName(40));
    mkdirSync(damaged);
    writeFileSync(join(damaged, "state.json"), JSON.stringify({ ...checkpointState("mine", 40, history(3)) }));
    assert.throws(() => latestCheckpoint(runDir, "mine"), (e: unknown) => e instanceof FileFormatError && /step-000040\/state.json is incomplete/.test(e.message));
  } finally {
    await runDir.close();
  }
});
