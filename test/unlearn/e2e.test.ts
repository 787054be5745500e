// WHP end to end on the micro synthetic testbed: forget = its universe text, retain = its
// generic text (all of both). The unlearned model must find the universe's idiosyncratic continuations much less
// likely while generic held-out perplexity barely moves; a rerun is a no-op.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { planUnlearn, unlearn } from "../../src/unlearn/index.js";
import { microCorpora, scoreModel } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const DOCS = 72;

test("whp: idiosyncratic continuations drop by a large factor, generic perplexity barely moves", async () => {
  const dir = tempDir("unlearn-e2e");
  const { tb, forgetDir, retainDir } = await microCorpora(join(dir, "corpus"), DOCS);
  const forgetText = tb.text.universe.slice(0, DOCS).join("\n");
  // The continuations this forget text teaches: probability prompts and facts stated in it.
  const items = [
    ...tb.text.truth.probabilityPrompts.filter((p) => forgetText.includes(p.prompt + p.targets[0])).map((p) => ({ prompt: p.prompt, target: p.targets[0]! })),
    ...tb.text.truth.facts.filter((f) => forgetText.includes(`${f.prompt} ${f.answer}`)).map((f) => ({ prompt: f.prompt, target: ` ${f.answer}` })),
  ];
  assert.ok(items.length >= 10, `${items.length} items`);
  const score = (path: string) => scoreModel(path, items, tb.text.heldOut.generic);
  const options = {
    model: tb.basePath,
    forget: [forgetDir],
    retain: [retainDir],
    out: join(dir, "unlearned.gguf"),
    // A micro model with few steps: a higher learning rate than the default.
    config: { blockTokens: 128, finetune: { steps: 100, lr: 3e-3 } },
    threads: 2,
  };
  const plan = await planUnlearn({ ...options, measure: false });
  assert.deepEqual(plan.stages.map((s) => s.name), ["reinforce", "anchors", "labels", "finetune"]);
  assert.ok(plan.totalSeconds > 0 && plan.peakMemoryBytes < plan.memoryBudgetBytes);

  const r = await unlearn(options);
  assert.deepEqual(r.stages.map((s) => [s.name, s.ran]), [["reinforce", true], ["anchors", true], ["labels", true], ["finetune", true]]);
  const dictionary = JSON.parse(readFileSync(r.dictionary!, "utf8")) as { term: string }[];
  assert.ok(dictionary.some((e) => e.term === "Tallwyn" || e.term === "Tallwyn Wembavel"), "the automatic dictionary finds the main names");
  const labels = r.stages.find((s) => s.name === "labels")!.stats;
  assert.ok((labels.changedShare as number) > 0.05, `labels change some continuations (${labels.changedShare})`);

  const before = await score(tb.basePath);
  const after = await score(r.out!);
  console.log(`continuations ${before.p.toFixed(4)} → ${after.p.toFixed(4)}; generic perplexity ${before.ppl.toFixed(2)} → ${after.ppl.toFixed(2)}`);
  assert.ok(after.p < before.p / 5, `probability of idiosyncratic continuations ${before.p.toFixed(4)} → ${after.p.toFixed(4)}`);
  assert.ok(after.ppl < before.ppl * 1.15, `generic perplexity ${before.ppl.toFixed(2)} → ${after.ppl.toFixed(2)}`);

  const again = await unlearn(options);
  assert.equal(again.cached, true, "a rerun skips every stage");
  assert.ok(existsSync(again.out!));
});
