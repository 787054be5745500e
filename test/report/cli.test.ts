// `lethe report` through the real CLI: default output path, --json result, roles, exit codes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ozEval, unlearnLosses } from "./fixture.js";
import { tempDir } from "../helpers/temp.js";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "lethe.js");
const dir = tempDir("report-cli");

const lethe = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir });

test("lethe report <run-dir> --json writes <run-dir>/report.html and describes it", () => {
  const run = join(dir, "run");
  mkdirSync(run);
  writeFileSync(join(run, "eval.json"), JSON.stringify(ozEval()));
  writeFileSync(join(run, "losses.json"), JSON.stringify(unlearnLosses()));
  const r = lethe("report", "run", "--json", "--gold", "oz-gold", "--subject", "Oz");
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { report: string; models: { label: string; role: string }[]; sections: Record<string, unknown> };
  assert.equal(result.report, join("run", "report.html"));
  assert.ok(existsSync(join(run, "report.html")));
  assert.deepEqual(
    result.models.map((m) => m.role),
    ["base", "unlearned", "other", "other", "gold"],
  );
  assert.deepEqual(result.sections, { metrics: true, familiarity: true, tradeoff: true, losses: 1, nextTokens: 4, completions: 9 });
});

test("lethe report: a missing input fails with cause and fix; no input is a usage error", () => {
  const missing = lethe("report", "nope.json", "-o", "x.html");
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.json does not exist/);
  assert.match(missing.stderr, /pass an eval JSON file/);
  assert.equal(existsSync(join(dir, "x.html")), false);
  assert.equal(lethe("report").status, 2);
});
