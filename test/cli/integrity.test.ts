// Integrity of finished work (issue 13): `--out` is a copy of the run directory's model, not a link
// to it, and a run-directory output damaged after its stage finished is redone on the next run, not
// reported as up to date.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { runLetheIn } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("cli-integrity");
const model = makeTinyModel(dir);
const forget = join(dir, "forget");
mkdirSync(forget);
writeFileSync(join(forget, "a.txt"), "Tallwyn Wembavel lives in Ololesk with the Greymoot. ".repeat(20));
const config = join(dir, "quick.json");
writeFileSync(config, JSON.stringify({ blockTokens: 64, ascent: { steps: 2 } }));

const lethe = (...argv: string[]) => runLetheIn(dir, ...argv);

test("unlearn: writing into --out leaves the run's model alone, and a damaged run model is redone, not 'up to date'", async () => {
  const out = join(dir, "u.gguf");
  const args = ["unlearn", "--method", "gradient-ascent", "--model", model, "--forget", forget, "--out", out, "--config", config];
  const first = await lethe(...args);
  assert.equal(first.code, 0, first.err);
  const runModel = join(dir, "u.gguf.run", "unlearned.gguf");
  const good = readFileSync(runModel);
  assert.ok(readFileSync(out).equals(good));

  writeFileSync(out, "edited by the user");
  assert.ok(readFileSync(runModel).equals(good), "writing into --out changed the run directory's model");

  const damaged = Buffer.from(good);
  damaged[damaged.length - 1] ^= 0xff;
  writeFileSync(runModel, damaged);
  const second = await lethe(...args);
  assert.equal(second.code, 0, second.err);
  assert.doesNotMatch(second.out, /everything was up to date/);
  assert.match(second.out + second.err, /unlearned\.gguf changed since the stage finished/);
  assert.ok(!readFileSync(runModel).equals(damaged), "the damaged model was redone");
  assert.ok(readFileSync(out).equals(readFileSync(runModel)), "--out holds the redone model");

  const third = await lethe(...args);
  assert.equal(third.code, 0, third.err);
  assert.match(third.out, /everything was up to date/);
});
