/**
 * GGUF LoRA adapters in llama.cpp's format (src/llama-adapter.cpp, convert_lora_to_gguf.py):
 * general.type "adapter", adapter.type "lora", adapter.lora.alpha, and for each adapted base tensor
 * W [n_in, n_out] a pair `<W>.lora_a` [n_in, r] and `<W>.lora_b` [r, n_out] (ggml order). The
 * update is W + (alpha / r) · B·A. Checked here against the base before llama.cpp or the trainer
 * sees the pair, so a mismatched adapter is a clear error rather than a native failure.
 */
import { FileFormatError, InputError } from "../errors.js";
import { readGguf } from "./read.js";
import type { GgufFile } from "./types.js";

export interface LoraAdapterInfo {
  path: string;
  architecture: string;
  alpha: number;
  /** The pairs' inner width (the largest, should an adapter mix them). */
  rank: number;
  /** The base tensors the adapter changes, in file order. */
  tensors: string[];
  /** Their kinds, e.g. "attn_q" for blk.3.attn_q.weight: what the trainer's LoRA targets name. */
  targets: string[];
}

const SUFFIXES = [".lora_a", ".lora_b"] as const;

/** Reads an adapter's header and checks it against the base model it is meant for. */
export function inspectLoraAdapter(path: string, base: GgufFile): LoraAdapterInfo {
  const file = readGguf(path);
  const str = (key: string): string | undefined => {
    const v = file.metadata.get(key);
    return v?.type === "string" ? v.value : undefined;
  };
  if (str("general.type") !== "adapter" || str("adapter.type") !== "lora") {
    throw new FileFormatError(
      `${path} is not a LoRA adapter: general.type is ${JSON.stringify(str("general.type"))} and adapter.type ${JSON.stringify(str("adapter.type"))} (expected "adapter" and "lora")`,
      "pass an adapter written by `lethe unlearn --lora` or llama.cpp's convert_lora_to_gguf.py",
    );
  }
  const architecture = str("general.architecture") ?? "";
  const baseArch = base.metadata.get("general.architecture");
  if (baseArch?.type !== "string" || baseArch.value !== architecture) {
    throw new InputError(
      `adapter ${path} is for architecture "${architecture}", but ${base.path} is "${baseArch?.type === "string" ? baseArch.value : "?"}"`,
      "use the adapter with the base model it was trained on",
    );
  }
  const alphaValue = file.metadata.get("adapter.lora.alpha");
  const alpha = alphaValue && typeof alphaValue.value === "number" ? alphaValue.value : 0;

  const pairs = new Map<string, { a?: number[]; b?: number[] }>();
  for (const t of file.tensors) {
    const suffix = SUFFIXES.find((s) => t.name.endsWith(s));
    if (!suffix) {
      // llama.cpp skips norm vectors in adapters; anything else it refuses.
      if (t.name.endsWith("_norm.weight")) continue;
      throw new FileFormatError(`adapter ${path} has tensor ${t.name}, which is neither .lora_a nor .lora_b`, "write the adapter with lethe or llama.cpp's converter");
    }
    const name = t.name.slice(0, -suffix.length);
    const pair = pairs.get(name) ?? {};
    pair[suffix === ".lora_a" ? "a" : "b"] = t.dims;
    pairs.set(name, pair);
  }
  if (pairs.size === 0) throw new FileFormatError(`adapter ${path} holds no LoRA pairs`, "train the adapter again");

  let rank = 0;
  for (const [name, { a, b }] of pairs) {
    if (!a || !b) throw new FileFormatError(`adapter ${path} has only one of ${name}.lora_a and ${name}.lora_b`, "write the adapter again");
    const w = base.tensors.find((t) => t.name === name);
    const mismatch = `adapter ${path} does not fit ${base.path}`;
    const fix = "use the adapter with the base model it was trained on";
    if (!w) throw new InputError(`${mismatch}: the base has no tensor ${name}`, fix);
    if (a[0] !== w.dims[0] || b[1] !== w.dims[1] || a[1] !== b[0]) {
      throw new InputError(
        `${mismatch}: ${name} is [${w.dims.join(", ")}] but its pair is A [${a.join(", ")}], B [${b.join(", ")}] (expected A [${w.dims[0]}, r], B [r, ${w.dims[1]}])`,
        fix,
      );
    }
    rank = Math.max(rank, a[1]!);
  }
  const tensors = [...pairs.keys()];
  const targets = [...new Set(tensors.map((name) => /^blk\.\d+\.(.+)\.weight$/.exec(name)?.[1] ?? name))];
  return { path, architecture, alpha, rank, tensors, targets };
}
