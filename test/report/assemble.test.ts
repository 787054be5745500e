import assert from "node:assert/strict";
import { test } from "node:test";
import { assembleReport } from "../../src/report/assemble.js";
import { alphaFromName, guessRole, shortModelName } from "../../src/report/model-names.js";
import type { Collected } from "../../src/report/collect.js";

const result = (model: string, suite = "muse") => ({ suite, model, metrics: { verbmem_f: 0.1 }, warnings: [] });
const input = (over: Partial<Collected>): Collected => ({ suites: [], models: [], losses: [], notes: [], ...over });

test("shortModelName drops folders and .gguf", () => {
  assert.equal(shortModelName("runs/demo/unlearned.gguf"), "unlearned");
  assert.equal(shortModelName("C:\\m\\Base.GGUF"), "Base");
  assert.equal(shortModelName("plain"), "plain");
});

test("guessRole reads gold, base and unlearned words of the file name", () => {
  assert.equal(guessRole("runs/x/gold.gguf"), "gold");
  assert.equal(guessRole("oz-base-small.gguf"), "base");
  assert.equal(guessRole("base/oz_whp_a2.gguf"), "unlearned");
  assert.equal(guessRole("model-unlearned"), "unlearned");
  assert.equal(guessRole("baseline.gguf"), "other");
  assert.equal(guessRole("goldfish"), "other");
});

test("alphaFromName finds alpha=, alpha_ and α", () => {
  assert.equal(alphaFromName("whp-alpha2.5.gguf"), 2.5);
  assert.equal(alphaFromName("oz_alpha=10"), 10);
  assert.equal(alphaFromName("whp_α0.5"), 0.5);
  assert.equal(alphaFromName("whp.gguf"), undefined);
});

test("models are grouped, given roles and ordered base, unlearned by α, other, gold", () => {
  const data = assembleReport(
    [
      input({ suites: [result("gold.gguf"), result("x/whp-alpha5.gguf"), result("other.gguf")] }),
      input({ suites: [result("base.gguf"), result("x/whp-alpha1.gguf"), result("base.gguf", "utility")], models: [{ name: "x/whp-alpha1.gguf", label: "WHP 1" }] }),
    ],
    ["a.json", "b.json"],
  );
  assert.deepEqual(
    data.models.map((m) => [m.label, m.role, m.alpha]),
    [
      ["base", "base", undefined],
      ["WHP 1", "unlearned", 1],
      ["whp-alpha5", "unlearned", 5],
      ["other", "other", undefined],
      ["gold", "gold", undefined],
    ],
  );
  assert.deepEqual(Object.keys(data.models[0]!.suites), ["muse", "utility"]);
  assert.equal(data.title, "Unlearning report");
  assert.deepEqual(data.sources, ["a.json", "b.json"]);
});

test("explicit roles beat the files, which beat name guesses; a later result replaces an earlier one", () => {
  const later = { suite: "muse", model: "m2", metrics: { verbmem_f: 0.9 }, warnings: [] };
  const data = assembleReport(
    [input({ suites: [result("m1"), result("m2"), result("gold")], models: [{ name: "m1", role: "gold" }], title: "T1" }), input({ suites: [later], title: "T2", subject: "Oz" })],
    [],
    { roles: { base: "m2", gold: "m1", unlearned: ["ghost"] } },
  );
  assert.deepEqual(
    data.models.map((m) => [m.name, m.role]),
    [
      ["m2", "base"],
      ["gold", "other"],
      ["m1", "gold"],
    ],
  );
  assert.equal(data.models[0]!.suites.muse!.metrics.verbmem_f, 0.9);
  assert.equal(data.title, "T2");
  assert.equal(data.subject, "Oz");
  assert.ok(data.notes.some((n) => n.includes('"ghost"')));
});

test("two models declared gold are both kept, with a note", () => {
  const data = assembleReport([input({ suites: [result("g1"), result("g2")], models: [{ name: "g1", role: "gold" }, { name: "g2", role: "gold" }] })], []);
  assert.deepEqual(data.notes, ["2 models have the role gold (g1, g2); the first is used for comparisons"]);
});

test("labels that would collide fall back to full names", () => {
  const data = assembleReport([input({ suites: [result("a/m.gguf"), result("b/m.gguf")] })], []);
  assert.deepEqual(
    data.models.map((m) => m.label),
    ["a/m.gguf", "b/m.gguf"],
  );
});
