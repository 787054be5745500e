// The unlearned GGUF loads in node-llama-cpp, a client lethe does not control, and generates.
// (node-llama-cpp registers its own ggml backends, so this runs in a file of its own.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { unlearn } from "../../src/unlearn/index.js";
import { microCorpora } from "./helpers.js";
import { tempDir } from "../helpers/temp.js";

test("node-llama-cpp loads the model `unlearn` writes and generates", async () => {
  const dir = tempDir("unlearn-nlc");
  const { tb, forgetDir, retainDir } = await microCorpora(join(dir, "corpus"), 4);
  const r = await unlearn({
    model: tb.basePath,
    forget: [forgetDir],
    retain: [retainDir],
    out: join(dir, "unlearned.gguf"),
    config: { blockTokens: 64, reinforce: { epochs: 0.5 }, anchors: { gainTokens: 0, minCount: 2 }, finetune: { steps: 4, batchSize: 4 } },
    threads: 2,
  });
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: r.out! });
  const context = await model.createContext({ contextSize: 128, threads: 2 });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  const text = await completion.generateCompletion("The mayor of", { maxTokens: 8, temperature: 0 });
  assert.ok(text.length > 0, "no text generated");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
});
