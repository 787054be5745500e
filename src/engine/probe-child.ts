/**
 * The child side of probe.ts: loads one model through llama.cpp, tokenizes, scores and generates a
 * token, and prints one JSON line, {"ok":true} or {"ok":false,"error":{name,message,fix}}. A native
 * abort ends this process instead of the caller's.
 *
 * argv: <model path> <"checked" | "unchecked">. "unchecked" skips lethe's header checks and calls
 * the addon directly, to see what llama.cpp itself does with the file (tests and the fuzzer).
 */
import { LetheError } from "../errors.js";
import { Model } from "./model.js";
import { native, translateNativeError } from "./native.js";

// Non-ASCII too, so that tokenizing falls back to byte tokens where a vocabulary has no piece.
const TEXT = "The probe reads a line: \u00e9, \u4e16, \ud83d\ude00.\n";

async function checked(path: string): Promise<void> {
  const model = await Model.load(path, { threads: 1, generationThreads: 1, contextLength: 32, maxSequences: 1, packTokens: 32 });
  try {
    const ids = model.tokenize(TEXT).slice(0, 16);
    await model.tokenLogprobs([ids]);
    const { tokens } = await model.generate(ids, { maxTokens: 1 });
    model.detokenize(tokens, { keepSpecial: true });
  } finally {
    await model.dispose();
  }
}

async function unchecked(path: string): Promise<void> {
  let handle;
  try {
    handle = new (native().LlamaModel)(path, {
      threads: 1,
      generationThreads: 1,
      nCtx: 32,
      nSeqMax: 1,
      kvF32: true,
      useMmap: true,
      flashAttn: false,
      packTokens: 32,
    });
  } catch (e) {
    throw translateNativeError(e, `loading ${path}`);
  }
  try {
    const { bos, nVocab } = handle.info();
    const ids = Array.from(handle.tokenize(TEXT, false, false)).slice(0, 15);
    const seq = Int32Array.from(bos >= 0 && bos < nVocab ? [bos, ...ids] : ids.length > 0 ? ids : [0]);
    await handle.tokenLogprobs([seq]);
    const out = await handle.generate(seq, { maxTokens: 1, temperature: 0, topK: 0, topP: 1, seed: 0 });
    handle.detokenize(out, false);
  } catch (e) {
    throw translateNativeError(e, `probing ${path}`);
  } finally {
    handle.dispose();
  }
}

async function main(): Promise<void> {
  const [path, mode] = process.argv.slice(2);
  let line: unknown;
  try {
    if (!path) throw new Error("usage: probe-child <model.gguf> [checked|unchecked]");
    await (mode === "unchecked" ? unchecked(path) : checked(path));
    line = { ok: true };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    line = { ok: false, error: { name: error.name, message: error.message, fix: e instanceof LetheError ? e.fix : undefined } };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

await main();
