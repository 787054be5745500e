import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileFormatError, InputError, UnsupportedModelError } from "../../src/errors.js";
import {
  GgmlType,
  type LlamaConfig,
  createLlamaGguf,
  llamaMetadata,
  llamaTensorShapes,
  readGguf,
  readLlamaConfig,
  readTensorF32,
  tokenizerMetadata,
  validateLlamaConfig,
  writeGguf,
} from "../../src/gguf/index.js";
import { BYTE_VOCAB_SIZE, TINY_LLAMA_CONFIG, byteTokenizerMetadata, makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("gguf-llama");

const SMALL: LlamaConfig = {
  nVocab: 10,
  nCtx: 16,
  nEmbd: 8,
  nLayer: 1,
  nHead: 2,
  nHeadKv: 1,
  nFf: 12,
  ropeFreqBase: 500000,
  rmsEps: 1e-6,
  tiedEmbeddings: false,
  name: "small",
};

test("llamaTensorShapes lists llama.cpp's names and ne-order dims", () => {
  assert.deepEqual(llamaTensorShapes(SMALL), [
    { name: "token_embd.weight", dims: [8, 10] },
    { name: "output_norm.weight", dims: [8] },
    { name: "output.weight", dims: [8, 10] },
    { name: "blk.0.attn_norm.weight", dims: [8] },
    { name: "blk.0.attn_q.weight", dims: [8, 8] },
    { name: "blk.0.attn_k.weight", dims: [8, 4] }, // head dim 4 x 1 kv head
    { name: "blk.0.attn_v.weight", dims: [8, 4] },
    { name: "blk.0.attn_output.weight", dims: [8, 8] },
    { name: "blk.0.ffn_norm.weight", dims: [8] },
    { name: "blk.0.ffn_gate.weight", dims: [8, 12] },
    { name: "blk.0.ffn_up.weight", dims: [8, 12] },
    { name: "blk.0.ffn_down.weight", dims: [12, 8] },
  ]);
  const tied = llamaTensorShapes({ ...SMALL, tiedEmbeddings: true, nLayer: 3 });
  assert.equal(tied.length, 2 + 9 * 3);
  assert.ok(!tied.some((t) => t.name === "output.weight"));
  assert.equal(tied.at(-1)?.name, "blk.2.ffn_down.weight");
  const qwen = llamaTensorShapes({ ...SMALL, architecture: "qwen2" }).map((t) => `${t.name}:${t.dims.join("x")}`);
  assert.deepEqual(qwen.slice(7, 10), ["blk.0.attn_q.bias:8", "blk.0.attn_k.bias:4", "blk.0.attn_v.bias:4"]);
});

test("llamaMetadata writes the general.* and llama.* keys", () => {
  const metadata = llamaMetadata(SMALL);
  assert.deepEqual(Object.fromEntries([...metadata].map(([k, v]) => [k, `${v.type} ${String(v.value)}`])), {
    "general.architecture": "string llama",
    "general.name": "string small",
    "general.file_type": "u32 0",
    "llama.vocab_size": "u32 10",
    "llama.context_length": "u32 16",
    "llama.embedding_length": "u32 8",
    "llama.block_count": "u32 1",
    "llama.feed_forward_length": "u32 12",
    "llama.rope.dimension_count": "u32 4",
    "llama.attention.head_count": "u32 2",
    "llama.attention.head_count_kv": "u32 1",
    "llama.attention.layer_norm_rms_epsilon": "f32 0.000001",
    "llama.rope.freq_base": "f32 500000",
  });
  assert.equal(llamaMetadata(SMALL, "f16").get("general.file_type")?.value, 1);
  assert.equal(llamaMetadata({ ...SMALL, architecture: "qwen2" }).get("qwen2.block_count")?.value, 1);
});

test("validateLlamaConfig names the impossible field", () => {
  const rejects = (change: Partial<LlamaConfig>, pattern: RegExp) =>
    assert.throws(() => validateLlamaConfig({ ...SMALL, ...change }), (e: unknown) => e instanceof InputError && pattern.test(e.message));
  rejects({ nLayer: 0 }, /nLayer is 0/);
  rejects({ nFf: 2.5 }, /nFf is 2.5/);
  rejects({ nEmbd: 10, nHead: 4 }, /nEmbd 10 must split into nHead 4 heads of an even size/);
  rejects({ nEmbd: 6, nHead: 2 }, /heads of an even size/);
  rejects({ nHead: 2, nHeadKv: 3 }, /nHead 2 is not a multiple of nHeadKv 3/);
  rejects({ rmsEps: 0 }, /rmsEps is 0/);
  rejects({ ropeFreqBase: -1 }, /ropeFreqBase is -1/);
  rejects({ architecture: "gpt2" as "llama" }, /architecture is "gpt2"/);
});

test("createLlamaGguf is deterministic per seed and initialises like nanoGPT", () => {
  const config = { ...TINY_LLAMA_CONFIG, nLayer: 2 };
  const a = join(dir, "a.gguf");
  const b = join(dir, "b.gguf");
  const c = join(dir, "c.gguf");
  createLlamaGguf(a, { config, tokenizer: byteTokenizerMetadata(), seed: 5 });
  createLlamaGguf(b, { config, tokenizer: byteTokenizerMetadata(), seed: 5 });
  createLlamaGguf(c, { config, tokenizer: byteTokenizerMetadata(), seed: 6 });
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  assert.ok(!readFileSync(a).equals(readFileSync(c)));

  const file = readGguf(a);
  const std = (name: string) => {
    const v = readTensorF32(file, name);
    return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
  };
  // token_embd has 64 x 258 = 16512 samples: the std estimate is within about 1% of 0.02.
  assert.ok(Math.abs(std("token_embd.weight") - 0.02) < 0.001);
  assert.ok(Math.abs(std("blk.1.ffn_up.weight") - 0.02) < 0.001);
  // Residual projections: 0.02 / sqrt(2 * 2 layers) = 0.01.
  assert.ok(Math.abs(std("blk.0.attn_output.weight") - 0.01) < 0.0006);
  assert.ok(Math.abs(std("blk.1.ffn_down.weight") - 0.01) < 0.0006);
  assert.ok(readTensorF32(file, "blk.0.attn_norm.weight").every((x) => x === 1));
  assert.ok(readTensorF32(file, "output_norm.weight").every((x) => x === 1));
  assert.ok(file.tensors.every((t) => t.type === GgmlType.F32));
});

test("dtype f16 stores matrices as F16 and keeps the 1-D norms F32", () => {
  const path = makeTinyModel(dir, { dtype: "f16" });
  const file = readGguf(path);
  assert.equal(file.metadata.get("general.file_type")?.value, 1);
  for (const t of file.tensors) assert.equal(t.type, t.dims.length === 1 ? GgmlType.F32 : GgmlType.F16, t.name);
});

test("readLlamaConfig reads back the config that was written", () => {
  const config = { ...TINY_LLAMA_CONFIG, rmsEps: 1e-5, ropeFreqBase: 10000 };
  assert.deepEqual(readLlamaConfig(readGguf(makeTinyModel(dir, config))), { ...config, architecture: "llama" });
  const tied = readLlamaConfig(readGguf(makeTinyModel(dir, { tiedEmbeddings: true, nHeadKv: 4 })));
  assert.equal(tied.tiedEmbeddings, true);
  assert.equal(tied.nHeadKv, 4);
});

test("readLlamaConfig refuses other architectures, and qwen2 unless asked", () => {
  const gpt2 = join(dir, "gpt2.gguf");
  writeGguf(gpt2, { metadata: new Map([["general.architecture", { type: "string", value: "gpt2" }]]), tensors: [] });
  assert.throws(() => readLlamaConfig(readGguf(gpt2)), (e: unknown) => e instanceof UnsupportedModelError && e.message === `${gpt2} is a "gpt2" model; lethe handles the "llama" architecture`);

  const qwen = join(dir, "qwen.gguf");
  createLlamaGguf(qwen, { config: { ...SMALL, architecture: "qwen2" }, tokenizer: new Map(), seed: 1 });
  assert.throws(() => readLlamaConfig(readGguf(qwen)), UnsupportedModelError);
  const config = readLlamaConfig(readGguf(qwen), { acceptQwen2: true });
  assert.equal(config.architecture, "qwen2");
  assert.equal(config.rmsEps, 1e-6);
  assert.equal(config.ropeFreqBase, 500000);
});

test("readLlamaConfig checks keys and tensors against each other", () => {
  const write = (name: string, edit: (metadata: Map<string, unknown>, tensors: { name: string; dims: number[] }[]) => void) => {
    const metadata = llamaMetadata(SMALL);
    const shapes = llamaTensorShapes(SMALL);
    edit(metadata, shapes);
    const path = join(dir, name);
    writeGguf(path, { metadata, tensors: shapes.map((s) => ({ ...s, type: GgmlType.F32, data: new Float32Array(s.dims.reduce((n, d) => n * d, 1)) })) });
    return readGguf(path);
  };
  const missingTensor = write("missing-tensor.gguf", (_, tensors) => tensors.splice(tensors.findIndex((t) => t.name === "blk.0.ffn_up.weight"), 1));
  assert.throws(() => readLlamaConfig(missingTensor), (e: unknown) => e instanceof UnsupportedModelError && /tensor "blk.0.ffn_up.weight" is missing/.test(e.message));
  const wrongDims = write("wrong-dims.gguf", (_, tensors) => (tensors[4].dims = [8, 4]));
  assert.throws(() => readLlamaConfig(wrongDims), /tensor "blk.0.attn_q.weight" has dims \[8, 4\], expected \[8, 8\]/);
  const missingKey = write("missing-key.gguf", (metadata) => metadata.delete("llama.block_count"));
  assert.throws(() => readLlamaConfig(missingKey), (e: unknown) => e instanceof FileFormatError && /no metadata key "llama.block_count"/.test(e.message));
  const moe = write("moe.gguf", (metadata) => metadata.set("llama.expert_count", { type: "u32", value: 8 }));
  assert.throws(() => readLlamaConfig(moe), /mixture-of-experts/);
  const rot = write("rot.gguf", (metadata) => metadata.set("llama.rope.dimension_count", { type: "u32", value: 2 }));
  assert.throws(() => readLlamaConfig(rot), /llama.rope.dimension_count is 2, but lethe needs it to equal nEmbd\/nHead = 4/);
  // Without vocab_size the token list, then token_embd, give nVocab.
  const noVocabKey = write("no-vocab-key.gguf", (metadata) => metadata.delete("llama.vocab_size"));
  assert.equal(readLlamaConfig(noVocabKey).nVocab, 10);
});

test("createLlamaGguf checks the tokenizer against the config", () => {
  const path = join(dir, "bad.gguf");
  assert.throws(
    () => createLlamaGguf(path, { config: SMALL, tokenizer: byteTokenizerMetadata(), seed: 1 }),
    (e: unknown) => e instanceof InputError && e.message === `tokenizer has ${BYTE_VOCAB_SIZE} tokens but the model config has nVocab 10`,
  );
  assert.throws(
    () => createLlamaGguf(path, { config: SMALL, tokenizer: new Map([["llama.block_count", { type: "u32", value: 9 }]]), seed: 1 }),
    (e: unknown) => e instanceof InputError && /key "llama.block_count", outside "tokenizer.\*"/.test(e.message),
  );
});

test("tokenizerMetadata copies only the tokenizer.* keys", () => {
  const file = readGguf(makeTinyModel(dir));
  const tokenizer = tokenizerMetadata(file);
  assert.deepEqual([...tokenizer.keys()], [...byteTokenizerMetadata().keys()]);
  assert.deepEqual(tokenizer, byteTokenizerMetadata());
});
