import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { containsTerm, copiedRun, normaliseSpace, readJsonLines, termMatcher, wordIndex, words } from "./text-checks.js";
import { testTempDir } from "../helpers/temp.js";

test("normaliseSpace joins wrapped lines", () => {
  assert.equal(normaliseSpace("  the Tin\n   Woodman\t"), "the Tin Woodman");
});

test("containsTerm matches whole words only", () => {
  assert.equal(containsTerm("Old Mombi scowled.", "Mo"), false);
  assert.equal(containsTerm("in the Land of Mo, snow", "Mo"), true);
  assert.equal(containsTerm("Mr. H. M. Woggle-Bug, T. E.", "Bug"), true);
  assert.equal(containsTerm("the Tin\nWoodman's axe", "Tin Woodman"), true);
  assert.equal(containsTerm("Toto barked", "toto"), false);
  assert.equal(containsTerm("Toto barked", "toto", { ignoreCase: true }), true);
  assert.equal(containsTerm("anything", ""), false);
});

test("termMatcher finds a term after an earlier partial match", () => {
  const occurs = termMatcher("Ozmaland and then Ozma herself");
  assert.equal(occurs("Ozma"), true);
  assert.equal(occurs("Ozmal"), false);
});

test("words keeps hyphenated and elided words whole and splits on dashes", () => {
  assert.deepEqual(words("Tik-Tok said--Cap'n Bill's leg!"), ["tik-tok", "said", "cap'n", "bill's", "leg"]);
});

test("copiedRun finds a shared run regardless of case and punctuation", () => {
  const index = wordIndex("The quick brown fox, jumping, ran away.");
  assert.equal(copiedRun("A QUICK brown fox jumping!", index, 3), "quick brown fox");
  assert.equal(copiedRun("A quick brown dog", index, 3), null);
  // Word boundaries: "ran a" must not match inside "ran away".
  assert.equal(copiedRun("fox jumping ran a", index, 4), null);
});

test("readJsonLines numbers lines and names a bad one", (t) => {
  const dir = testTempDir(t, "jsonl");
  const good = join(dir, "good.jsonl");
  writeFileSync(good, '{"a": 1}\n{"a": 2}\n');
  assert.deepEqual(readJsonLines(good), [
    { line: 1, value: { a: 1 } },
    { line: 2, value: { a: 2 } },
  ]);
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"a": 1}\n\n{"a": 3}\n');
  assert.throws(() => readJsonLines(bad), /bad\.jsonl line 2 is not valid JSON/);
});
