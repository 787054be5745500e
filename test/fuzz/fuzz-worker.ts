// The fuzz test's worker (run by fuzz.test.ts in a child process, so that a native abort or a hang
// is seen from outside): runs cases [start, end) of one seed and prints one JSON line as each case
// starts and another with its outcome. Case i is mutation i of the seed, so any case reproduces
// alone: node --import tsx test/fuzz/fuzz-worker.ts <dir> <seed> <i> <i+1>
//
// Outcomes: "ok", "typed:<LetheError class>" or "untyped:<class>: <message>" (a bug), per step.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Model, inspectModelFile } from "../../src/engine/model.js";
import { Trainer, checkTrainable, nextTokenBatch } from "../../src/engine/trainer.js";
import { LetheError } from "../../src/errors.js";
import { createLlamaGguf } from "../../src/gguf/llama.js";
import { readGguf, readTensorF32 } from "../../src/gguf/read.js";
import { GgmlType, type GgufMetadata, type GgufTensorInput, type GgufValue } from "../../src/gguf/types.js";
import { writeGguf } from "../../src/gguf/write.js";
import { newManifest, parseManifest } from "../../src/run/manifest.js";
import { BpeTokenizer } from "../../src/tokenizer/bpe.js";
import { decodeBlocks, encodeBlock } from "../../src/unlearn/whp/labels-file.js";
import { SeededRandom } from "../../src/util/random.js";
import { sentencePieceMetadata } from "../fixtures/bad-models.js";
import { TINY_LLAMA_CONFIG, makeTinyModel } from "../fixtures/tiny-model.js";
import { below, mutateBytes, mutateJson, pick } from "./mutate.js";
import { TOTAL_CASES, targetOf } from "./plan.js";

function outcome(error: unknown): string {
  if (error instanceof LetheError) return `typed:${error.name}`;
  const e = error instanceof Error ? error : new Error(String(error));
  return `untyped:${e.name}: ${e.message.split("\n")[0]!.slice(0, 300)}`;
}

async function step(results: string[], name: string, run: () => unknown): Promise<boolean> {
  try {
    await run();
    results.push(`${name} ok`);
    return true;
  } catch (error) {
    results.push(`${name} ${outcome(error)}`);
    return false;
  }
}

// ---- the valid files every mutation starts from -------------------------------------------------

/** A valid model: its bytes, where its header ends, and its parsed metadata and tensors. */
interface ModelSeed {
  bytes: Uint8Array;
  headerBytes: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInput[];
}

interface Seeds {
  /** The tiny fixture with its byte-level BPE ("gpt2") tokenizer, and one with a SentencePiece ("llama") one. */
  models: ModelSeed[];
  labels: Uint8Array;
  manifest: object;
  tokenizer: object;
}

function modelSeed(path: string): ModelSeed {
  const file = readGguf(path);
  const tensors = file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32 as const, data: readTensorF32(file, t.name) }));
  return { bytes: readFileSync(path), headerBytes: file.dataOffset, metadata: file.metadata, tensors };
}

function seeds(dir: string): Seeds {
  const spm = sentencePieceMetadata();
  const spmPath = join(dir, "tiny-spm.gguf");
  const nVocab = (spm.get("tokenizer.ggml.tokens")!.value as string[]).length;
  createLlamaGguf(spmPath, { config: { ...TINY_LLAMA_CONFIG, nVocab }, tokenizer: spm, seed: 1 });
  const models = [modelSeed(makeTinyModel(dir)), modelSeed(spmPath)];
  const block = (n: number, k: number, seed: number) => {
    const random = new SeededRandom(seed);
    return encodeBlock({
      tokens: Int32Array.from({ length: n }, () => below(random, 258)),
      labels: {
        target: Int32Array.from({ length: n * k }, () => below(random, 258) - (random.nextFloat() < 0.1 ? 259 : 0)),
        weight: Float32Array.from({ length: n * k }, () => random.nextFloat()),
        ...(k > 1 ? { k } : {}),
      },
    });
  };
  const blocks = [block(5, 1, 1), block(8, 3, 2), block(3, 1, 3)];
  const labels = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  blocks.reduce((at, b) => (labels.set(b, at), at + b.length), 0);
  const manifest = newManifest("unlearn", new Date("2025-01-01T00:00:00Z"));
  manifest.stages.push({
    name: "reinforce",
    status: "done",
    configHash: "abc",
    inputHashes: { model: "123" },
    outputs: ["reinforced.gguf"],
    outputHashes: { "reinforced.gguf": { sha256: "00", stat: "1:2:3" } },
    startedAt: "2025-01-01T00:00:00Z",
    finishedAt: "2025-01-01T00:01:00Z",
    wallS: 60,
    stats: { loss: [3, 2] },
  });
  const tokenizer = BpeTokenizer.train(["the cat sat on the mat; the dog sat on the log. ".repeat(20)], { vocabSize: 280 }).toJSON();
  return { models, labels, manifest, tokenizer };
}

// ---- model files ---------------------------------------------------------------------------------

const SPECIAL_IDS = ["bos", "eos", "padding", "unknown", "eot", "seperator"].map((n) => `tokenizer.ggml.${n}_token_id`);

/** GGUF values that are wrong for most keys, of every type. */
function strangeGgufValue(random: SeededRandom, like: GgufValue): GgufValue {
  const n = pick(random, [0, 1, 3, 7, 0xffffffff, 0x80000000, 257, 258, 513]);
  const x = pick(random, [NaN, Infinity, -Infinity, -1, 0, 1e-45, 3.4e38, -1e-5, 0.5]);
  const sameType: GgufValue | undefined =
    like.type === "u32" ? { type: "u32", value: n }
    : like.type === "i32" ? { type: "i32", value: pick(random, [-1, 0, 0x7fffffff, -0x80000000]) }
    : like.type === "f32" || like.type === "f64" ? { type: like.type, value: x }
    : like.type === "bool" ? { type: "bool", value: !like.value }
    : like.type === "string" ? { type: "string", value: pick(random, ["", "llama", "qwen2", "gemma", "gpt2", "llama-bpe", "none", "x".repeat(300)]) }
    : undefined;
  const otherType: GgufValue = pick(random, [
    { type: "string", value: "7" },
    { type: "f32", value: 2.5 },
    { type: "i32", value: -3 },
    { type: "u64", value: 2n ** 40n },
    { type: "bool", value: true },
    { type: "array", itemType: "u32", value: [4, 4] },
    { type: "array", itemType: "string", value: [] },
  ] as GgufValue[]);
  return sameType && random.nextFloat() < 0.7 ? sameType : otherType;
}

/** 1 to 3 edits of a valid model's metadata or tensors, written as a new GGUF. */
function mutateModel(s: ModelSeed, random: SeededRandom, path: string): string {
  const metadata = new Map(s.metadata);
  let tensors = [...s.tensors];
  const done: string[] = [];
  const edits = 1 + below(random, 3);
  for (let e = 0; e < edits; e++) {
    const keys = [...metadata.keys()];
    switch (below(random, 8)) {
      case 0: {
        const key = pick(random, keys);
        const value = strangeGgufValue(random, metadata.get(key)!);
        metadata.set(key, value);
        done.push(`${key} = ${value.type} ${String(value.value).slice(0, 20)}`);
        break;
      }
      case 1: {
        const key = pick(random, keys);
        metadata.delete(key);
        done.push(`delete ${key}`);
        break;
      }
      case 2: {
        const entry = metadata.get("tokenizer.ggml.tokens");
        if (entry?.type !== "array" || entry.itemType !== "string" || entry.value.length === 0) break;
        const tokens = [...(entry.value as string[])];
        const i = below(random, tokens.length);
        const how = below(random, 4);
        if (how === 0) tokens[i] = tokens[below(random, tokens.length)]!;
        else if (how === 1) tokens[i] = "";
        else if (how === 2) tokens.length = below(random, tokens.length);
        else tokens.push(`extra-${i}`);
        metadata.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens });
        done.push(`tokens: ${["repeat a token at", "empty token", "cut to", "append one after"][how]} ${how === 2 ? tokens.length : i}`);
        break;
      }
      case 3: {
        const key = pick(random, SPECIAL_IDS);
        const value = pick(random, [0, 255, 257, 258, 259, 1000, 0xffffffff]);
        metadata.set(key, { type: "u32", value });
        done.push(`${key} = ${value}`);
        break;
      }
      case 4: {
        const [key, value] = pick(random, [
          ["llama.rope.scaling.type", { type: "string", value: pick(random, ["linear", "yarn", "bogus"]) }],
          ["llama.rope.scaling.factor", { type: "f32", value: pick(random, [0, -2, 4, NaN]) }],
          ["llama.expert_count", { type: "u32", value: pick(random, [0, 2, 2000]) }],
          ["llama.expert_used_count", { type: "u32", value: pick(random, [0, 1, 3]) }],
          ["llama.attention.key_length", { type: "u32", value: pick(random, [0, 8, 16, 17]) }],
          ["llama.attention.value_length", { type: "u32", value: pick(random, [0, 8, 16]) }],
          ["llama.rope.dimension_count", { type: "u32", value: pick(random, [0, 3, 8, 16, 32]) }],
          ["llama.attention.head_count", { type: "array", itemType: "u32", value: [4, pick(random, [0, 2, 4, 8])] }],
          ["llama.attention.head_count_kv", { type: "u32", value: pick(random, [0, 1, 3, 4, 8]) }],
          ["llama.block_count", { type: "u32", value: pick(random, [0, 1, 3, 600]) }],
          ["tokenizer.ggml.add_eos_token", { type: "bool", value: true }],
          ["tokenizer.ggml.model", { type: "string", value: pick(random, ["llama", "bert", "t5", "none", "gpt2"]) }],
          ["tokenizer.ggml.pre", { type: "string", value: pick(random, ["llama-bpe", "qwen2", "default", "bogus"]) }],
          ["tokenizer.ggml.scores", { type: "array", itemType: "f32", value: new Array(pick(random, [10, 258])).fill(pick(random, [0, NaN])) }],
          ["tokenizer.ggml.merges", { type: "array", itemType: "string", value: pick(random, [["a b"], [" "], [""], ["Ġ t", "Ġt he"]]) }],
          // Token kinds: 6 is a byte token, which llama.cpp decodes from text of the form <0xNN>.
          ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: Array.from({ length: 258 }, () => pick(random, [-1, 0, 1, 2, 3, 4, 5, 6, 7, 100])) }],
        ] as [string, GgufValue][]);
        metadata.set(key, value);
        done.push(`${key} = ${JSON.stringify(value.value).slice(0, 40)}`);
        break;
      }
      case 5: {
        const i = below(random, tensors.length);
        const t = tensors[i]!;
        const dims = [...t.dims];
        const d = below(random, dims.length + 1);
        if (d === dims.length) dims.push(pick(random, [1, 2]));
        else dims[d] = pick(random, [1, dims[d]! - 1, dims[d]! + 1, dims[d]! * 2]);
        tensors[i] = { ...t, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) };
        done.push(`tensor ${t.name} dims [${dims.join(", ")}]`);
        break;
      }
      case 6: {
        const i = below(random, tensors.length);
        done.push(`remove tensor ${tensors[i]!.name}`);
        tensors = tensors.filter((_, j) => j !== i);
        break;
      }
      default: {
        const i = below(random, tensors.length);
        const t = tensors[i]!;
        const data = new Float32Array(t.dims.reduce((a, b) => a * b, 1));
        const value = pick(random, [NaN, Infinity, 1e30, 0]);
        data.fill(value);
        tensors[i] = { ...t, data, type: random.nextFloat() < 0.5 ? GgmlType.F16 : GgmlType.F32 };
        done.push(`tensor ${t.name} filled with ${value}`);
      }
    }
  }
  writeGguf(path, { metadata, tensors });
  return done.join(", ") || "nothing";
}

/**
 * The model with one tensor's ggml type changed in its header to another of the same element size
 * (F32 to I32, F16 to BF16 or I16...), so the file stays consistent and reaches the computation.
 */
function retypeTensor(s: ModelSeed, random: SeededRandom): { bytes: Uint8Array; what: string } {
  const bytes = Uint8Array.from(s.bytes);
  const tensor = pick(random, s.tensors);
  // The name as the header stores it: a u64 length, then the bytes.
  const name = Buffer.alloc(8 + Buffer.byteLength(tensor.name));
  name.writeBigUInt64LE(BigInt(name.length - 8));
  name.write(tensor.name, 8);
  const view = Buffer.from(bytes.buffer);
  const at = view.indexOf(name, 24) + name.length;
  const typeAt = at + 4 + 8 * view.readUInt32LE(at);
  const type = pick(random, [GgmlType.I32, GgmlType.F16, GgmlType.BF16, GgmlType.I16, GgmlType.Q8_K, GgmlType.F64]);
  view.writeUInt32LE(type, typeAt);
  return { bytes, what: `tensor ${tensor.name} retyped to ${GgmlType[type]}` };
}

/** What lethe does with a model file: the header checks, its own tokenizer, llama.cpp, the trainer. */
async function useModel(path: string, results: string[], trainToo: boolean): Promise<void> {
  let file;
  try {
    file = inspectModelFile(path);
    results.push("inspect ok");
  } catch (error) {
    results.push(`inspect ${outcome(error)}`);
    return;
  }
  await step(results, "tokenizer", () => {
    const tokenizer = BpeTokenizer.fromGgufMetadata(file.metadata);
    tokenizer.decode(tokenizer.encode("Tallwyn went to Ololesk.", { addBos: true }));
  });
  let ids: number[] = [];
  await step(results, "llama.cpp", async () => {
    const model = await Model.load(path, { threads: 1, generationThreads: 1, contextLength: 32, maxSequences: 1, packTokens: 32 });
    try {
      ids = model.tokenize("Tallwyn went to Ololesk: \u00e9, \u4e16, \ud83d\ude00.").slice(0, 12);
      await model.tokenLogprobs([ids]);
      const { tokens } = await model.generate(ids, { maxTokens: 1 });
      model.detokenize(tokens);
    } finally {
      await model.dispose();
    }
  });
  if (!trainToo) return;
  await step(results, "trainer", async () => {
    checkTrainable(path);
    const trainer = await Trainer.load(path, { threads: 1 });
    try {
      const seq = ids.length >= 2 ? ids : [1, 2, 3];
      await trainer.loss(nextTokenBatch([seq.filter((t) => t < trainer.info.nVocab)]));
    } finally {
      await trainer.dispose();
    }
  });
}

// ---- one case ------------------------------------------------------------------------------------

/** Case `i` of `seed`: the mutation (made and described now) and how to run it. */
function makeCase(s: Seeds, dir: string, seed: number, i: number): { target: string; what: string; run: (results: string[]) => Promise<unknown> } {
  const { target, index } = targetOf(i);
  const random = new SeededRandom(seed * 1000 + i);
  switch (target) {
    case "gguf-bytes": {
      const [seed, kind] = index % 2 === 0 ? [s.models[0]!, "bpe"] : [s.models[1]!, "spm"];
      const damaged = random.nextFloat() < 0.25 ? retypeTensor(seed, random) : mutateBytes(seed.bytes, random, seed.headerBytes);
      const mutated = { bytes: damaged.bytes, what: `${kind} model: ${damaged.what}` };
      const path = join(dir, `case-${i}.gguf`);
      writeFileSync(path, mutated.bytes);
      // The trainer costs most; every fourth file goes through it too.
      return { target, what: mutated.what, run: (results) => useModel(path, results, index % 4 < 2) };
    }
    case "gguf-values": {
      const path = join(dir, `case-${i}.gguf`);
      const spm = index % 2 === 1;
      const what = `${spm ? "spm" : "bpe"} model: ${mutateModel(s.models[spm ? 1 : 0]!, random, path)}`;
      return { target, what, run: (results) => useModel(path, results, index % 4 < 2) };
    }
    case "labels": {
      const mutated = mutateBytes(s.labels, random);
      const run = (results: string[]) =>
        step(results, "decodeBlocks", () => {
          for (const block of decodeBlocks(mutated.bytes, "labels.bin")) {
            const k = block.labels.k ?? 1;
            if (block.labels.target.length !== block.tokens.length * k || block.labels.weight.length !== block.labels.target.length) {
              throw new Error(`a decoded block has ${block.tokens.length} tokens but ${block.labels.target.length} targets for k = ${k}`);
            }
          }
        });
      return { target, what: mutated.what, run };
    }
    case "manifest": {
      const asBytes = random.nextFloat() < 0.5;
      const mutated = asBytes ? mutateBytes(new TextEncoder().encode(JSON.stringify(s.manifest, null, 2)), random) : undefined;
      const edited = asBytes ? undefined : mutateJson(s.manifest, random);
      const text = mutated ? new TextDecoder().decode(mutated.bytes) : (JSON.stringify(edited!.value) ?? "");
      return {
        target,
        what: mutated ? `bytes: ${mutated.what}` : `json: ${edited!.what}`,
        run: (results) => step(results, "parseManifest", () => parseManifest(text, "manifest.json")),
      };
    }
    case "tokenizer": {
      const asBytes = random.nextFloat() < 0.3;
      const mutated = asBytes ? mutateBytes(new TextEncoder().encode(JSON.stringify(s.tokenizer)), random) : undefined;
      const edited = asBytes ? undefined : mutateJson(s.tokenizer, random);
      const run = async (results: string[]) => {
        let json: unknown = edited?.value;
        if (mutated) {
          try {
            json = JSON.parse(new TextDecoder().decode(mutated.bytes));
          } catch {
            // The loaders turn unparseable JSON into an InputError before the tokenizer sees it.
            results.push("JSON.parse typed:SyntaxError");
            return;
          }
        }
        await step(results, "tokenizer", () => {
          const tokenizer = BpeTokenizer.fromJSON(json);
          tokenizer.decode(tokenizer.encode("the cat sat on the log; Tallwyn \u00e9\u4e16\ud83d\ude00", { addBos: true, addEos: true }));
        });
      };
      return { target, what: mutated ? `bytes: ${mutated.what}` : `json: ${edited!.what}`, run };
    }
  }
}

async function main(): Promise<void> {
  const [dir, seedText, startText, endText] = process.argv.slice(2);
  const seed = Number(seedText);
  const [start, end] = [Number(startText), Math.min(Number(endText), TOTAL_CASES)];
  mkdirSync(dir!, { recursive: true });
  const s = seeds(dir!);
  for (let i = start; i < end; i++) {
    const { target, what, run } = makeCase(s, dir!, seed, i);
    process.stdout.write(`${JSON.stringify({ i, target, what, started: true })}\n`);
    const started = performance.now();
    const results: string[] = [];
    await run(results);
    process.stdout.write(`${JSON.stringify({ i, target, what, results, ms: Math.round(performance.now() - started) })}\n`);
  }
}

await main();
