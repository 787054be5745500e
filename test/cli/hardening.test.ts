// Hostile use of the commands (issue 13): outputs pointed at inputs, outputs that cannot be
// written, dead or useless endpoints. Each is refused before any long work, with a clear message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { chatReply, deadBaseUrl, startChatServer } from "../llm/fake-chat-server.js";
import { runLetheIn, unwritableFolder } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("cli-hardening");
const model = makeTinyModel(dir);
const forget = join(dir, "forget");
mkdirSync(forget);
writeFileSync(join(forget, "a.txt"), "Tallwyn Wembavel lives in Ololesk with the Greymoot. ".repeat(20));
const prompts = join(dir, "prompts.jsonl");
writeFileSync(prompts, JSON.stringify({ prompt: "Tallwyn went to", references: ["Ololesk"], targets: [" Ololesk"] }) + "\n");

const lethe = (...argv: string[]) => runLetheIn(dir, ...argv);

/** Runs the command and checks it failed with an error naming `pattern`, and that `file` is unchanged. */
async function refusedKeeping(file: string, pattern: RegExp, ...argv: string[]) {
  const before = readFileSync(file);
  const r = await lethe(...argv);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, pattern);
  assert.doesNotMatch(r.err, /looks like a bug/);
  assert.ok(readFileSync(file).equals(before), `${file} was changed`);
}

test("unlearn refuses --out equal to --model, or a hard link to it, or inside --forget; nothing is written", async () => {
  await refusedKeeping(model, /--out .* is the same file as --model/, "unlearn", "--model", model, "--forget", forget, "--out", model);
  assert.equal(existsSync(`${model}.run`), false, "no run directory was made");
  await refusedKeeping(model, /--out .*u\.gguf is inside --forget/, "unlearn", "--model", model, "--forget", forget, "--out", join(forget, "u.gguf"));
  assert.equal(existsSync(join(forget, "u.gguf.run")), false);
});

test("eval refuses --out equal to --model or --prompts", async () => {
  const common = ["eval", "--model", model, "--prompts", prompts, "--suite", "familiarity-probability"];
  await refusedKeeping(model, /--out .* is the same file as --model/, ...common, "--out", model);
  await refusedKeeping(prompts, /--out .*prompts\.jsonl is the same file as --prompts/, ...common, "--out", prompts);
});

test("report refuses --out equal to one of its inputs", async () => {
  const losses = join(dir, "losses.json");
  writeFileSync(losses, JSON.stringify({ stage: "finetune", losses: [3, 2.5, 2] }));
  await refusedKeeping(losses, /--out .*losses\.json is the same file as the input/, "report", losses, "--out", losses);
});

test("pretrain refuses --out equal to a corpus file", async () => {
  const text = join(dir, "corpus.txt");
  writeFileSync(text, "some text to learn. ".repeat(50));
  await refusedKeeping(text, /--out .*corpus\.txt is the same file as --corpus/, "pretrain", "--corpus", text, "--out", text);
});

test("an --out folder that takes no files is refused before any work", async () => {
  const locked = unwritableFolder(dir);
  const cases = [
    ["unlearn", "--model", model, "--forget", forget, "--out", join(locked, "u.gguf"), "--run-dir", join(dir, "locked-unlearn.run")],
    ["eval", "--model", model, "--prompts", prompts, "--suite", "familiarity-probability", "--out", join(locked, "e.json")],
    ["pretrain", "--corpus", forget, "--out", join(locked, "p.gguf"), "--run-dir", join(dir, "locked-pretrain.run")],
  ];
  for (const argv of cases) {
    const r = await lethe(...argv);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /does not take new files/);
    assert.doesNotMatch(r.out, /\(model\):/, "no model was evaluated");
  }
  assert.equal(existsSync(join(dir, "locked-unlearn.run")), false);
  assert.equal(existsSync(join(dir, "locked-pretrain.run")), false);
});

test("testbed --dir naming a file is a clear input error, not a crash", async () => {
  const file = join(dir, "not-a-folder");
  writeFileSync(file, "x");
  const r = await lethe("testbed", "synthetic", "--dir", file);
  assert.equal(r.code, 1);
  assert.match(r.err, /--dir .*not-a-folder is a file, not a folder/);
  assert.doesNotMatch(r.err, /EEXIST|looks like a bug/);
});

const judgeArgs = (url: string, out: string) =>
  ["eval", "--model", model, "--prompts", prompts, "--suite", "familiarity-completion", "--samples", "0", "--max-tokens", "4"].concat(
    ["--judge-url", url, "--judge-model", "judge", "--out", out],
  );

test("eval with a dead --judge-url fails before any model is loaded, naming the endpoint", async () => {
  const url = await deadBaseUrl();
  const out = join(dir, "dead-judge.json");
  const r = await lethe(...judgeArgs(url, out));
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, new RegExp(`${url.replace(/[.]/g, "\\.")}.*ECONNREFUSED`));
  assert.match(r.err, /attempt 2 of 4/, "each retry is reported");
  assert.doesNotMatch(r.out, /\(model\):/);
  assert.equal(existsSync(out), false);
});

test("eval whose judge never gives a verdict writes the results but exits 1, saying so", async () => {
  const noVerdict = { body: chatReply("Hard to say.") };
  const server = await startChatServer([noVerdict, noVerdict, noVerdict, noVerdict]);
  try {
    const out = join(dir, "no-verdict.json");
    const r = await lethe(...judgeArgs(server.baseUrl, out));
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /judged none of 1 completions/);
    const written = JSON.parse(readFileSync(out, "utf8")) as { warnings: string[] };
    assert.ok(written.warnings.some((w) => /LLM judge failed on 1 of 1 completions/.test(w)), written.warnings.join("\n"));
  } finally {
    await server.close();
  }
});

test("unlearn --dry-run warns that a retain corpus shorter than one block will not be trained on", async () => {
  const retain = join(dir, "short-retain.txt");
  writeFileSync(retain, "x");
  const r = await lethe("unlearn", "--model", model, "--forget", forget, "--retain", retain, "--method", "npo", "--out", join(dir, "npo.gguf"), "--dry-run");
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: the retain corpus has 1 tokens, shorter than one block of 128 tokens/);
});

test("demo --size that is neither a preset nor a config file is refused before any training", async () => {
  const r = await lethe("demo", "--size", "huge", "--run-dir", join(dir, "demo-run"), "--cache", join(dir, "demo-cache"));
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /size ".*huge" is neither tiny, small nor an existing JSON config file/);
  assert.match(r.err, /fix: use --size tiny, --size small/);
  assert.equal(existsSync(join(dir, "demo-cache", "base.gguf")), false);
});
