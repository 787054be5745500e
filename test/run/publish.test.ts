// Publishing a finished file: one rename, no partial file, and nothing left behind on a rerun.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { publishFile } from "../../src/run/publish.js";

test("publishing twice (the second time onto a link of the same file) leaves no temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "lethe-publish-"));
  const source = join(dir, "model.gguf");
  const out = join(dir, "out.gguf");
  writeFileSync(source, "weights v1");
  publishFile(source, out);
  publishFile(source, out);
  assert.equal(readFileSync(out, "utf8"), "weights v1");
  assert.deepEqual(readdirSync(dir).sort(), ["model.gguf", "out.gguf"]);
  // A new source replaces the published file.
  const next = join(dir, "model2.gguf");
  writeFileSync(next, "weights v2");
  publishFile(next, out);
  assert.equal(readFileSync(out, "utf8"), "weights v2");
  assert.deepEqual(readdirSync(dir).sort(), ["model.gguf", "model2.gguf", "out.gguf"]);
});
