// Bad input to `unlearn` found by trying it as a hostile user (issue 13): each case fails early with a
// message that says what is wrong, or warns loudly, instead of a misleading error or silent success.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlearn, type UnlearnOptions } from "../../src/unlearn/index.js";
import { InputError, ServiceError, UnsupportedModelError } from "../../src/errors.js";
import { writeGguf } from "../../src/gguf/write.js";
import { parseManifest } from "../../src/run/manifest.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { chatReply, deadBaseUrl, startChatServer } from "../llm/fake-chat-server.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("unlearn-hardening");
const model = makeTinyModel(dir);
const forget = join(dir, "forget");
mkdirSync(forget);
writeFileSync(join(forget, "a.txt"), "Tallwyn Wembavel lives in Ololesk with the Greymoot and the Pruthessel. ".repeat(20));
const shortRetain = join(dir, "short-retain.txt");
writeFileSync(shortRetain, "x");
const quick = { blockTokens: 64, reinforce: { epochs: 0.5 }, finetune: { steps: 2 }, ascent: { steps: 2 }, anchors: { top: 0, gainTokens: 0 } };

function options(name: string, extra: Partial<UnlearnOptions> = {}): UnlearnOptions {
  return { model, forget: [forget], out: join(dir, `${name}.gguf`), runDir: join(dir, `${name}.run`), config: quick, threads: 1, ...extra };
}

const inputError = (pattern: RegExp) => (e: unknown) => e instanceof InputError && pattern.test(e.message);

test("a dead --llm endpoint is refused before reinforcement, not after it", async () => {
  const runDir = join(dir, "dead-llm.run");
  await assert.rejects(
    unlearn(options("dead-llm", { llm: { baseUrl: await deadBaseUrl(), model: "none", maxRetries: 0 } })),
    (e: unknown) => e instanceof ServiceError && /ECONNREFUSED/.test(e.message),
  );
  const manifest = parseManifest(readFileSync(join(runDir, "manifest.json"), "utf8"), runDir);
  assert.deepEqual(manifest.stages, [], "no stage ran");
  assert.equal(existsSync(join(runDir, "reinforced.gguf")), false);
});

test("a run whose anchors are done does not check its --llm endpoint again", async () => {
  const server = await startChatServer([{ body: chatReply("OK") }, { body: chatReply('{"Tallwyn": "Tom"}') }]);
  const llm = { baseUrl: server.baseUrl, model: "helpful", maxRetries: 0 };
  try {
    await unlearn(options("llm-done", { reinforced: model, llm }));
  } finally {
    await server.close();
  }
  const again = await unlearn(options("llm-done", { reinforced: model, llm }));
  assert.equal(again.cached, true);
});

test("an LLM that answers no passage with JSON fails the anchors stage, quoting its answer", async () => {
  const server = await startChatServer([{ body: chatReply("OK") }, { body: chatReply("Sure! Here are some names: Tallwyn, Ololesk.") }]);
  try {
    await assert.rejects(
      unlearn(options("prose-llm", { reinforced: model, llm: { baseUrl: server.baseUrl, model: "chatty", maxRetries: 0 } })),
      (e: unknown) => e instanceof ServiceError && /answered none of 1 passages with a JSON object/.test(e.message) && /Here are some names/.test(e.message),
    );
  } finally {
    await server.close();
  }
});

test("an LLM that proposes no terms, and a run left with no anchored terms, are warned about", async () => {
  const server = await startChatServer([{ body: chatReply("OK") }, { body: chatReply("{}") }]);
  const warnings: string[] = [];
  try {
    const r = await unlearn(
      options("empty-llm", {
        reinforced: model,
        llm: { baseUrl: server.baseUrl, model: "shy", maxRetries: 0 },
        onEvent: (e) => void (e.type === "warn" && warnings.push(e.message)),
      }),
    );
    assert.equal(r.stages.find((s) => s.name === "anchors")?.stats.entries, 0);
  } finally {
    await server.close();
  }
  assert.ok(warnings.some((w) => /proposed no usable anchored terms in 1 passages/.test(w)), warnings.join("\n"));
  assert.ok(warnings.some((w) => /no anchored terms were found/.test(w)), warnings.join("\n"));
});

test("gradient-difference with a retain corpus shorter than one block says so, before any run directory", async () => {
  await assert.rejects(
    unlearn(options("gd-short", { method: "gradient-difference", retain: [shortRetain] })),
    inputError(/the retain corpus has 1 tokens, shorter than one block of 64 tokens/),
  );
  assert.equal(existsSync(join(dir, "gd-short.run")), false);
});

test("an empty dictionary is refused up front", async () => {
  const empty = join(dir, "empty.json");
  writeFileSync(empty, "{}");
  await assert.rejects(unlearn(options("empty-dict", { dictionary: empty })), inputError(/empty\.json holds no terms/));
  assert.equal(existsSync(join(dir, "empty-dict.run")), false);
});

test("a 100,000-character dictionary term is refused with a short message", async () => {
  const huge = join(dir, "huge.json");
  writeFileSync(huge, JSON.stringify({ ["A".repeat(100_000)]: "b" }));
  await assert.rejects(unlearn(options("huge-dict", { dictionary: huge })), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /is 100000 characters long, more than 200/);
    assert.ok(e.message.length < 500, `message of ${e.message.length} characters`);
    return true;
  });
});

test("a corpus too short for even the shortest block is not told to set blockTokens to what it already is", async () => {
  const one = join(dir, "one.txt");
  writeFileSync(one, "x");
  await assert.rejects(unlearn(options("one-token", { forget: [one], config: { ...quick, blockTokens: 8 } })), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /forget corpus has 1 tokens, shorter than one block of 8 tokens/);
    assert.doesNotMatch(e.fix, /blockTokens/);
    return true;
  });
});

test("a model declaring a context length of 0 is refused, not trained on blocks of 0 tokens", async () => {
  const bytes = readFileSync(model);
  const key = Buffer.from("llama.context_length");
  bytes.writeUInt32LE(0, bytes.indexOf(key) + key.length + 4); // after the value's u32 type code
  const ctx0 = join(dir, "context-0.gguf");
  writeFileSync(ctx0, bytes);
  await assert.rejects(unlearn(options("ctx0", { model: ctx0 })), inputError(/declares a training context of 0 tokens/));
});

test("an architecture llama.cpp loads but the trainer does not build is refused before the run directory is claimed", async () => {
  const gemma = join(dir, "gemma-base.gguf");
  writeGguf(gemma, { metadata: new Map([["general.architecture", { type: "string", value: "gemma" }]]), tensors: [] });
  await assert.rejects(unlearn(options("gemma", { model: gemma })), (e: unknown) => e instanceof UnsupportedModelError && /"gemma" model/.test(e.message));
  assert.equal(existsSync(join(dir, "gemma.run")), false);
});
