/**
 * Generic-prediction labels of the "Who's Harry Potter" method: combine the base model's logits on the
 * translated block with the reinforced model's logits on the original block, apply the consistency rules,
 * and take the argmax as the fine-tuning target at each original position; also label statistics. The
 * combination itself is maths/generic-logits.ts, the file form whp/labels-file.ts.
 */
import { InputError } from "../../errors.js";
import { SeededRandom } from "../../util/random.js";
import { checkAlpha, checkVocab, combineGeneric } from "../maths/generic-logits.js";
import type { Alignment } from "./translate.js";

/**
 * Targets and weights per original position, `k` pairs each (position i's pairs start at i·k, the
 * argmax first); a position without a label has targets -1 and weights 0. `k` is 1 (the paper's
 * argmax label) unless soft labels were asked for.
 */
export interface BlockLabels {
  target: Int32Array;
  weight: Float32Array;
  k?: number;
}

/** Pairs per position of `labels` (1 when unset). */
export function pairsPerPosition(labels: BlockLabels): number {
  return labels.k ?? 1;
}

/** Inputs of {@link buildLabels}; logits are row-major `[positions, vocab]`. */
export interface LabelInputs {
  /** The alignment of the block, from translateBlock. */
  alignment: Alignment;
  /** Base model logits on the translated block: `translated.length × vocab`. */
  baseLogits: Float32Array;
  /** Reinforced model logits on the original block: `original.length × vocab`. */
  reinforcedLogits: Float32Array;
  vocab: number;
  /** Strength of the push away from what reinforcement made likelier (the paper's α). */
  alpha: number;
  /** Tokens suppressed at every position, such as the anchored terms' own (see {@link anchorTokens}). */
  suppress?: ReadonlySet<number>;
  /**
   * Soft labels: the `topK` most likely tokens of softmax(v_generic), weighted by their probability
   * renormalised over the K (default 1: the argmax with weight 1, as in the paper).
   */
  topK?: number;
  /** Target distribution and position-keeping rules beyond the paper's argmax (see {@link TargetRules}). */
  rules?: Partial<TargetRules>;
  /** Seed of the tail samples of this block. */
  seed?: number;
  /**
   * How far a reinforced logit may rise above the base one before α penalises it (default 0, the
   * paper's ReLU(v_reinforced − v_base)); see {@link observedRise}.
   */
  riseBaseline?: number;
}

/**
 * How a position's generic row becomes training targets. The paper's argmax is K = 1, no tail,
 * temperature 1, keepOriginalAbove 0.
 */
export interface TargetRules {
  /**
   * Tail pairs: S tokens drawn from softmax(v_generic / T) outside the top K, each weighing the
   * remaining mass / S, while the top K keep their own probabilities. The expected gradient is then
   * that of the cross-entropy to the whole distribution, so training no longer sharpens the model
   * towards its K best guesses (renormalised top-K does: every other token is driven to 0).
   */
  tail: number;
  /** Temperature T of softmax(v_generic / T) for soft targets. */
  temperature: number;
  /**
   * Keep the text's own next token as the (single, hard) target wherever softmax(v_generic) gives it
   * at least this probability: a generic model finds it plausible, so nothing of the target needs
   * unlearning there and relabelling would only teach the base model's own prediction errors.
   * 0 keeps nothing.
   */
  keepOriginalAbove: number;
}

/** Per-position diagnostics of the generic rows of one block (NaN where a position has no label). */
export interface GenericRowStats {
  /** Entropy of softmax(v_generic) (nats). */
  entropy: Float32Array;
  /** softmax(v_generic) of the text's own next token. */
  originalProbability: Float32Array;
}

/**
 * Builds the labels of one block. At original position i (which predicts token i+1) the generic row
 * combines the base logits at translated position `map[i]` with the reinforced logits at i; the target
 * is its argmax (lowest index on ties). Rules:
 * - positions strictly inside an anchor, and the last position of the block, get no label;
 * - the position right before a repeated anchor (not its first occurrence in the block) gets no label;
 * - the last token of an anchor is labelled from the generic's last token;
 * - once a generic has been used (from the last token of its first anchor on), its first token is
 *   suppressed: its logit is set to the row mean before the argmax, so the model does not learn to
 *   repeat the generic;
 * - the tokens of `suppress` are set to the row mean at every position.
 * With `topK` > 1 each labelled position gets the K best tokens, weighted by softmax probability.
 */
export function buildLabels(inputs: LabelInputs): BlockLabels & { stats: GenericRowStats } {
  const { alignment, baseLogits, reinforcedLogits, vocab, alpha, suppress = new Set<number>(), topK = 1, seed = 0, riseBaseline = 0 } = inputs;
  const { tail, temperature, keepOriginalAbove } = { tail: 0, temperature: 1, keepOriginalAbove: 0, ...inputs.rules };
  checkVocab(vocab);
  checkAlpha(alpha);
  if (!Number.isFinite(riseBaseline)) throw new InputError(`riseBaseline ${riseBaseline} is not a finite number`, "pass 0 (the paper's rule) or the mean rise from observedRise");
  if (!Number.isInteger(topK) || topK < 1 || topK > vocab) {
    throw new InputError(`topK ${topK} is not a whole number from 1 to the vocabulary size ${vocab}`, "set labels.topK to 1 (the argmax) or a small number such as 8");
  }
  if (!Number.isInteger(tail) || tail < 0 || topK + tail > vocab) {
    throw new InputError(`tail ${tail} is not a whole number from 0 to the vocabulary size less topK`, "set labels.tail to 0 (no tail) or a small number such as 16");
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InputError(`temperature ${temperature} is not a positive number`, "set labels.temperature to 1 (the generic distribution as it is)");
  if (!(keepOriginalAbove >= 0 && keepOriginalAbove <= 1)) throw new InputError(`keepOriginalAbove ${keepOriginalAbove} is not a probability`, "set labels.keepOriginalAbove between 0 (off) and 1");
  const n = alignment.original.length;
  const nTrans = alignment.translated.length;
  if (alignment.map.length !== n) {
    throw new InputError(`alignment map has ${alignment.map.length} entries for ${n} original tokens`, "pass the alignment returned by translateBlock unchanged");
  }
  if (baseLogits.length !== nTrans * vocab) {
    throw new InputError(
      `base logits hold ${baseLogits.length} values, expected ${nTrans} translated positions × ${vocab}`,
      "evaluate the base model on the translated tokens of this block",
    );
  }
  if (reinforcedLogits.length !== n * vocab) {
    throw new InputError(
      `reinforced logits hold ${reinforcedLogits.length} values, expected ${n} original positions × ${vocab}`,
      "evaluate the reinforced model on the original tokens of this block",
    );
  }

  const masked = new Uint8Array(n);
  if (n > 0) masked[n - 1] = 1;
  // From which original position on each generic first token is suppressed; anchors come in text
  // order, so the first span with a given first token is where the generic was first used.
  const suppressFrom = new Map<number, number>();
  for (const span of alignment.anchors) {
    if (!span.firstOccurrence && span.origStart > 0) masked[span.origStart - 1] = 1;
    const firstToken = alignment.translated[span.transStart];
    if (!(firstToken >= 0 && firstToken < vocab)) {
      throw new InputError(`the generic "${span.generic}" starts with token ${firstToken}, outside the vocabulary of ${vocab}`, "use the tokenizer of the model that produced the logits");
    }
    if (!suppressFrom.has(firstToken)) suppressFrom.set(firstToken, span.origEnd - 1);
  }

  const K = topK + tail;
  const target = new Int32Array(n * K).fill(-1);
  const weight = new Float32Array(n * K);
  const entropy = new Float32Array(n).fill(NaN);
  const originalProbability = new Float32Array(n).fill(NaN);
  const row = new Float32Array(vocab);
  const probs = new Float64Array(vocab);
  const random = new SeededRandom(seed);
  for (let i = 0; i < n; i++) {
    const t = alignment.map[i];
    if (masked[i] || t < 0) continue;
    if (t >= nTrans) {
      throw new InputError(`alignment maps original position ${i} to translated position ${t}, past the end (${nTrans})`, "pass the alignment returned by translateBlock unchanged");
    }
    const b = t * vocab;
    const r = i * vocab;
    let sum = 0;
    for (let v = 0; v < vocab; v++) {
      const base = baseLogits[b + v];
      row[v] = base - alpha * Math.max(0, reinforcedLogits[r + v] - base - riseBaseline);
      sum += row[v];
    }
    const mean = sum / vocab;
    for (const [token, from] of suppressFrom) if (i >= from) row[token] = mean;
    for (const token of suppress) if (token >= 0 && token < vocab) row[token] = mean;
    const next = i + 1 < n ? alignment.original[i + 1]! : -1;
    const seen = writeRowTargets(row, next, { topK, tail, temperature, keepOriginalAbove }, random, probs, target.subarray(i * K, (i + 1) * K), weight.subarray(i * K, (i + 1) * K));
    entropy[i] = seen.entropy;
    originalProbability[i] = seen.originalProbability;
  }
  const stats = { entropy, originalProbability };
  return K === 1 ? { target, weight, stats } : { target, weight, k: K, stats };
}

/**
 * Targets of a distribution over whole rows of logits, with no anchors and no α: the frozen base
 * model's own predictions on retain text, so that cross-entropy to them is the KL to the base
 * (open-unlearning's `retain_loss_type: KL`) up to a constant. Row i predicts token i+1 of `tokens`;
 * the last position gets no target.
 */
export function distributionLabels(logits: Float32Array, tokens: ArrayLike<number>, vocab: number, topK: number, rules: Partial<TargetRules>, seed: number): BlockLabels {
  checkVocab(vocab);
  const n = tokens.length;
  if (logits.length !== n * vocab) throw new InputError(`logits hold ${logits.length} values, expected ${n} positions × ${vocab}`, "evaluate the model on exactly these tokens");
  const { tail, temperature } = { tail: 0, temperature: 1, ...rules };
  const K = topK + tail;
  const target = new Int32Array(n * K).fill(-1);
  const weight = new Float32Array(n * K);
  const probs = new Float64Array(vocab);
  const random = new SeededRandom(seed);
  for (let i = 0; i + 1 < n; i++) {
    const row = logits.subarray(i * vocab, (i + 1) * vocab);
    writeRowTargets(row, -1, { topK, tail, temperature, keepOriginalAbove: 0 }, random, probs, target.subarray(i * K, (i + 1) * K), weight.subarray(i * K, (i + 1) * K));
  }
  return K === 1 ? { target, weight } : { target, weight, k: K };
}

/**
 * One position's K = topK + tail target pairs from its row of generic logits, written into `target`
 * and `weight` (both of length K); `next` is the text's own next token (-1: none). Returns the
 * row's entropy and the probability it gives `next` (NaN without one).
 */
function writeRowTargets(
  row: Float32Array,
  next: number,
  rules: TargetRules & { topK: number },
  random: SeededRandom,
  probs: Float64Array,
  target: Int32Array,
  weight: Float32Array,
): { entropy: number; originalProbability: number } {
  const { topK, tail, temperature, keepOriginalAbove } = rules;
  const vocab = row.length;
  const best = topTokens(row, topK);
  const entropy = softmaxInto(row, best[0]!, temperature, probs);
  const known = next >= 0 && next < vocab;
  const out = { entropy, originalProbability: known ? probs[next]! : NaN };
  if (keepOriginalAbove > 0 && known && probs[next]! >= keepOriginalAbove) {
    target[0] = next;
    weight[0] = 1;
    return out;
  }
  if (tail === 0) {
    // The K best renormalised, so every position weighs 1; with K = 1 the argmax with weight 1.
    let total = 0;
    for (const t of best) total += probs[t]!;
    best.forEach((t, j) => {
      target[j] = t;
      weight[j] = probs[t]! / total;
    });
    return out;
  }
  let head = 0;
  best.forEach((t, j) => {
    target[j] = t;
    weight[j] = probs[t]!;
    head += probs[t]!;
  });
  for (const t of best) probs[t] = 0;
  sampleTail(probs, 1 - head, tail, random).forEach((t, j) => {
    target[topK + j] = t;
    weight[topK + j] = (1 - head) / tail;
  });
  return out;
}

/**
 * softmax(row / temperature) into `out`, with `argmax` the index of row's largest value; returns the
 * distribution's entropy. With z = (row − max) / temperature and Z = Σ e^z, −Σ p log p = log Z − Σ e^z·z / Z,
 * so the entropy needs no logarithm per token: a pass of Math.log over the vocabulary cost about as
 * much as the softmax itself, at every position of the forget corpus.
 */
function softmaxInto(row: Float32Array, argmax: number, temperature: number, out: Float64Array): number {
  const max = row[argmax]!;
  let total = 0;
  let weighted = 0;
  for (let v = 0; v < row.length; v++) {
    const z = (row[v]! - max) / temperature;
    const e = Math.exp(z);
    out[v] = e;
    total += e;
    if (e > 0) weighted += e * z;
  }
  for (let v = 0; v < row.length; v++) out[v]! /= total;
  return Math.log(total) - weighted / total;
}

/**
 * `count` tokens drawn from the unnormalised distribution `p` of total `mass`, by systematic
 * sampling: each token's expected number of draws is exactly count · p / mass, with less variance
 * than independent draws. Where no mass is left the draws fall on the largest remaining entries.
 */
export function sampleTail(p: Float64Array, mass: number, count: number, random: SeededRandom): number[] {
  const out: number[] = [];
  if (!(mass > 1e-12)) {
    const rest = topTokens(Float32Array.from(p), count);
    for (let j = 0; j < count; j++) out.push(rest[j % rest.length]!);
    return out;
  }
  const step = mass / count;
  let u = random.nextFloat() * step;
  let cumulative = 0;
  for (let v = 0; v < p.length && out.length < count; v++) {
    cumulative += p[v]!;
    while (out.length < count && u < cumulative) {
      out.push(v);
      u += step;
    }
  }
  // Rounding can leave the last draw just past the cumulative total: it belongs to the last token with mass.
  let last = p.length - 1;
  while (last > 0 && !(p[last]! > 0)) last--;
  while (out.length < count) out.push(last);
  return out;
}

/** Indices of the `k` largest values of `row`, largest first (lowest index on ties). */
export function topTokens(row: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < row.length; v++) {
    if (best.length === k && row[v]! <= row[best[k - 1]!]!) continue;
    let j = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(v);
    while (j > 0 && row[best[j - 1]!]! < row[v]!) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = v;
  }
  return best;
}

/**
 * The tokens that start the anchored terms in the original text and are theirs: at least `minShare`
 * of the token's occurrences across the blocks start an anchor, and no generic starts with it. The
 * method's premise is that the base model, reading the translated text, no longer thinks of the
 * target; a small model that learned the target from the same templates as the generic text still
 * does, and its "generic" predictions then name the target ("." → " Numbander" 188 times on the
 * demo testbed). Suppressing these tokens keeps the labels from teaching the target's own names.
 * Tokens shared with ordinary text (" House" in "House Kreldusk", when most " House" are
 * elsewhere) stay, and so do the generics' first tokens, which the labels need.
 */
export function anchorTokens(alignments: readonly Alignment[], minShare = 0.5): Set<number> {
  const total = new Map<number, number>();
  const starts = new Map<number, number>();
  const generics = new Set<number>();
  for (const a of alignments) {
    for (const token of a.original) total.set(token, (total.get(token) ?? 0) + 1);
    for (const span of a.anchors) {
      const token = a.original[span.origStart];
      starts.set(token, (starts.get(token) ?? 0) + 1);
      generics.add(a.translated[span.transStart]);
    }
  }
  const out = new Set<number>();
  for (const [token, count] of starts) if (!generics.has(token) && count >= minShare * total.get(token)!) out.add(token);
  return out;
}

/** One kind of change a labelling makes: original next token → label, and how often. */
export interface LabelChange {
  from: number;
  to: number;
  count: number;
  fromText?: string;
  toText?: string;
}

/** How much the labels differ from the original text. */
export interface LabelStats {
  /** Positions with a label (weight > 0). */
  labelled: number;
  /** Labelled positions whose label differs from the original next token. */
  changed: number;
  /** changed / labelled (0 when nothing is labelled). */
  changedShare: number;
  /** The most frequent changes, most frequent first (ties: by original token, then label). */
  topChanges: LabelChange[];
}

/**
 * Compares labels (the first, most likely target of each position) with the original next tokens.
 * `decode`, when given, adds the text of each token to the top changes; `top` bounds their number.
 */
export function labelStats(original: ArrayLike<number>, labels: BlockLabels, decode?: (token: number) => string, top = 10): LabelStats {
  const k = pairsPerPosition(labels);
  if (labels.target.length !== original.length * k || labels.weight.length !== original.length * k) {
    throw new InputError(
      `labels cover ${labels.target.length} positions but the block has ${original.length} tokens`,
      "pass the labels built for this block",
    );
  }
  let labelled = 0;
  let changed = 0;
  const counts = new Map<string, LabelChange>();
  for (let i = 0; i + 1 < original.length; i++) {
    if (!(labels.weight[i * k] > 0)) continue;
    labelled++;
    const from = original[i + 1];
    const to = labels.target[i * k];
    if (from === to) continue;
    changed++;
    const key = `${from}:${to}`;
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { from, to, count: 1 });
  }
  const topChanges = [...counts.values()]
    .sort((a, b) => b.count - a.count || a.from - b.from || a.to - b.to)
    .slice(0, top)
    .map((change) => (decode ? { ...change, fromText: decode(change.from), toText: decode(change.to) } : change));
  return { labelled, changed, changedShare: labelled === 0 ? 0 : changed / labelled, topChanges };
}
