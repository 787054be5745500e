// `lethe eval --testbed DIR` reads any testbed folder as it is: the sets its files give, the rest
// generated from its text (and said so), PrivLeak samples from the testbed, and errors a user can act on.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { InputError } from "../../src/errors.js";
import { assembleEvalData, testbedModels } from "../../src/eval/eval-data.js";
import { CLOZE_BLANK } from "../../src/eval/promptgen.js";
import { writeTestbedManifest, type EvalFiles } from "../../src/testbed/eval-manifest.js";
import { holdOutTail } from "../../src/testbed/testbeds.js";
import { INVENTED, writeTwoCorpora } from "../testbed/corpus-helpers.js";
import { tempDir } from "../helpers/temp.js";

const root = tempDir("testbed-data");
const corpora = writeTwoCorpora(join(root, "corpora"));

function writeDocs(dir: string, docs: string[]): void {
  mkdirSync(dir, { recursive: true });
  docs.forEach((d, i) => writeFileSync(join(dir, `${String(i).padStart(5, "0")}.txt`), d));
}

/** A testbed folder as `lethe testbed` lays it out, minus the models (eval data needs none). */
function fakeTestbed(name: string, files?: EvalFiles): string {
  const dir = join(root, name);
  const split = (folder: string) => [0, 1, 2].map((i) => holdOutTail(readFileSync(join(folder, `doc${i}.txt`), "utf8"), 0.03));
  const f = split(corpora.forget);
  const r = split(corpora.retain);
  writeDocs(join(dir, "text", "f"), f.map((d) => d.train));
  writeDocs(join(dir, "text", "r"), r.map((d) => d.train));
  writeDocs(join(dir, "text", "hf"), f.map((d) => d.heldOut));
  writeDocs(join(dir, "text", "hr"), r.map((d) => d.heldOut));
  writeDocs(join(dir, "text", "m"), ["member one", "member two"]);
  writeDocs(join(dir, "text", "n"), ["non-member one", "non-member two"]);
  writeTestbedManifest(dir, {
    format: "lethe-testbed",
    version: 1,
    testbed: name,
    models: { base: "base.gguf", gold: "gold.gguf" },
    text: { forget: "text/f", retain: "text/r", heldOutForget: "text/hf", heldOutRetain: "text/hr" },
    membership: { members: "text/m", nonMembers: "text/n" },
    ...(files ? { files } : {}),
  });
  return dir;
}

test("a testbed from folders of text: every set generated from its text, and the data says so", async () => {
  const dir = fakeTestbed("mine");
  const warnings: string[] = [];
  const data = await assembleEvalData({ testbed: dir }, (w) => warnings.push(w));
  // Judge terms are the invented world's own words.
  const terms = data.terms!.map((t) => t.term);
  for (const name of INVENTED.people) assert.ok(terms.includes(name), `${name} in ${terms.join(" ")}`);
  assert.ok(!terms.some((t) => ["the", "walked", "traveller", "farmer"].includes(t)), terms.join(" "));
  assert.ok(data.terms!.every((t) => t.tier === "unique"));
  // Prompts are held-out forget sentences cut right before such a word, which is the target.
  const heldOut = readFileSync(join(dir, "text", "hf", "00000.txt"), "utf8").replace(/\s+/g, " ");
  assert.ok(data.completionPrompts!.length > 0 && data.probabilityPrompts!.length === data.completionPrompts!.length);
  assert.ok(data.completionPrompts!.some((p) => heldOut.includes(p.prompt)), "prompts come from the held-out text first");
  for (const p of data.probabilityPrompts!) assert.ok(terms.includes(p.targets[0]!), p.targets[0]);
  // Cloze questions: forget ones about invented names, retain ones about the everyday world's words.
  assert.ok(data.forgetQa!.length > 0 && data.forgetFewShot!.length === 3);
  for (const q of data.forgetQa!) assert.ok(q.question.includes(CLOZE_BLANK) && terms.includes(q.answer), q.answer);
  assert.ok(data.retainQa!.length > 0 && data.retainFewShot!.length === 3);
  assert.ok(data.retainQa!.every((q) => !terms.includes(q.answer)), "retain questions ask about retain words");
  // PrivLeak's samples are the testbed's own; perplexity runs on the held-out retain text.
  assert.deepEqual(data.forgetTexts, ["member one", "member two"]);
  assert.deepEqual(data.holdoutTexts, ["non-member one", "non-member two"]);
  assert.equal(data.retainTexts!.length, 3);
  assert.ok(data.verbatim!.length > 0 && data.relearnTexts!.length > 0);
  // What was generated is named in the data, its source line and a warning the report shows.
  assert.deepEqual(data.generated!.map((g) => g.replace(/^\d+ /, "")), [
    "judge terms",
    "familiarity prompts",
    "probability prompts",
    "forget cloze questions",
    "retain cloze questions",
  ]);
  assert.match(data.source, /^mine testbed .*; generated from the testbed's text: \d+ judge terms/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /not hand-written/);
  assert.deepEqual(testbedModels(dir), { base: join(dir, "base.gguf"), gold: join(dir, "gold.gguf") });
});

test("a testbed's hand-written files are used, and only what they lack is generated", async () => {
  const prompts = join(root, "prompts.jsonl");
  writeFileSync(prompts, '{"prompt": "Everyone knew the keeper of the gate was called", "references": ["Velloran"]}\n');
  const qa = join(root, "qa.jsonl");
  writeFileSync(qa, ["Who keeps the gate?", "Where is Umberholt?", "Who is Tessaly?", "Who is Orrimond?"].map((q) => JSON.stringify({ question: q, answer: "x" })).join("\n"));
  const dir = fakeTestbed("preset", { prompts, qa });
  const data = await assembleEvalData({ testbed: dir }, () => {});
  assert.deepEqual(data.completionPrompts, [{ prompt: "Everyone knew the keeper of the gate was called", references: ["Velloran"] }]);
  assert.equal(data.forgetQa!.length, 1);
  // The prompt file has no targets and there are no retain questions: those two are generated.
  assert.deepEqual(data.generated!.map((g) => g.replace(/^\d+ /, "")), ["judge terms", "probability prompts", "retain cloze questions"]);
  assert.match(data.source, /the testbed's prompts .*prompts\.jsonl/);
  // The user's own files override the testbed's.
  const mine = join(root, "mine.jsonl");
  writeFileSync(mine, '{"prompt": "My own prompt about the", "targets": ["gate"]}\n');
  const overridden = await assembleEvalData({ testbed: dir, prompts: mine }, () => {});
  assert.equal(overridden.completionPrompts![0]!.prompt, "My own prompt about the");
  assert.deepEqual(overridden.probabilityPrompts, [{ prompt: "My own prompt about the", targets: ["gate"] }]);
});

test("a folder eval cannot read gets an error naming it and the command that fixes it", async () => {
  const fails = async (dir: string, message: RegExp, fix: RegExp) => {
    await assert.rejects(assembleEvalData({ testbed: dir }, () => {}), (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.match(err.message, message);
      assert.match(err.fix!, fix);
      assert.doesNotMatch(err.fix!, /writeSyntheticTestbed|\(\)/);
      return true;
    });
  };
  await fails(join(root, "missing"), /testbed folder .*missing not found/, /lethe testbed synthetic\|oz\|custom/);
  const file = join(root, "a-file");
  writeFileSync(file, "x");
  await fails(file, /a-file is a file, not a folder/, /eval-data\.json/);
  const older = join(root, "older");
  mkdirSync(older);
  writeFileSync(join(older, "report.json"), "{}");
  await fails(older, /built by an older lethe/, /rerun the `lethe testbed` command/);
  const other = join(root, "other");
  mkdirSync(other);
  await fails(other, /not a lethe testbed/, /--forget, --retain, --prompts/);
});
