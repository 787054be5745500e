/**
 * Stage `labels`: the generic predictions of the "Who's Harry Potter" method, block by block over
 * the forget corpus. Each block is translated with the dictionary (translate.ts); the base model
 * reads the translated block and the reinforced model the original; their logits are combined as
 * v_base(translated, mapped back) − α·ReLU(v_reinforced(original) − v_base(...)) and the argmax is
 * the label, with the consistency rules of labels.ts.
 *
 * Blocks are cut at word and anchor boundaries (splitIntoBlocks) so that both sides fit the block
 * size; the model's BOS, where it uses one, is put in front of both sides and its row is dropped.
 * Each finished block is kept in `work/labels-<key>/` so a killed run resumes at the next block.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Model } from "../../engine/model.js";
import { CancelledError } from "../../errors.js";
import { hashConfig } from "../../run/hash.js";
import type { Stage } from "../../run/stages.js";
import { loadDictionary } from "../whp/dictionary.js";
import { anchorTokens, buildLabels, labelStats, type BlockLabels, type LabelChange } from "../whp/labels.js";
import { AnchorMatcher, splitIntoBlocks, translateBlock } from "../whp/translate.js";
import { decodeBlocks, encodeBlock } from "../label-store.js";
import { DICTIONARY_FILE, LABEL_STATS_FILE, LABELS_FILE, type MethodContext } from "../method.js";
import { checkSameVocabulary, corpusInputs, fragmentEncoder, inputFingerprints, loadInferenceModel, reinforcedPath, specialTokens } from "./common.js";

/** Blocks per logits call. */
const LOGITS_GROUP = 4;

export function labelsStage(ctx: MethodContext): Stage {
  const { alpha, suppressAnchors, topK } = ctx.config.labels;
  const config = { alpha, suppressAnchors, topK, blockTokens: ctx.blockTokens, seed: ctx.config.seed };
  const inputs = {
    model: ctx.basePath,
    reinforced: reinforcedPath(ctx),
    dictionary: ctx.runDir.path(DICTIONARY_FILE),
    ...corpusInputs("forget", ctx.forgetPaths),
  };
  return {
    name: "labels",
    config,
    inputs,
    outputs: [LABELS_FILE, LABEL_STATS_FILE],
    async run(stage) {
      checkSameVocabulary(ctx.basePath, reinforcedPath(ctx), "reinforced");
      // The user may have edited the dictionary; it is checked like any user file.
      const dictionary = await loadDictionary(ctx.runDir.path(DICTIONARY_FILE), "user");
      const matcher = new AnchorMatcher(dictionary);
      const encode = fragmentEncoder(ctx);
      const { bosId } = specialTokens(ctx);
      const head = bosId >= 0 ? [bosId] : [];
      const texts = ctx.forget.flatMap((doc) => splitIntoBlocks(doc.text, encode, ctx.blockTokens - head.length, matcher));
      const cacheDir = join(ctx.runDir.dir, "work", `labels-${hashConfig({ config, inputs: await inputFingerprints(inputs) }).slice(0, 16)}`);
      // Caches of other keys belong to superseded settings.
      for (const name of existsSync(join(ctx.runDir.dir, "work")) ? readdirSync(join(ctx.runDir.dir, "work")) : []) {
        if (name.startsWith("labels-") && join(ctx.runDir.dir, "work", name) !== cacheDir) rmSync(join(ctx.runDir.dir, "work", name), { recursive: true, force: true });
      }
      mkdirSync(cacheDir, { recursive: true });
      const blockFile = (i: number) => join(cacheDir, `block-${String(i).padStart(6, "0")}.bin`);

      let base: Model | undefined;
      let reinforced: Model | undefined;
      const vocab = ctx.tokenizer.info.nVocab;
      const anchorCounts = new Map<string, number>();
      const alignments = texts.map((text, i) => translateBlock(text, matcher, encode, { seed: ctx.config.seed + i }));
      for (const alignment of alignments) for (const span of alignment.anchors) anchorCounts.set(span.term, (anchorCounts.get(span.term) ?? 0) + 1);
      const suppress = config.suppressAnchors ? anchorTokens(alignments) : new Set<number>();
      try {
        const todo = texts.map((_, i) => i).filter((i) => !existsSync(blockFile(i)));
        let done = texts.length - todo.length;
        // A few blocks per logits call, so llama.cpp can pack short blocks into one decode.
        for (let g = 0; g < todo.length; g += LOGITS_GROUP) {
          if (stage.signal.aborted) throw new CancelledError("the labels stage");
          const group = todo.slice(g, g + LOGITS_GROUP);
          base ??= loadInferenceModel(ctx.basePath, ctx.blockTokens, ctx.threads);
          reinforced ??= loadInferenceModel(reinforcedPath(ctx), ctx.blockTokens, ctx.threads);
          const originals = group.map((i) => [...head, ...alignments[i]!.original]);
          const baseLogits = await base.logits(group.map((i) => [...head, ...alignments[i]!.translated]));
          const reinforcedLogits = await reinforced.logits(originals);
          group.forEach((i, k) => {
            // With BOS in front, drop BOS's row so rows line up with the alignment's positions.
            const labels = buildLabels({
              alignment: alignments[i]!,
              baseLogits: baseLogits[k]!.subarray(head.length * vocab),
              reinforcedLogits: reinforcedLogits[k]!.subarray(head.length * vocab),
              vocab,
              alpha,
              suppress,
              topK,
            });
            // BOS's row has no label: K masked pairs in front.
            const pad = head.length * topK;
            const withHead: BlockLabels = {
              ...labels,
              target: Int32Array.from([...new Array<number>(pad).fill(-1), ...labels.target]),
              weight: Float32Array.from([...new Array<number>(pad).fill(0), ...labels.weight]),
            };
            const tmp = `${blockFile(i)}.tmp`;
            writeFileSync(tmp, encodeBlock({ tokens: Int32Array.from(originals[k]!), labels: withHead }));
            renameSync(tmp, blockFile(i));
          });
          done += group.length;
          ctx.emit({ type: "work", stage: "labels", label: "labels", done, total: texts.length, unit: "block" });
        }
      } finally {
        await base?.dispose();
        await reinforced?.dispose();
      }

      const parts = texts.map((_, i) => readFileSync(blockFile(i)));
      const blocks = parts.flatMap((p, i) => decodeBlocks(p, blockFile(i)));
      writeFileSync(stage.tmpPath(LABELS_FILE), Buffer.concat(parts));
      let labelled = 0;
      let changed = 0;
      let positions = 0;
      const changes = new Map<string, LabelChange>();
      for (const block of blocks) {
        positions += block.tokens.length;
        const s = labelStats(block.tokens, block.labels, undefined, 1_000_000);
        labelled += s.labelled;
        changed += s.changed;
        for (const c of s.topChanges) {
          const key = `${c.from}:${c.to}`;
          const entry = changes.get(key);
          if (entry) entry.count += c.count;
          else changes.set(key, { ...c });
        }
      }
      const topChanges = [...changes.values()]
        .sort((a, b) => b.count - a.count || a.from - b.from || a.to - b.to)
        .slice(0, 20)
        .map((c) => ({ ...c, fromText: ctx.tokenizer.detokenize([c.from]), toText: ctx.tokenizer.detokenize([c.to]) }));
      const stats = {
        blocks: blocks.length,
        positions,
        labelled,
        changed,
        changedShare: labelled === 0 ? 0 : Math.round((changed / labelled) * 1e4) / 1e4,
        anchorOccurrences: [...anchorCounts.values()].reduce((a, b) => a + b, 0),
        suppressedTokens: [...suppress].map((t) => ctx.tokenizer.detokenize([t])),
        topChanges,
      };
      writeFileSync(stage.tmpPath(LABEL_STATS_FILE), JSON.stringify({ ...stats, anchors: Object.fromEntries(anchorCounts) }, null, 2) + "\n");
      rmSync(cacheDir, { recursive: true, force: true });
      return { ...stats, suppressedTokens: stats.suppressedTokens.slice(0, 20), topChanges: topChanges.slice(0, 10).map((c) => `${JSON.stringify(c.fromText)} → ${JSON.stringify(c.toText)} ×${c.count}`) };
    },
  };
}
