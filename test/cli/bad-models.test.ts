// Model files llama.cpp aborts on (exit 134) through the real `lethe` binary (issue 13): eval,
// unlearn and eval --compare refuse them with an InputError naming the file and the key, exit 1,
// before any model is measured or any run directory is claimed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { BAD_MODELS, makeBadModel } from "../fixtures/bad-models.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "lethe.js");
const dir = tempDir("cli-bad-models");

const good = makeTinyModel(dir);
const forget = join(dir, "forget");
mkdirSync(forget);
writeFileSync(join(forget, "a.txt"), "Tallwyn Wembavel lives in Ololesk with the Greymoot. ".repeat(20));
const prompts = join(dir, "prompts.jsonl");
writeFileSync(prompts, JSON.stringify({ prompt: "Tallwyn went to", references: ["Ololesk"], targets: [" Ololesk"] }) + "\n");

function lethe(...argv: string[]) {
  const r = spawnSync(process.execPath, [bin, ...argv, "--threads", "1"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Exit 1 (not 134, not a signal) with `error: <path>: ...` naming the key, and a fix line. */
function assertRefused(r: ReturnType<typeof lethe>, path: string, names: RegExp) {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.err}`);
  assert.equal(r.code, 1, r.err);
  assert.ok(r.err.includes(`error: ${path}: `), r.err);
  assert.match(r.err, names);
  assert.match(r.err, /\n\s+fix: \S/);
  assert.doesNotMatch(r.err, /looks like a bug|GGML_ASSERT/);
}

for (const name of ["duplicate-token", "nan-eps", "negative-eps", "zero-context", "heads-not-dividing-width", "bos-out-of-range"] as const) {
  test(`eval --model with ${BAD_MODELS[name]!.problem} exits 1 with an InputError, writing nothing`, () => {
    const bad = makeBadModel(dir, name);
    const out = join(dir, `eval-${name}.json`);
    assertRefused(lethe("eval", "--model", bad, "--prompts", prompts, "--suite", "familiarity-probability", "--out", out), bad, BAD_MODELS[name]!.names);
    assert.equal(existsSync(out), false);
  });
}

test("unlearn --model with a duplicate token or a NaN epsilon exits 1 before claiming a run directory", () => {
  for (const name of ["duplicate-token", "nan-eps"] as const) {
    const bad = makeBadModel(dir, name);
    const out = join(dir, `unlearned-${name}.gguf`);
    assertRefused(lethe("unlearn", "--model", bad, "--forget", forget, "--out", out), bad, BAD_MODELS[name]!.names);
    assert.equal(existsSync(`${out}.run`), false, "no run directory was made");
    assert.equal(existsSync(out), false);
  }
});

test("eval --compare with a bad second model is refused before the first model is measured", () => {
  for (const name of ["duplicate-token", "nan-eps"] as const) {
    const bad = makeBadModel(dir, name);
    const out = join(dir, `compare-${name}.json`);
    const r = lethe("eval", "--model", good, "--compare", bad, "--prompts", prompts, "--suite", "familiarity-probability", "--out", out);
    assertRefused(r, bad, BAD_MODELS[name]!.names);
    assert.doesNotMatch(r.err + r.out, /\(model\):/, "no model was measured");
    assert.equal(existsSync(out), false);
  }
});
