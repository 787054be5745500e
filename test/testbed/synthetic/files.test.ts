import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateSyntheticTestbed, readSyntheticTestbed, writeSyntheticTestbed } from "../../../src/testbed/synthetic/index.js";
import { tempDir } from "../../helpers/temp.js";

describe("writeSyntheticTestbed / readSyntheticTestbed", () => {
  const root = tempDir("synthetic");
  const small = generateSyntheticTestbed({ seed: 2, nCharacters: 5, nHeldOutCharacters: 1, repetitions: 1 });

  it("lays the testbed out as numbered text files plus truth.json, and reads it back unchanged", () => {
    const dir = join(root, "tb");
    writeSyntheticTestbed(dir, small);
    assert.deepEqual(readdirSync(dir).sort(), ["generic", "heldout", "truth.json", "universe"]);
    assert.deepEqual(readdirSync(join(dir, "heldout")).sort(), ["generic", "retold", "universe"]);
    assert.equal(readdirSync(join(dir, "universe")).length, small.universe.length);
    assert.equal(readFileSync(join(dir, "universe", "00000.txt"), "utf8"), small.universe[0]);
    assert.deepEqual(readSyntheticTestbed(dir), small);
    assert.deepEqual(readdirSync(root), ["tb"], "no staging folder is left behind");
  });

  it("replaces an earlier testbed completely", () => {
    const dir = join(root, "again");
    writeSyntheticTestbed(dir, generateSyntheticTestbed({ seed: 3, nCharacters: 8, repetitions: 2 }));
    writeSyntheticTestbed(dir, small);
    assert.deepEqual(readSyntheticTestbed(dir), small);
  });

  it("refuses to overwrite a folder that is not a testbed", () => {
    const dir = join(root, "precious");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "keep me");
    assert.throws(() => writeSyntheticTestbed(dir, small), { name: "InputError", message: /not a synthetic testbed/ });
    assert.equal(readFileSync(join(dir, "notes.txt"), "utf8"), "keep me");
    const file = join(root, "a-file");
    writeFileSync(file, "x");
    assert.throws(() => writeSyntheticTestbed(file, small), { name: "InputError", message: /a-file exists/ });
  });

  it("reports a missing or broken testbed with the file it concerns", () => {
    assert.throws(() => readSyntheticTestbed(join(root, "nowhere")), { name: "InputError", message: /truth\.json is missing/ });
    const dir = join(root, "broken");
    mkdirSync(dir);
    writeFileSync(join(dir, "truth.json"), "{ not json");
    assert.throws(() => readSyntheticTestbed(dir), { name: "FileFormatError", message: /broken.truth\.json is not valid JSON/ });
    writeFileSync(join(dir, "truth.json"), JSON.stringify({ seed: 1, entities: [] }));
    assert.throws(() => readSyntheticTestbed(dir), { name: "FileFormatError", message: /lacks facts, familiarityPrompts/ });
    assert.ok(existsSync(join(dir, "truth.json")));
  });
});
