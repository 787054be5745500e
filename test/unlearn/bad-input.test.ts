// Bad input to `unlearn`: each case is a clear LetheError and leaves the run directory consistent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlearn, type UnlearnOptions } from "../../src/unlearn/index.js";
import { InputError, ServiceError, UnsupportedModelError } from "../../src/errors.js";
import { parseManifest } from "../../src/run/manifest.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { microCorpora, type MicroCorpora } from "./helpers.js";
import { chatReply, startChatServer } from "../llm/fake-chat-server.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("unlearn-bad");
let corpora: MicroCorpora;
// Quick settings: short blocks, a couple of steps, automatic anchors off unless a test wants them.
const quick = { blockTokens: 64, reinforce: { epochs: 0.5 }, finetune: { steps: 2 }, ascent: { steps: 2 }, anchors: { top: 0, gainTokens: 0 } };

test.before(async () => {
  corpora = await microCorpora(join(dir, "corpus"), 4);
});

function base(name: string, extra: Partial<UnlearnOptions> = {}): UnlearnOptions {
  return {
    model: corpora.tb.basePath,
    forget: [corpora.forgetDir],
    retain: [corpora.retainDir],
    out: join(dir, `${name}.gguf`),
    runDir: join(dir, `${name}.run`),
    config: quick,
    threads: 2,
    ...extra,
  };
}

function manifestOf(runDir: string) {
  const path = join(runDir, "manifest.json");
  return parseManifest(readFileSync(path, "utf8"), path);
}

test("an empty forget corpus is refused before any run directory is made", async () => {
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "");
  await assert.rejects(unlearn(base("empty", { forget: [empty] })), (e: unknown) => e instanceof InputError && /forget corpus is empty/.test(e.message));
  assert.equal(existsSync(join(dir, "empty.run")), false);
});

test("a forget corpus shorter than one block is refused with the sizes", async () => {
  const short = join(dir, "short.txt");
  writeFileSync(short, "Tallwyn Wembavel lives in Ololesk.");
  await assert.rejects(
    unlearn(base("short", { forget: [short], config: { ...quick, blockTokens: 128 } })),
    (e: unknown) => e instanceof InputError && /tokens, shorter than one block of 128 tokens/.test(e.message),
  );
});

test("a malformed dictionary is refused up front, naming file and line", async () => {
  const bad = join(dir, "bad.json");
  writeFileSync(bad, '{\n  "Tallwyn": "Luke",\n  "Ololesk": 5\n}\n');
  await assert.rejects(unlearn(base("baddict", { dictionary: bad })), (e: unknown) => e instanceof InputError && e.message.includes(bad) && /line 3/.test(e.message));
  assert.equal(existsSync(join(dir, "baddict.run")), false);
});

test("a reinforced model with another vocabulary is refused", async () => {
  const tiny = makeTinyModel(join(dir), { nLayer: 1, seed: 5 });
  await assert.rejects(
    unlearn(base("vocab", { reinforced: tiny })),
    (e: unknown) => e instanceof UnsupportedModelError && /different vocabulary/.test(e.message),
  );
});

test("dictionary terms absent from the corpus are warned about with counts, and the run finishes", async () => {
  const dict = join(dir, "dict.json");
  writeFileSync(dict, JSON.stringify({ Tembenna: "Richard", Zyxwvut: "Tom", Qqqqq: "Ann" }));
  const warnings: string[] = [];
  const r = await unlearn(
    base("absent", { dictionary: dict, reinforced: corpora.tb.basePath, onEvent: (e) => void (e.type === "warn" && warnings.push(e.message)) }),
  );
  assert.ok(warnings.some((w) => /2 of 3 dictionary terms never occur in the forget corpus/.test(w) && w.includes("Zyxwvut")), warnings.join("\n"));
  assert.ok(existsSync(r.out!));
  assert.equal(r.stages.find((s) => s.name === "anchors")?.stats.absentTerms, 2);
});

test("automatic anchors stand in for a missing dictionary, and join a given one only with anchors.mergeAuto", async () => {
  const dict = join(dir, "dict-merge.json");
  writeFileSync(dict, JSON.stringify({ Tembenna: "Richard" }));
  const withAuto = (mergeAuto: boolean) => ({ ...quick, anchors: { top: 50, gainTokens: 0, minCount: 2, mergeAuto } });
  const stats = async (name: string, extra: Partial<UnlearnOptions>) =>
    (await unlearn(base(name, { reinforced: corpora.tb.basePath, ...extra }))).stages.find((s) => s.name === "anchors")!.stats as { bySource: Record<string, number> };
  assert.deepEqual((await stats("given", { dictionary: dict, config: withAuto(false) })).bySource, { user: 1, llm: 0, auto: 0 });
  assert.ok((await stats("merged", { dictionary: dict, config: withAuto(true) })).bySource.auto! > 0);
  assert.ok((await stats("alone", { config: withAuto(false) })).bySource.auto! > 0);
});

test("an LLM endpoint that fails after the up-front check fails the anchors stage after retries; the reinforced model is kept", async () => {
  const runDir = join(dir, "llm.run");
  // The server answers the check made before reinforcement, then only with errors.
  const server = await startChatServer([{ body: chatReply("OK") }]);
  try {
    await assert.rejects(
      unlearn(base("llm", { llm: { baseUrl: server.baseUrl, model: "none", maxRetries: 1, timeoutMs: 2000 } })),
      (e: unknown) => e instanceof ServiceError && e.message.includes(server.baseUrl) && /2 attempts/.test(e.message),
    );
  } finally {
    await server.close();
  }
  const m = manifestOf(runDir);
  assert.equal(m.stages.find((s) => s.name === "reinforce")?.status, "done");
  assert.equal(m.stages.find((s) => s.name === "anchors")?.status, "failed");
  assert.ok(existsSync(join(runDir, "reinforced.gguf")));
  assert.equal(existsSync(join(dir, "llm.gguf")), false, "no model is published");
});

test("a run directory of another method is refused and left as it was", async () => {
  const opts = base("other", { method: "gradient-ascent" });
  await unlearn(opts);
  const before = manifestOf(join(dir, "other.run")).stages;
  await assert.rejects(
    unlearn({ ...opts, method: "whp" }),
    (e: unknown) => e instanceof InputError && /made by `lethe unlearn --method gradient-ascent`/.test(e.message),
  );
  assert.deepEqual(manifestOf(join(dir, "other.run")).stages, before);
  assert.equal(existsSync(join(dir, "other.run", "run.lock")), false, "the lock is released");
});
