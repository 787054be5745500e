// Shared helpers of the unlearning tests: the micro testbed's corpora as files, and the measures
// the end-to-end tests assert on (probability of idiosyncratic continuations, generic perplexity).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Model } from "../../src/engine/model.js";
import { microTestbed, type MicroTestbed } from "../fixtures/micro-testbed.js";

export interface MicroCorpora {
  tb: MicroTestbed;
  forgetDir: string;
  retainDir: string;
}

/**
 * Writes the micro testbed's universe (forget) and generic (retain) documents under `dir`; `limit`
 * keeps only the first documents of each (for quick tests).
 */
export async function microCorpora(dir: string, limit?: number): Promise<MicroCorpora> {
  const tb = await microTestbed();
  const forgetDir = join(dir, "forget");
  const retainDir = join(dir, "retain");
  mkdirSync(forgetDir, { recursive: true });
  mkdirSync(retainDir, { recursive: true });
  tb.text.universe.slice(0, limit).forEach((doc, i) => writeFileSync(join(forgetDir, `u${String(i).padStart(3, "0")}.txt`), doc));
  tb.text.generic.slice(0, limit).forEach((doc, i) => writeFileSync(join(retainDir, `g${String(i).padStart(3, "0")}.txt`), doc));
  return { tb, forgetDir, retainDir };
}

/** Mean probability of each prompt's first target (probability prompts) or answer (facts). */
export async function continuationProbability(model: Model, items: { prompt: string; target: string }[]): Promise<number> {
  const seqs: number[][] = [];
  const starts: number[] = [];
  for (const { prompt, target } of items) {
    const head = model.tokenize(prompt);
    starts.push(head.length);
    seqs.push([...head, ...model.tokenize(target, { addBos: false })]);
  }
  const lps = await model.tokenLogprobs(seqs);
  let total = 0;
  lps.forEach((lp, i) => {
    let sum = 0;
    for (let j = starts[i]! - 1; j < lp.length; j++) sum += lp[j]!;
    total += Math.exp(sum);
  });
  return total / items.length;
}

/** Perplexity of documents cut into blocks of `block` tokens (BOS first). */
export async function perplexity(model: Model, docs: string[], block = 127): Promise<number> {
  const seqs: number[][] = [];
  for (const doc of docs) {
    const ids = model.tokenize(doc, { addBos: false });
    for (let i = 0; i + 8 < ids.length; i += block) seqs.push([model.info.bosId, ...ids.slice(i, i + block)]);
  }
  const lps = await model.tokenLogprobs(seqs);
  let sum = 0;
  let n = 0;
  for (const lp of lps) for (const v of lp) {
    sum += v;
    n++;
  }
  return Math.exp(-sum / n);
}

/** The measures of one model on the micro testbed. */
export async function measure(path: string, tb: MicroTestbed): Promise<{ probPrompts: number; facts: number; genericPpl: number }> {
  const model = await Model.load(path, { threads: 2, contextLength: 256 });
  try {
    const probPrompts = await continuationProbability(model, tb.text.truth.probabilityPrompts.map((p) => ({ prompt: p.prompt, target: p.targets[0]! })));
    const facts = await continuationProbability(model, tb.text.truth.facts.map((f) => ({ prompt: f.prompt, target: ` ${f.answer}` })));
    const genericPpl = await perplexity(model, tb.text.heldOut.generic);
    return { probPrompts, facts, genericPpl };
  } finally {
    await model.dispose();
  }
}

/** A model file's probability of `items` and perplexity on `docs`, loaded for the measurement only. */
export async function scoreModel(path: string, items: { prompt: string; target: string }[], docs: string[]): Promise<{ p: number; ppl: number }> {
  const model = await Model.load(path, { threads: 2, contextLength: 256 });
  try {
    return { p: await continuationProbability(model, items), ppl: await perplexity(model, docs) };
  } finally {
    await model.dispose();
  }
}
