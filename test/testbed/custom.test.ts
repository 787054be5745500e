// `lethe testbed custom`: a testbed from any two folders of text, `oz` as its preset, and the folder
// every testbed kind writes usable as it is by `lethe eval --testbed`. The end-to-end tests train
// micro models.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { runCli } from "../../src/cli/main.js";
import { InputError } from "../../src/errors.js";
import { assembleEvalData, syntheticEvalData } from "../../src/eval/eval-data.js";
import { buildTestbed } from "../../src/testbed/build.js";
import { MANIFEST_FILE } from "../../src/testbed/eval-manifest.js";
import { generateSyntheticTestbed } from "../../src/testbed/synthetic/index.js";
import { corpusTestbed, customTestbed, holdOutTail, OZ_PROMPTS, ozTestbed, syntheticTestbed } from "../../src/testbed/testbeds.js";
import { memoryStream } from "../cli/helpers.js";
import { MICRO } from "./pretrain/helpers.js";
import { INVENTED, writeTwoCorpora } from "./corpus-helpers.js";
import { tempDir } from "../helpers/temp.js";

const root = tempDir("custom-testbed");
const corpora = writeTwoCorpora(join(root, "corpora"));

test("held-out tails: the last 3% of paragraphs, or of lines or sentences when that leaves nothing", () => {
  const paragraphs = Array.from({ length: 100 }, (_, i) => `paragraph ${i}\nwrapped`);
  const long = holdOutTail(paragraphs.join("\n\n") + "\n\n", 0.03);
  // 101 parts with the empty one after the last blank line: 97 trained, the last 4 held out.
  assert.equal(long.train, paragraphs.slice(0, 97).join("\n\n"));
  assert.equal(long.heldOut, paragraphs.slice(97).join("\n\n") + "\n\n");
  assert.deepEqual(holdOutTail("first paragraph\n\nsecond paragraph\n\n", 0.03), { train: "first paragraph", heldOut: "second paragraph" });
  assert.deepEqual(holdOutTail("one line\ntwo line\nthree line\n", 0.03), { train: "one line\ntwo line", heldOut: "three line" });
  assert.deepEqual(holdOutTail("One sentence. Another one! A third?", 0.03), { train: "One sentence. Another one!", heldOut: "A third?" });
  assert.deepEqual(holdOutTail("a single sentence", 0.03), { train: "a single sentence", heldOut: "" });
});

test("bad folders are refused by name, with the fix", () => {
  const refuses = (forget: string, retain: string, message: RegExp, fix = /folder of \.txt files/) =>
    assert.throws(
      () => customTestbed({ dir: join(root, "never"), size: "tiny", forget, retain }),
      (err: unknown) => err instanceof InputError && message.test(err.message) && fix.test(err.fix),
    );
  refuses(join(root, "nope"), corpora.retain, /forget folder .*nope not found/, /--forget/);
  const file = join(root, "novel.txt");
  writeFileSync(file, "A book.\n\nIn one file.\n");
  refuses(corpora.forget, file, /retain folder .*novel\.txt is a file, not a folder/, /--retain/);
  const empty = join(root, "empty");
  mkdirSync(join(empty, "sub"), { recursive: true });
  writeFileSync(join(empty, "notes.md"), "not a .txt file");
  refuses(empty, corpora.retain, /forget folder .*empty holds no \.txt files/);
  writeFileSync(join(empty, "sub", "blank.txt"), "\n  \n");
  refuses(empty, corpora.retain, /the \.txt files of forget folder .*empty are empty/);
  const short = join(root, "short");
  mkdirSync(short);
  writeFileSync(join(short, "a.txt"), "just one sentence");
  refuses(short, corpora.retain, /forget text in .*short is too short to hold out a tail/, /at least two paragraphs/);
  refuses(corpora.forget, corpora.forget, /overlap/, /two separate folders/);
  refuses(corpora.forget, join(root, "corpora"), /overlap/, /two separate folders/);
});

test("oz is the preset of the corpus testbed: the same split, its own prompts and evaluation set", { timeout: 120_000 }, async () => {
  const data = join(root, "data");
  mkdirSync(join(data, "forget"), { recursive: true });
  const missing = () => ozTestbed({ data, dir: join(root, "oz"), size: "small" });
  assert.throws(missing, (err: unknown) => err instanceof InputError && /forget folder .*oz not found/.test(err.message) && /--data/.test(err.fix));
  mkdirSync(join(data, "forget", "oz"));
  mkdirSync(join(data, "retain"));
  for (const i of [0, 1, 2]) {
    copyFileSync(join(corpora.forget, `doc${i}.txt`), join(data, "forget", "oz", `doc${i}.txt`));
    copyFileSync(join(corpora.retain, `doc${i}.txt`), join(data, "retain", `doc${i}.txt`));
  }
  const oz = ozTestbed({ data, dir: join(root, "oz"), size: "small" });
  const same = corpusTestbed({ name: "oz", forget: join(data, "forget", "oz"), retain: join(data, "retain"), dir: join(root, "oz"), size: "small", completionPrompts: OZ_PROMPTS });
  assert.deepEqual([oz.forget, oz.retain, oz.heldOut, oz.membership], [same.forget, same.retain, same.heldOut, same.membership]);
  assert.deepEqual(oz.completionPrompts, OZ_PROMPTS);
  assert.equal(oz.facts, undefined);
  assert.deepEqual(Object.keys(oz.evalFiles!).sort(), ["probability", "prompts", "qa", "terms"]);
  for (const path of Object.values(oz.evalFiles!)) assert.ok(existsSync(path), path);
  // Built, the folder carries the evaluation set, which eval then uses instead of generating one.
  await buildTestbed(ozTestbed({ data, dir: join(root, "oz"), size: MICRO, overrides: { steps: 10 }, threads: 1 }));
  const evalData = await assembleEvalData({ testbed: join(root, "oz") }, () => {});
  assert.equal(evalData.completionPrompts![0]!.prompt, "Dorothy lived in the midst of the great Kansas");
  assert.deepEqual(evalData.generated!.map((g) => g.replace(/^\d+ /, "")), ["retain cloze questions"]);
});

test("a custom testbed's report prompts are held-out forget sentences cut before its own words", () => {
  const spec = customTestbed({ dir: join(root, "c"), size: "tiny", forget: corpora.forget, retain: corpora.retain });
  assert.equal(spec.name, "forget");
  const heldOut = spec.heldOut.forget.join(" ").replace(/\s+/g, " ");
  assert.ok(spec.completionPrompts.length > 0 && spec.completionPrompts.every((p) => heldOut.includes(p)));
  assert.ok(spec.facts!.length > 0);
  for (const f of spec.facts!) assert.ok([...INVENTED.people, ...INVENTED.places.flatMap((p) => p.split(" "))].includes(f.answer), f.answer);
  assert.ok(spec.membership.members.length > 0 && spec.membership.members.length === spec.membership.nonMembers.length);
});

async function cli(argv: string[]): Promise<{ code: number; json: any; err: string }> {
  const stdout = memoryStream();
  const stderr = memoryStream();
  const code = await runCli([...argv, "--json", "--threads", "1"], { stdout, stderr, env: {}, cwd: root });
  const lines = stdout.text().trim().split("\n");
  return { code, json: lines[0] ? JSON.parse(lines[lines.length - 1]!) : undefined, err: stderr.text() };
}

test("lethe testbed custom builds base and gold, and lethe eval --testbed measures on the folder as it is", { timeout: 120_000 }, async () => {
  const size = join(root, "micro.json");
  writeFileSync(size, JSON.stringify({ ...MICRO, steps: 30 }));
  const dir = join(root, "tb");
  const build = ["testbed", "custom", "--forget", "corpora/forget", "--retain", "corpora/retain", "--name", "invented", "--size", size, "--dir", dir];
  const built = await cli(build);
  assert.equal(built.code, 0, built.err);
  assert.equal(built.json.testbed, "invented");
  assert.ok(built.json.base.ppl_forget > 0 && built.json.gold.ppl_retain > 0 && built.json.base.fact_accuracy !== null);
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8"));
  assert.deepEqual(manifest.models, { base: "base.gguf", gold: "gold.gguf" });
  assert.ok(manifest.membership);

  const out = join(root, "eval.json");
  const evaluated = await cli(["eval", "--testbed", dir, "--model", join(dir, "base.gguf"), "--out", out, "--limit", "3", "--samples", "0"]);
  assert.equal(evaluated.code, 0, evaluated.err);
  // The gold model comes from the testbed, so PrivLeak is computed.
  assert.equal(evaluated.json.gold, "gold.gguf");
  const base = evaluated.json.models.find((m: { role: string }) => m.role === "model");
  for (const k of ["familiarity-completion/familiarity", "familiarity-probability/familiarity_probability", "muse/knowmem_f", "muse/knowmem_r", "muse/mia_auc", "muse/privleak"]) {
    assert.equal(typeof base.metrics[k], "number", k);
  }
  const report = JSON.parse(readFileSync(out, "utf8"));
  assert.match(report.source, /invented testbed .*generated from the testbed's text: \d+ judge terms, \d+ familiarity prompts/);
  assert.ok(report.warnings.some((w: string) => /not hand-written/.test(w)));
  assert.equal(report.counts.forgetTexts, report.counts.holdoutTexts);

  // A testbed from before eval-data.json: eval says to rerun the build, which reuses the models and writes it.
  rmSync(join(dir, MANIFEST_FILE));
  const refused = await cli(["eval", "--testbed", dir, "--model", join(dir, "base.gguf"), "--out", out]);
  assert.equal(refused.code, 1);
  assert.match(refused.json.error.message, /built by an older lethe/);
  const rebuilt = await cli(build);
  assert.equal(rebuilt.code, 0, rebuilt.err);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")), manifest);
});

test("testbed custom needs both folders, and they are for custom only", async () => {
  const noRetain = await cli(["testbed", "custom", "--forget", "corpora/forget"]);
  assert.equal(noRetain.code, 2);
  assert.match(noRetain.json.error.message, /needs --forget and --retain/);
  const wrongKind = await cli(["testbed", "synthetic", "--forget", "corpora/forget"]);
  assert.equal(wrongKind.code, 2);
  assert.match(wrongKind.json.error.message, /for testbed custom, not synthetic/);
});

test("the folder lethe testbed synthetic builds is an eval testbed too, with the saga's ground truth", { timeout: 120_000 }, async () => {
  const saga = { seed: 4, nCharacters: 4, nHeldOutCharacters: 1, nHouses: 2, nPlaces: 3, nSpecies: 2, nSpells: 2, repetitions: 2, nFamiliarityPrompts: 10 };
  const dir = join(root, "synthetic");
  await buildTestbed(syntheticTestbed({ dir, size: MICRO, overrides: { steps: 10 }, saga, threads: 1 }));
  const data = await assembleEvalData({ testbed: dir }, () => {});
  const expected = syntheticEvalData(generateSyntheticTestbed(saga), "");
  // The same sets as the saga's own, PrivLeak included (members against the retold universe), nothing generated.
  for (const key of ["completionPrompts", "probabilityPrompts", "terms", "forgetQa", "retainQa", "verbatim", "forgetTexts", "holdoutTexts", "retainTexts"] as const) {
    assert.deepEqual(data[key], expected[key], key);
  }
  assert.equal(data.generated, undefined);
  assert.match(data.source, /^synthetic testbed /);
});
