// `lethe selfcheck` runs the engine end to end through the real CLI and reports a passing check.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "lethe.js");

test("lethe selfcheck --json trains, saves, reloads and agrees with llama.cpp", () => {
  const r = spawnSync(process.execPath, [bin, "selfcheck", "--json", "--steps", "30", "--threads", "2"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  assert.equal(result.ok, true);
  assert.match(String(result.cpuVariant), /^libggml-cpu-/);
  assert.equal(typeof result.bf16, "boolean");
  assert.ok(result.blas === null || /^OpenBLAS/.test(String(result.blas)), `blas: ${result.blas}`);
  assert.ok((result.lossEnd as number) < (result.lossStart as number) / 2);
  assert.ok((result.logitsMaxAbsDiff as number) <= 1e-3);
  assert.match(String(result.generated), /Kansas/);
});
