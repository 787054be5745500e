// kill -9 in the middle of a stage, then the same command again: the run finishes with exactly the
// model an uninterrupted run writes, and reuses what was done.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { microCorpora, type MicroCorpora } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = tempDir("unlearn-resume");
let corpora: MicroCorpora;
const configPath = join(dir, "config.json");

test.before(async () => {
  corpora = await microCorpora(join(dir, "corpus"), 6);
  writeFileSync(
    configPath,
    JSON.stringify({ blockTokens: 64, checkpointEvery: 3, reinforce: { epochs: 1 }, anchors: { gainTokens: 10, minCount: 3 }, finetune: { steps: 12, batchSize: 4 } }),
  );
});

function args(name: string): string[] {
  return [
    join(root, "bin", "lethe.js"), "unlearn", "--model", corpora.tb.basePath, "--forget", corpora.forgetDir, "--retain", corpora.retainDir,
    "--out", join(dir, `${name}.gguf`), "--run-dir", join(dir, `${name}.run`), "--config", configPath, "--threads", "2", "--quiet",
  ];
}

function runToEnd(name: string): void {
  const r = spawnSync(process.execPath, args(name), { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Starts the command and SIGKILLs it once `ready()` holds; resolves when it is dead. */
async function killWhen(name: string, ready: () => boolean): Promise<void> {
  const child = spawn(process.execPath, args(name), { cwd: root, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let finished = false;
  void exited.then(() => (finished = true));
  while (!finished && !ready()) await new Promise((r) => setTimeout(r, 50));
  assert.equal(finished, false, "the run finished before it could be killed");
  child.kill("SIGKILL");
  await exited;
}

function stageStatus(runDir: string, stage: string): string | undefined {
  try {
    const m = JSON.parse(readFileSync(join(runDir, "manifest.json"), "utf8")) as { stages: { name: string; status: string }[] };
    return m.stages.find((s) => s.name === stage)?.status;
  } catch {
    return undefined;
  }
}

test("kill -9 during labels and during finetune, rerun: identical model", async () => {
  runToEnd("straight");
  const runDir = join(dir, "killed.run");
  const labelBlocks = () => {
    const work = join(runDir, "work");
    if (!existsSync(work)) return 0;
    return readdirSync(work).flatMap((d) => readdirSync(join(work, d))).filter((f) => f.endsWith(".bin")).length;
  };
  await killWhen("killed", () => stageStatus(runDir, "labels") === "running" && labelBlocks() >= 2);
  assert.equal(stageStatus(runDir, "reinforce"), "done");
  await killWhen("killed", () => existsSync(join(runDir, "checkpoints", "finetune", "state.json")));
  assert.equal(stageStatus(runDir, "labels"), "done", "the labels finished on the second attempt");
  assert.equal(stageStatus(runDir, "finetune"), "running");
  runToEnd("killed");
  assert.equal(sha(join(dir, "killed.gguf")), sha(join(dir, "straight.gguf")));
  assert.equal(sha(join(runDir, "labels.bin")), sha(join(dir, "straight.run", "labels.bin")));
  assert.equal(existsSync(join(runDir, "checkpoints", "finetune")), false, "checkpoints are removed once done");
});
