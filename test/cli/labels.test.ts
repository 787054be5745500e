// `lethe labels export|merge` and `lethe unlearn --stage/--shard` from the command line.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/temp.js";
import { labelsRunOptions } from "../unlearn/whp/labels-run.js";
import { runLetheIn } from "./helpers.js";

const dir = tempDir("cli-labels");
const lethe = (...argv: string[]) => runLetheIn(dir, ...argv);

test("labels --help names both actions; wrong flags are usage errors", async () => {
  const help = await lethe("labels", "--help");
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /export/);
  assert.match(help.out, /merge/);
  const noOut = await lethe("labels", "export", "somewhere");
  assert.equal(noOut.code, 2);
  assert.match(noOut.err, /--out/);
  const mergeOut = await lethe("labels", "merge", "somewhere", "--out", "x");
  assert.equal(mergeOut.code, 2);
  mkdirSync(join(dir, "empty"), { recursive: true });
  const notRun = await lethe("labels", "export", "empty", "--out", "x");
  assert.equal(notRun.code, 1);
  assert.match(notRun.err, /not a run directory/);
});

test("unlearn --stage labels, then labels export --json", async () => {
  const o = labelsRunOptions(dir, join(dir, "run"));
  const inputs = ["--model", o.model, "--reinforced", o.reinforced!, "--forget", o.forget[0]!, "--retain", o.retain![0]!, "--dictionary", o.dictionary!, "--run-dir", "run"];
  const badShard = await lethe("unlearn", ...inputs, "--stage", "labels", "--shard", "3/3");
  assert.equal(badShard.code, 2);
  assert.match(badShard.err, /0 ≤ I < N/);
  const noStage = await lethe("unlearn", ...inputs, "--shard", "0/2");
  assert.equal(noStage.code, 2);
  assert.match(noStage.err, /--stage labels/);

  const cut = await lethe("unlearn", ...inputs, "--stage", "labels", "--config", writeConfig());
  assert.equal(cut.code, 0, cut.err);
  assert.equal(existsSync(join(dir, "run", "labels.bin")), true);
  assert.equal(existsSync(join(dir, "run", "unlearned.gguf")), false, "--stage labels stops before the fine-tune");
  const exported = await lethe("labels", "export", "run", "--out", "exp", "--json");
  assert.equal(exported.code, 0, exported.err);
  const result = JSON.parse(exported.out.trim().split("\n").at(-1)!) as { manifest: { splits: { forget: { blocks: number; k: number } } }; files: string[] };
  assert.ok(result.manifest.splits.forget.blocks > 0);
  assert.equal(result.manifest.splits.forget.k, 4);
  assert.ok(result.files.every((f) => existsSync(f)));
});

/** The fixture's settings as a config file. */
function writeConfig(): string {
  const path = join(dir, "whp.json");
  writeFileSync(path, JSON.stringify(labelsRunOptions(dir, join(dir, "unused")).config));
  return path;
}
