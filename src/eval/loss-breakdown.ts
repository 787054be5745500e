/**
 * Where the perplexity goes: a per-token breakdown of held-out loss before and after a change to a
 * model (unlearning, or the gold model against the base), and, from a settings sweep, which single
 * setting moved a metric by how much. Pure functions: the caller scores the text and reads the
 * sweep; nothing here touches a model or a file.
 *
 * Token kinds are decided from the token's own text and from the retain corpus's token counts, never
 * from a list of English words, so the breakdown means the same on any corpus:
 *
 *   newline      whitespace only, with a line break
 *   space        whitespace only (or empty, as a control token's text)
 *   punctuation  no letter and no digit (punctuation, symbols, and digits-free byte pieces)
 *   frequent     a word token among the `frequentTop` most frequent word tokens of the corpus
 *                (the corpus's function words: " the", " of", " and", ...)
 *   name         a capitalised word starting mid-sentence (after a letter, digit, comma or semicolon
 *                on the same line); a capital after a full stop, quote or line break is taken as a
 *                sentence start, so names there count as rare or word
 *   rare         a word token in the corpus's rare tail: outside the most frequent word tokens that
 *                together make up (1 − rareTailShare) of the corpus's word-token occurrences, or
 *                absent from the corpus
 *   word         any other token (common content words, word pieces, numbers)
 *
 * The first matching kind wins, in that order. A "word token" is one whose text holds a letter.
 */

// ---------------------------------------------------------------------------------------------
// Kinds of next tokens
// ---------------------------------------------------------------------------------------------

export const TOKEN_KINDS = ["newline", "space", "punctuation", "frequent", "name", "rare", "word"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** How the corpus's token counts split word tokens into frequent, common and rare. */
export interface VocabularyOptions {
  /** Word tokens ranked this high or higher by count are `frequent`; default 50. */
  frequentTop?: number;
  /** The rarest word tokens making up this share of word-token occurrences are `rare`; default 0.1. */
  rareTailShare?: number;
}

/** What classification needs to know about the corpus, built once by {@link corpusVocabulary}. */
export interface CorpusVocabulary {
  /** The frequent word tokens, most frequent first. */
  frequent: ReadonlySet<string>;
  /** Word tokens that are not rare (the frequent ones included). */
  common: ReadonlySet<string>;
  frequentTop: number;
  rareTailShare: number;
}

const LETTER = /\p{L}/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const UPPERCASE_START = /^\p{Lu}/u;
/** A word starts mid-sentence when the last visible character before it is one of these. */
const MID_SENTENCE_BEFORE = /[\p{L}\p{N},;]/u;

/** Orders text by UTF-16 code units, the same on every machine (unlike localeCompare). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a token's text is a word token (holds a letter). */
export function isWordToken(text: string): boolean {
  return LETTER.test(text);
}

/**
 * Ranks the corpus's word tokens by count (ties: by text, for a stable order) and splits them into
 * frequent, common and rare. `counts` maps a token's text to its occurrences in the corpus.
 */
export function corpusVocabulary(counts: ReadonlyMap<string, number>, options: VocabularyOptions = {}): CorpusVocabulary {
  const frequentTop = options.frequentTop ?? 50;
  const rareTailShare = options.rareTailShare ?? 0.1;
  if (!(Number.isInteger(frequentTop) && frequentTop >= 0)) throw new RangeError(`frequentTop must be a non-negative integer, got ${frequentTop}`);
  if (!(rareTailShare >= 0 && rareTailShare < 1)) throw new RangeError(`rareTailShare must be in [0, 1), got ${rareTailShare}`);
  const ranked = [...counts]
    .filter(([text, n]) => n > 0 && isWordToken(text))
    .sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const total = ranked.reduce((sum, [, n]) => sum + n, 0);
  // The smallest prefix of the ranking that covers (1 − rareTailShare) of the occurrences is common.
  const common = new Set<string>();
  let covered = 0;
  for (const [text, n] of ranked) {
    if (covered >= (1 - rareTailShare) * total) break;
    common.add(text);
    covered += n;
  }
  return { frequent: new Set(ranked.slice(0, frequentTop).map(([text]) => text)), common, frequentTop, rareTailShare };
}

/**
 * Whether `text` is a capitalised word starting mid-sentence, given the text just before it
 * (a few tokens suffice).
 */
export function isMidSentenceCapital(text: string, preceding: string): boolean {
  const word = text.trimStart();
  if (!UPPERCASE_START.test(word)) return false;
  const leadingSpace = text.slice(0, text.length - word.length);
  // A piece glued to the letter before it continues a word rather than starting one.
  if (leadingSpace === "" && /[\p{L}\p{N}]$/u.test(preceding)) return false;
  const before = preceding + leadingSpace;
  const visible = before.trimEnd();
  if (visible === "" || before.slice(visible.length).includes("\n")) return false;
  return MID_SENTENCE_BEFORE.test(visible[visible.length - 1]!);
}

/** The kind of the next token `text`, which follows `preceding` (see the module comment). */
export function classifyToken(text: string, preceding: string, vocabulary: CorpusVocabulary): TokenKind {
  if (text.trim() === "") return text.includes("\n") ? "newline" : "space";
  if (!LETTER_OR_DIGIT.test(text)) return "punctuation";
  if (!isWordToken(text)) return "word";
  if (vocabulary.frequent.has(text)) return "frequent";
  if (isMidSentenceCapital(text, preceding)) return "name";
  if (!vocabulary.common.has(text)) return "rare";
  return "word";
}

// ---------------------------------------------------------------------------------------------
// Loss per kind
// ---------------------------------------------------------------------------------------------

/** One scored position of held-out text: the next token and its log-probabilities. */
export interface ScoredToken {
  /** The next token's text. */
  text: string;
  /** The text just before it (a few tokens; "" at the start of a document). */
  preceding: string;
  /** log p(token) under the model before the change (nats). */
  before: number;
  /** log p(token) under the model after the change. */
  after: number;
  /** log p(token) under the gold model, when there is one. */
  gold?: number;
}

/** The loss of one kind of next token. Loss increase is before − after, in nats: positive is worse. */
export interface KindLoss {
  kind: TokenKind;
  count: number;
  /** Share of all scored positions. */
  share: number;
  mean_logprob_before: number | null;
  mean_logprob_after: number | null;
  mean_logprob_gold: number | null;
  /** Σ (log p before − log p after) over the kind's positions. */
  loss_increase_nats: number;
  mean_loss_increase: number | null;
  /** The kind's part of the whole loss increase (null when the whole is 0). */
  share_of_increase: number | null;
  /** loss_increase_nats / all positions: the kinds' values add up to ln(ppl_after / ppl_before). */
  log_ppl_contribution: number;
}

export interface LossBreakdown {
  positions: number;
  ppl_before: number | null;
  ppl_after: number | null;
  /** Null unless every position has a gold log-probability. */
  ppl_gold: number | null;
  loss_increase_nats: number;
  /** One row per kind, in {@link TOKEN_KINDS} order, empty kinds included. */
  kinds: KindLoss[];
}

interface Sums {
  count: number;
  before: number;
  after: number;
  gold: number;
  goldCount: number;
}

const emptySums = (): Sums => ({ count: 0, before: 0, after: 0, gold: 0, goldCount: 0 });

function addTo(s: Sums, t: ScoredToken): void {
  s.count++;
  s.before += t.before;
  s.after += t.after;
  if (t.gold !== undefined) {
    s.gold += t.gold;
    s.goldCount++;
  }
}

/** Splits the held-out loss by kind of next token (see the module comment for the kinds). */
export function lossBreakdown(tokens: readonly ScoredToken[], vocabulary: CorpusVocabulary): LossBreakdown {
  const sums = new Map<TokenKind, Sums>(TOKEN_KINDS.map((k) => [k, emptySums()]));
  const all = emptySums();
  for (const t of tokens) {
    addTo(sums.get(classifyToken(t.text, t.preceding, vocabulary))!, t);
    addTo(all, t);
  }
  const n = all.count;
  const increase = all.before - all.after;
  const meanOf = (sum: number, count: number) => (count === 0 ? null : sum / count);
  const kinds = TOKEN_KINDS.map((kind): KindLoss => {
    const s = sums.get(kind)!;
    const delta = s.before - s.after;
    return {
      kind,
      count: s.count,
      share: n === 0 ? 0 : s.count / n,
      mean_logprob_before: meanOf(s.before, s.count),
      mean_logprob_after: meanOf(s.after, s.count),
      mean_logprob_gold: s.goldCount === s.count ? meanOf(s.gold, s.goldCount) : null,
      loss_increase_nats: delta,
      mean_loss_increase: meanOf(delta, s.count),
      share_of_increase: increase === 0 ? null : delta / increase,
      log_ppl_contribution: n === 0 ? 0 : delta / n,
    };
  });
  const ppl = (sum: number) => (n === 0 ? null : Math.exp(-sum / n));
  return {
    positions: n,
    ppl_before: ppl(all.before),
    ppl_after: ppl(all.after),
    ppl_gold: n > 0 && all.goldCount === n ? ppl(all.gold) : null,
    loss_increase_nats: increase,
    kinds,
  };
}

/** The loss of one next-token text over all its occurrences. */
export interface TokenLoss {
  text: string;
  kind: TokenKind;
  count: number;
  mean_logprob_before: number;
  mean_logprob_after: number;
  loss_increase_nats: number;
}

/**
 * The `n` next-token texts whose loss rose most in total (ties: more occurrences, then text). A
 * token's kind is that of its first occurrence (only `name` depends on the context).
 */
export function topTokenLosses(tokens: readonly ScoredToken[], vocabulary: CorpusVocabulary, n: number): TokenLoss[] {
  const byText = new Map<string, { kind: TokenKind; sums: Sums }>();
  for (const t of tokens) {
    let entry = byText.get(t.text);
    if (!entry) byText.set(t.text, (entry = { kind: classifyToken(t.text, t.preceding, vocabulary), sums: emptySums() }));
    addTo(entry.sums, t);
  }
  return [...byText]
    .map(([text, { kind, sums }]) => ({
      text,
      kind,
      count: sums.count,
      mean_logprob_before: sums.before / sums.count,
      mean_logprob_after: sums.after / sums.count,
      loss_increase_nats: sums.before - sums.after,
    }))
    .sort((a, b) => b.loss_increase_nats - a.loss_increase_nats || b.count - a.count || compareText(a.text, b.text))
    .slice(0, n);
}

// ---------------------------------------------------------------------------------------------
// Which setting moved it: pairs of sweep variants that differ in exactly one setting
// ---------------------------------------------------------------------------------------------

/** A sweep variant as the sweep records it: its setting overrides and its measured metrics. */
export interface SweepVariant {
  overrides: unknown;
  metrics: Record<string, number | null | undefined>;
}

/** Two variants that differ in one setting, oriented from the lower value to the higher. */
export interface SettingPair {
  /** Dotted path of the setting, e.g. `finetune.lr`. */
  setting: string;
  /** Null: the variant does not set it (the default when it ran). */
  from: { variant: string; value: unknown };
  to: { variant: string; value: unknown };
  /** Per metric, to − from (null when either is missing). */
  delta: Record<string, number | null>;
  /** Per metric, to / from (null when either is missing or from is 0). */
  ratio: Record<string, number | null>;
}

/** Nested settings as dotted paths to leaf values: `{a: {b: 1}}` → `{"a.b": 1}`. */
export function flattenSettings(value: unknown, prefix = ""): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return prefix === "" ? {} : { [prefix]: value };
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) Object.assign(out, flattenSettings(inner, prefix === "" ? key : `${prefix}.${key}`));
  return out;
}

/** Orders setting values: unset first, then false before true, numbers ascending, text by code units. */
function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || b === undefined) return a === undefined ? (b === undefined ? 0 : -1) : 1;
  if (typeof a !== typeof b) return typeof a < typeof b ? -1 : 1;
  if (typeof a === "number" || typeof a === "boolean") return Number(a) - Number(b);
  return compareText(JSON.stringify(a), JSON.stringify(b));
}

/**
 * Every pair of variants whose flattened overrides differ in exactly one setting (a setting one
 * variant leaves unset counts as different), with the change of each metric in `metrics`. Pairs are
 * oriented from the lower setting value to the higher and sorted by setting, then variant names.
 */
export function oneSettingPairs(variants: Readonly<Record<string, SweepVariant>>, metrics: readonly string[]): SettingPair[] {
  const names = Object.keys(variants).sort();
  const flat = new Map(names.map((name) => [name, flattenSettings(variants[name]!.overrides)]));
  const pairs: SettingPair[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [a, b] = [flat.get(names[i]!)!, flat.get(names[j]!)!];
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      const differing = [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      if (differing.length !== 1) continue;
      const setting = differing[0]!;
      const [lo, hi] = compareValues(a[setting], b[setting]) <= 0 ? [names[i]!, names[j]!] : [names[j]!, names[i]!];
      const delta: Record<string, number | null> = {};
      const ratio: Record<string, number | null> = {};
      for (const metric of metrics) {
        const x = variants[lo]!.metrics[metric];
        const y = variants[hi]!.metrics[metric];
        const known = typeof x === "number" && typeof y === "number";
        delta[metric] = known ? y - x : null;
        ratio[metric] = known && x !== 0 ? y / x : null;
      }
      pairs.push({
        setting,
        from: { variant: lo, value: flat.get(lo)![setting] ?? null },
        to: { variant: hi, value: flat.get(hi)![setting] ?? null },
        delta,
        ratio,
      });
    }
  }
  return pairs.sort((p, q) => compareText(p.setting, q.setting) || compareText(p.from.variant, q.from.variant) || compareText(p.to.variant, q.to.variant));
}

/** Per setting, how many pairs changed it and the mean change of each metric over them. */
export function summariseSettings(
  pairs: readonly SettingPair[],
  metrics: readonly string[],
): Record<string, { pairs: number; mean_delta: Record<string, number | null>; mean_ratio: Record<string, number | null> }> {
  const out: Record<string, { pairs: number; mean_delta: Record<string, number | null>; mean_ratio: Record<string, number | null> }> = {};
  const meanOf = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
  };
  for (const setting of [...new Set(pairs.map((p) => p.setting))]) {
    const group = pairs.filter((p) => p.setting === setting);
    out[setting] = {
      pairs: group.length,
      mean_delta: Object.fromEntries(metrics.map((m) => [m, meanOf(group.map((p) => p.delta[m]!))])),
      mean_ratio: Object.fromEntries(metrics.map((m) => [m, meanOf(group.map((p) => p.ratio[m]!))])),
    };
  }
  return out;
}
