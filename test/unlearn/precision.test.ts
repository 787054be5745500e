// The precision setting through the pipeline: a changed precision retrains the training stages
// (and the labels, which read the reinforced model) instead of reusing F32 results, and the run
// says what "auto" resolved to.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { nativeBf16 } from "../../src/engine/native.js";
import { unlearn, type UnlearnConfigInput, type UnlearnResult } from "../../src/unlearn/index.js";
import { microCorpora } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("unlearn-precision");
const skip = nativeBf16() ? false : "this CPU has no AVX512-BF16, so precision bf16 is refused here (resolvePrecision is tested in test/engine/precision.test.ts)";
const CONFIG: UnlearnConfigInput = { blockTokens: 64, checkpointEvery: 3, reinforce: { epochs: 1 }, anchors: { gainTokens: 10, minCount: 3 }, finetune: { steps: 6, batchSize: 4 } };

test("a run moved to another precision retrains its training stages and reports the precision", { skip }, async () => {
  const corpora = await microCorpora(join(dir, "corpus"), 6);
  const run = async (precision: "f32" | "auto") => {
    const messages: string[] = [];
    const result = await unlearn({
      model: corpora.tb.basePath,
      forget: [corpora.forgetDir],
      retain: [corpora.retainDir],
      out: join(dir, "out.gguf"),
      runDir: join(dir, "run"),
      config: { ...CONFIG, precision },
      threads: 2,
      onEvent: (e) => void (e.type === "info" && messages.push(e.message)),
    });
    return { result, messages };
  };
  const ran = (r: UnlearnResult) => r.stages.filter((s) => s.ran).map((s) => s.name);

  const f32 = await run("f32");
  assert.deepEqual(ran(f32.result), ["reinforce", "anchors", "labels", "finetune"]);
  assert.ok(!f32.messages.some((m) => /precision/.test(m)), "an F32 run says nothing about precision");

  const bf16 = await run("auto");
  assert.ok(bf16.messages.some((m) => /training precision auto: BF16/.test(m)), bf16.messages.join("\n"));
  // Automatic anchors read the reinforced model's gains, so that stage may rerun as well.
  assert.ok(["reinforce", "labels", "finetune"].every((s) => ran(bf16.result).includes(s)), `bf16 ran ${ran(bf16.result).join(", ")}`);

  const again = await run("auto");
  assert.deepEqual(ran(again.result), [], "the same precision again reuses every stage");
});
