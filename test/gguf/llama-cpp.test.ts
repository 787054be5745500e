// llama.cpp (through node-llama-cpp) must load what this package writes and read the weights the
// way they were meant.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Llama, LlamaCompletion, LlamaLogLevel, type LlamaModel, getLlama } from "node-llama-cpp";
import { GgmlType, type GgufTensorInput, type LlamaConfig, llamaMetadata, llamaTensorShapes, writeGguf } from "../../src/gguf/index.js";
import { SeededRandom } from "../../src/util/random.js";
import { BYTE_BOS_ID, BYTE_EOS_ID, TINY_LLAMA_CONFIG, byteTokenizerMetadata, makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("gguf-llamacpp");
let llama: Llama;
const errors: string[] = [];

before(async () => {
  llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) errors.push(message);
    },
  });
});
after(async () => {
  await llama?.dispose();
});

async function withModel<T>(modelPath: string, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  const model = await llama.loadModel({ modelPath });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

async function complete(model: LlamaModel, prompt: string, maxTokens: number): Promise<string> {
  const context = await model.createContext({ contextSize: 128, threads: 2 });
  try {
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    return await completion.generateCompletion(prompt, { maxTokens, temperature: 0 });
  } finally {
    await context.dispose();
  }
}

test("node-llama-cpp loads a tiny model, tokenizes bytes to their values and generates", async () => {
  await withModel(makeTinyModel(dir), async (model) => {
    assert.deepEqual([...model.tokenize("hello world")], [104, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]);
    assert.deepEqual([...model.tokenize("Öz\n")], [0xc3, 0x96, 0x7a, 0x0a]);
    assert.equal(model.detokenize(model.tokenize("hello world")), "hello world");
    assert.equal(model.tokens.bos, BYTE_BOS_ID);
    assert.equal(model.tokens.eos, BYTE_EOS_ID);
    assert.equal(model.tokens.nl, 10);
    assert.equal(model.trainContextSize, TINY_LLAMA_CONFIG.nCtx);
    const text = await complete(model, "hello", 4);
    assert.equal(typeof text, "string");
  });
  assert.deepEqual(errors, []);
});

test("tied-embedding and F16 models load and generate", async () => {
  for (const path of [makeTinyModel(dir, { tiedEmbeddings: true }), makeTinyModel(dir, { dtype: "f16", seed: 2 })]) {
    await withModel(path, async (model) => {
      assert.equal(typeof (await complete(model, "Dorothy", 3)), "string");
    });
  }
  assert.deepEqual(errors, []);
});

/**
 * A hand-built model whose blocks add nothing (attn_output and ffn_down are zero), so the logits are
 * output · rmsnorm(embedding of the last token). With output row t+1 = embedding row t the model
 * predicts the next byte value: if llama.cpp read any matrix transposed, the output would differ.
 */
function writeCountingModel(path: string, dtype: GgmlType.F32 | GgmlType.F16): void {
  const config: LlamaConfig = { ...TINY_LLAMA_CONFIG, tiedEmbeddings: false };
  const { nEmbd, nVocab } = config;
  const random = new SeededRandom(11);
  const embedding = random.fillNormal(new Float32Array(nEmbd * nVocab), 1);
  const output = new Float32Array(nEmbd * nVocab);
  for (let token = 0; token < 255; token++) output.set(embedding.subarray(token * nEmbd, (token + 1) * nEmbd), (token + 1) * nEmbd);
  const tensors: GgufTensorInput[] = llamaTensorShapes(config).map(({ name, dims }) => {
    const size = dims.reduce((n, d) => n * d, 1);
    let data: Float32Array = new Float32Array(size);
    if (name === "token_embd.weight") data = embedding;
    else if (name === "output.weight") data = output;
    else if (name.endsWith("norm.weight")) data.fill(1);
    else if (!/attn_output|ffn_down/.test(name)) random.fillNormal(data, 0.02);
    return { name, dims, type: dims.length > 1 ? dtype : GgmlType.F32, data };
  });
  writeGguf(path, { metadata: new Map([...llamaMetadata(config), ...byteTokenizerMetadata()]), tensors });
}

test("llama.cpp reads token_embd and output.weight in the orientation they were written", async () => {
  for (const dtype of [GgmlType.F32, GgmlType.F16] as const) {
    const path = join(dir, `counting-${dtype}.gguf`);
    writeCountingModel(path, dtype);
    await withModel(path, async (model) => {
      assert.equal(await complete(model, "a", 6), "bcdefg");
    });
  }
});
