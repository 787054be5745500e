// Model files whose header parses but which llama.cpp or the trainer would abort on (issue 13) are
// refused with an InputError naming the file and the key, before any native code sees them.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Model } from "../../src/engine/model.js";
import { probeModelFile } from "../../src/engine/probe.js";
import { Trainer } from "../../src/engine/trainer.js";
import { EngineError, InputError, UnsupportedModelError } from "../../src/errors.js";
import { createLlamaGguf } from "../../src/gguf/llama.js";
import { readGguf, readTensorF32 } from "../../src/gguf/read.js";
import { GgmlType } from "../../src/gguf/types.js";
import { writeGguf } from "../../src/gguf/write.js";
import { validateModelFile } from "../../src/gguf/validate.js";
import { BAD_MODELS, makeBadModel, sentencePieceMetadata } from "../fixtures/bad-models.js";
import { TINY_LLAMA_CONFIG, makeTinyModel } from "../fixtures/tiny-model.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("validate");

function refused(path: string, names: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.ok(error.message.startsWith(path), `the message names the file: ${error.message}`);
    assert.match(error.message, names);
    assert.ok(error.fix.length > 0);
    return true;
  };
}

for (const [name, bad] of Object.entries(BAD_MODELS)) {
  test(`${bad.problem} is an InputError naming the file and key, for the header check, llama.cpp loading and the trainer`, async () => {
    const path = makeBadModel(dir, name);
    assert.throws(() => validateModelFile(readGguf(path)), refused(path, bad.names));
    await assert.rejects(() => Model.load(path, { threads: 1 }), refused(path, bad.names));
    await assert.rejects(() => Trainer.load(path, { threads: 1 }), refused(path, bad.names));
  });
}

test("the valid tiny model passes, in F32 and F16, and so do tied embeddings and qwen2 biases", () => {
  for (const overrides of [{}, { dtype: "f16" as const }, { tiedEmbeddings: true }, { architecture: "qwen2" as const }]) {
    validateModelFile(readGguf(makeTinyModel(dir, overrides)));
  }
});

test("real SentencePiece and BPE vocabularies of many model families pass; other tokenizer kinds are unsupported (llama.cpp's vocab-only test models)", (t) => {
  const models = join(import.meta.dirname, "..", "..", "build", "llama-src", "models");
  if (!existsSync(models)) return t.skip("llama.cpp's source is not extracted in build/");
  const files = readdirSync(models).filter((f) => f.startsWith("ggml-vocab-") && f.endsWith(".gguf"));
  let passed = 0;
  for (const f of files) {
    const file = readGguf(join(models, f));
    const kind = file.metadata.get("tokenizer.ggml.model")?.value;
    if (kind === "llama" || kind === "gpt2") {
      validateModelFile(file);
      passed++;
    } else {
      assert.throws(() => validateModelFile(file), UnsupportedModelError, f);
    }
  }
  assert.ok(passed > 10, `${passed} vocabularies checked`);
});

// Without the checks llama.cpp itself aborts on these files; the probe's child process sees the
// abort from outside and reports it as a crash instead of ending this process.
for (const name of ["duplicate-token", "nan-eps", "f16-norm"] as const) {
  test(`unchecked, llama.cpp aborts on ${BAD_MODELS[name]!.problem}; the probe reports the crash, checked it reports the InputError`, async () => {
    const path = makeBadModel(dir, name);
    const raw = await probeModelFile(path, { checks: false });
    assert.equal(raw.ok, false);
    assert.ok(!raw.ok && raw.crashed && raw.error instanceof EngineError);
    assert.match(raw.error.message, /aborted the process \(SIGABRT\)/);
    assert.match(raw.error.message, /GGML_ASSERT|unsupported types/);
    const checked = await probeModelFile(path);
    assert.ok(!checked.ok && !checked.crashed && checked.error instanceof InputError);
    assert.match(checked.error.message, BAD_MODELS[name]!.names);
  });
}

// Found by the fuzzer: with no tokenizer llama.cpp loads the model, then asserts on the first text.
test("a model without a tokenizer (tokenizer.ggml.model \"none\") is refused; unchecked, llama.cpp aborts tokenizing", async () => {
  const file = readGguf(makeTinyModel(dir));
  const path = join(dir, "no-tokenizer.gguf");
  const metadata = new Map(file.metadata).set("tokenizer.ggml.model", { type: "string", value: "none" });
  writeGguf(path, { metadata, tensors: file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: readTensorF32(file, t.name) })) });
  await assert.rejects(
    () => Model.load(path, { threads: 1 }),
    (e: unknown) => e instanceof UnsupportedModelError && e.message.startsWith(path) && /"tokenizer\.ggml\.model" is string "none"/.test(e.message),
  );
  const raw = await probeModelFile(path, { checks: false });
  assert.ok(!raw.ok && raw.crashed);
  assert.match(raw.error.message, /Tokenizer not initialized/);
});

/** A copy of the tiny model with tensor `name`'s ggml type changed in its header (the data stays as it is). */
function retyped(name: string, type: GgmlType): string {
  const bytes = readFileSync(makeTinyModel(dir));
  const stored = Buffer.alloc(8 + name.length);
  stored.writeBigUInt64LE(BigInt(name.length));
  stored.write(name, 8);
  const at = bytes.indexOf(stored) + stored.length;
  bytes.writeUInt32LE(type, at + 4 + 8 * bytes.readUInt32LE(at));
  const path = join(dir, `retyped-${name}-${type}.gguf`);
  writeFileSync(path, bytes);
  return path;
}

// Found by the fuzzer: an integer-typed weight of the right size crashes ggml (SIGSEGV in a matrix
// product, SIGABRT in the embedding lookup).
test("a weight stored in an integer type is refused; unchecked, llama.cpp crashes on it", async () => {
  for (const [name, type] of [["blk.0.attn_q.weight", GgmlType.I32], ["token_embd.weight", GgmlType.I32], ["output.weight", GgmlType.Q8_1]] as const) {
    const path = retyped(name, type);
    await assert.rejects(() => Model.load(path, { threads: 1 }), refused(path, new RegExp(`tensor "${name.replace(/\./g, "\\.")}" is ${GgmlType[type]}, a type ggml cannot compute with`)));
  }
  const raw = await probeModelFile(retyped("blk.0.attn_q.weight", GgmlType.I32), { checks: false });
  assert.ok(!raw.ok && raw.crashed);
  assert.match(raw.error.message, /aborted the process \(SIG(SEGV|ABRT)\)/);
});

// llama.cpp tokenizes text a SentencePiece vocabulary has no piece for through byte tokens; a
// missing one throws std::out_of_range through the addon, which terminates the process.
test("a SentencePiece vocabulary without a byte token is refused; unchecked, llama.cpp terminates tokenizing \"é\"", async () => {
  const spm = (name: string, withoutBytes: number[]) => {
    const tokenizer = sentencePieceMetadata(withoutBytes);
    const nVocab = (tokenizer.get("tokenizer.ggml.tokens")!.value as string[]).length;
    const path = join(dir, name);
    createLlamaGguf(path, { config: { ...TINY_LLAMA_CONFIG, nVocab }, tokenizer, seed: 1 });
    return path;
  };
  const complete = spm("spm.gguf", []);
  validateModelFile(readGguf(complete));
  const model = await Model.load(complete, { threads: 1, contextLength: 32 });
  assert.ok(model.tokenize("the cat \u00e9").length > 3);
  await model.dispose();

  const missing = spm("spm-missing-byte.gguf", [0xc3]);
  await assert.rejects(() => Model.load(missing, { threads: 1 }), refused(missing, /has no byte token <0xC3>/));
  const raw = await probeModelFile(missing, { checks: false });
  assert.ok(!raw.ok && raw.crashed);
  assert.match(raw.error.message, /std::out_of_range|terminate/);
});

test("the probe passes a good model", async () => {
  assert.deepEqual(await probeModelFile(makeTinyModel(dir)), { ok: true });
});
