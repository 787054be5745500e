/**
 * The members and non-members of a testbed's membership-inference test (MUSE PrivLeak). A gold
 * model never saw either, so its MIA AUC sits near 0.5 only if the two samples are exchangeable:
 * drawn the same way from the same distribution, differing only in whether the base model trained
 * on them. Both samples are cut here, once, the same way, from text whose split into trained and
 * held out the models already fixed; nothing here changes what any model trains on.
 */

/** Passages the base model trained on, and passages of the same kind that no model saw. */
export interface Membership {
  members: string[];
  nonMembers: string[];
}

/** Passages of 60 words: long enough for Min-K% Prob to average over, short enough for a small context. */
export const MEMBERSHIP_WORDS = 60;

/** Word spans of a text: start and end offsets of each run of non-space characters. */
function wordSpans(text: string): [number, number][] {
  return [...text.matchAll(/\S+/g)].map((m) => [m.index, m.index + m[0].length]);
}

/** The text of `words` words from word `start` on, with the text's own whitespace (line breaks included). */
function passageAt(text: string, spans: readonly [number, number][], start: number, words: number): string {
  return text.slice(spans[start][0], spans[start + words - 1][1]);
}

/** `count` starts of `words`-word passages, evenly spaced over a stretch of `length` words beginning at `from`. */
function evenStarts(from: number, length: number, count: number): number[] {
  const stride = Math.floor(length / count);
  return Array.from({ length: count }, (_, j) => from + j * stride);
}

/**
 * Membership samples from documents split into a trained part and a held-out tail. Each document
 * gives as many members as non-members: non-members evenly spaced over its tail, members at the
 * same offsets over the stretch of the same length that ends its trained part, so both come from
 * adjacent text of the same document, in equal numbers per document. Documents whose tail or trained
 * part holds no whole passage give none. `passages` is the target number of each (default 200),
 * shared equally between documents. Pretraining holds out a few percent of its blocks for its own
 * eval loss, so a member passage may, rarely, fall in one of those; that only blurs the base model's
 * signal and leaves the gold model's untouched.
 */
export function membershipFromTails(
  docs: readonly { train: string; heldOut: string }[],
  opts: { passages?: number; words?: number } = {},
): Membership {
  const words = opts.words ?? MEMBERSHIP_WORDS;
  const perDoc = Math.ceil((opts.passages ?? 200) / Math.max(1, docs.length));
  const out: Membership = { members: [], nonMembers: [] };
  for (const { train, heldOut } of docs) {
    const trainSpans = wordSpans(train);
    const tailSpans = wordSpans(heldOut);
    const length = Math.min(trainSpans.length, tailSpans.length);
    const count = Math.min(perDoc, Math.floor(length / words));
    if (count === 0) continue;
    for (const s of evenStarts(trainSpans.length - length, length, count)) out.members.push(passageAt(train, trainSpans, s, words));
    for (const s of evenStarts(0, length, count)) out.nonMembers.push(passageAt(heldOut, tailSpans, s, words));
  }
  return out;
}

/**
 * Membership samples from whole documents drawn from one process, some trained on and some not:
 * the first `words` words of each (documents shorter than that whole). A non-member passage that
 * equals a member passage was trained on after all, and is left out.
 */
export function membershipFromDocuments(members: readonly string[], nonMembers: readonly string[], words = MEMBERSHIP_WORDS): Membership {
  const first = (doc: string) => {
    const spans = wordSpans(doc);
    return spans.length === 0 ? "" : passageAt(doc, spans, 0, Math.min(words, spans.length));
  };
  const m = members.map(first).filter((p) => p !== "");
  const seen = new Set(m);
  return { members: m, nonMembers: nonMembers.map(first).filter((p) => p !== "" && !seen.has(p)) };
}
