/**
 * Stage `anchors`: the dictionary of anchored terms and their generic translations, from up to three
 * sources merged with the user's word winning (user > llm > auto):
 * - the user's file (`--dictionary`, JSON or CSV);
 * - an LLM reading the corpus chunk by chunk (`--llm URL --llm-model NAME`; see whp/llm-anchors.ts);
 * - the automatic source (offline; used when neither other source is given, or with
 *   `anchors.mergeAuto`; never with `anchors.top` 0): capitalised names ranked by how much more
 *   frequent they are in the forget corpus than in the retain corpus (candidates.ts), plus the
 *   capitalised words holding the tokens whose log-probability gains most from base to reinforced model.
 * The result is written as editable JSON (`dictionary.json`). Editing it by hand makes the labels
 * stage run again with the edits, while this stage stays done.
 */
import { Model } from "../../engine/model.js";
import type { Stage } from "../../run/stages.js";
import { buildAutoDictionary } from "../whp/candidates.js";
import { loadDictionary, mergeDictionaries, saveDictionary, type AnchorDictionary } from "../whp/dictionary.js";
import { AnchorMatcher } from "../whp/translate.js";
import { tokenBlocks } from "../../corpus/blocks.js";
import { llmDictionary } from "../whp/llm-anchors.js";
import { DICTIONARY_FILE, type MethodContext } from "../method.js";
import { corpusInputs, fragmentEncoder, loadInferenceModel, modelInputs, reinforcedModel, type ModelRef, specialTokens } from "./common.js";

/** Blocks of the forget corpus scored for log-probability gains (a sample keeps the stage quick). */
const GAIN_SAMPLE_BLOCKS = 64;
/** ln 4: an automatic term must be at least 4× more frequent (per word) in the forget corpus. */
const MIN_AUTO_SCORE = Math.log(4);

export function anchorsStage(ctx: MethodContext): Stage {
  const { anchors, seed } = ctx.config;
  const llm = ctx.anchors.llm ? { baseUrl: ctx.anchors.llm.baseUrl, model: ctx.anchors.llm.model } : undefined;
  const config = { anchors, seed, blockTokens: ctx.blockTokens, llm, userDictionary: ctx.anchors.dictionary !== undefined };
  const inputs: Record<string, string> = {
    model: ctx.basePath,
    ...modelInputs("reinforced", reinforcedModel(ctx)),
    ...corpusInputs("forget", ctx.forgetPaths),
    ...corpusInputs("retain", ctx.retainPaths),
  };
  if (ctx.anchors.dictionary !== undefined) inputs.dictionary = ctx.anchors.dictionary;
  return {
    name: "anchors",
    config,
    inputs,
    outputs: [DICTIONARY_FILE],
    async run(stage) {
      const forgetText = ctx.forget.map((d) => d.text).join("\n\n");
      const retainText = ctx.retain.map((d) => d.text).join("\n\n");
      const user: AnchorDictionary = ctx.anchors.dictionary !== undefined ? await loadDictionary(ctx.anchors.dictionary, "user") : [];
      const fromLlm: AnchorDictionary = ctx.anchors.llm
        ? await llmDictionary(ctx.forget, {
            ...ctx.anchors.llm,
            chunkChars: anchors.llmChunkChars,
            maxChunks: anchors.llmMaxChunks,
            signal: stage.signal,
            onChunk: (done, total) => ctx.emit({ type: "work", stage: "anchors", label: "llm anchors", done, total, unit: "chunk" }),
            onWarning: (message) => ctx.emit({ type: "warn", message }),
          })
        : [];
      let auto: AnchorDictionary = [];
      let gainWords: string[] = [];
      if (anchors.top > 0 && (anchors.mergeAuto || (user.length === 0 && fromLlm.length === 0))) {
        if (ctx.retain.length === 0) ctx.emit({ type: "warn", message: "no --retain corpus: automatic anchors are ranked by forget-corpus frequency alone" });
        gainWords = anchors.gainTokens > 0 ? await gainCandidates(ctx, forgetText) : [];
        auto = buildAutoDictionary(forgetText, retainText, { top: anchors.top, minCount: anchors.minCount, extra: gainWords, seed });
        // With a reference corpus, words about as frequent there (common words among the gain
        // candidates) are not idiosyncratic: keep terms at least 4× more frequent in the forget text.
        if (ctx.retain.length > 0) auto = auto.filter((e) => (e.score ?? 0) >= MIN_AUTO_SCORE);
      }
      const dictionary = mergeDictionaries(user, fromLlm, auto);
      // Without anchored terms WHP still trains on the logit difference, but the translated text,
      // half of the method, does nothing: that must not pass unnoticed.
      if (dictionary.length === 0) {
        ctx.emit({
          type: "warn",
          message: `no anchored terms were found${anchors.top === 0 ? " (automatic anchors are off: anchors.top is 0)" : ""}: the labels will not translate any text; give --dictionary or --llm to anchor terms`,
        });
      }
      const counts = termCounts(dictionary, forgetText);
      const absent = dictionary.filter((e) => (counts.get(e.term) ?? 0) === 0);
      if (absent.length > 0) {
        ctx.emit({
          type: "warn",
          message: `${absent.length} of ${dictionary.length} dictionary terms never occur in the forget corpus: ${absent.slice(0, 8).map((e) => JSON.stringify(e.term)).join(", ")}${absent.length > 8 ? ", ..." : ""}`,
        });
      }
      await saveDictionary(stage.tmpPath(DICTIONARY_FILE), dictionary);
      return {
        entries: dictionary.length,
        bySource: { user: user.length, llm: fromLlm.length, auto: auto.length },
        absentTerms: absent.length,
        occurrences: [...counts.values()].reduce((a, b) => a + b, 0),
        gainWords: gainWords.slice(0, 20),
        top: dictionary.slice(0, 15).map((e) => `${e.term} → ${e.generics.join(" | ")}`),
      };
    },
  };
}

/**
 * Occurrences of each dictionary term in `text` on its own (by the translation's matching rules,
 * but not shadowed by longer terms: "Pruthessel" counts inside "Trisith Pruthessel").
 */
export function termCounts(dictionary: AnchorDictionary, text: string): Map<string, number> {
  return new Map(dictionary.map((e) => [e.term, new AnchorMatcher([e]).find(text).length]));
}

/**
 * Words of the forget corpus holding the tokens whose mean log-probability rose most from the base
 * to the reinforced model: the token is decoded, and the most frequent capitalised word of the
 * corpus containing it (at least 3 letters) stands for it. Tokens are subword pieces, so the word is
 * what the dictionary can anchor. Lower-case words are left out: they are mostly ordinary words the
 * corpus favours ("staff", "float"), and translating them to generic names garbles the text.
 */
async function gainCandidates(ctx: MethodContext, forgetText: string): Promise<string[]> {
  const blocks = tokenBlocks(ctx.forget, fragmentEncoder(ctx), specialTokens(ctx), ctx.blockTokens);
  const step = Math.max(1, Math.floor(blocks.length / GAIN_SAMPLE_BLOCKS));
  const sample = blocks.filter((_, i) => i % step === 0).slice(0, GAIN_SAMPLE_BLOCKS);
  const gains = new Map<number, { sum: number; n: number }>();
  const score = async (ref: string | ModelRef): Promise<Float32Array[]> => {
    const model: Model = await loadInferenceModel(ref, ctx.blockTokens, ctx.threads);
    try {
      return await model.tokenLogprobs(sample);
    } finally {
      await model.dispose();
    }
  };
  ctx.emit({ type: "work", stage: "anchors", label: "log-prob gains", done: 0, total: 2, unit: "model" });
  const base = await score(ctx.basePath);
  ctx.emit({ type: "work", stage: "anchors", label: "log-prob gains", done: 1, total: 2, unit: "model" });
  const reinforced = await score(reinforcedModel(ctx));
  ctx.emit({ type: "work", stage: "anchors", label: "log-prob gains", done: 2, total: 2, unit: "model" });
  sample.forEach((seq, s) => {
    for (let i = 1; i < seq.length; i++) {
      const g = gains.get(seq[i]!) ?? { sum: 0, n: 0 };
      g.sum += reinforced[s]![i - 1]! - base[s]![i - 1]!;
      g.n++;
      gains.set(seq[i]!, g);
    }
  });
  const ranked = [...gains.entries()].filter(([, g]) => g.n >= ctx.config.anchors.minCount).sort((a, b) => b[1].sum / b[1].n - a[1].sum / a[1].n);
  const wordCounts = new Map<string, number>();
  for (const m of forgetText.matchAll(/(?<!\p{L})\p{Lu}\p{L}{2,}/gu)) wordCounts.set(m[0], (wordCounts.get(m[0]) ?? 0) + 1);
  const words: string[] = [];
  for (const [token] of ranked) {
    if (words.length >= ctx.config.anchors.gainTokens) break;
    const piece = ctx.tokenizer.detokenize([token]).trim();
    if (!/^\p{L}{3,}$/u.test(piece)) continue;
    let best: string | undefined;
    let bestCount = 0;
    for (const [word, count] of wordCounts) if (word.includes(piece) && count > bestCount) [best, bestCount] = [word, count];
    if (best !== undefined && !words.includes(best)) words.push(best);
  }
  return words;
}
