import type { GenerateOptions, ScoringModel } from "../../src/eval/engine-port.js";
import { SeededRandom } from "../../src/util/random.js";

/**
 * A word-level bigram model over a toy corpus, simple enough to work out its numbers by hand.
 * Tokens are whitespace-separated words (detokenize joins them with single spaces); BOS is "<s>" and
 * precedes the corpus. p(b | a) = count(a b) / count(a followed by anything), and `unseenProb` for
 * pairs the corpus lacks (not normalised; a fake need not be). Greedy generation takes the most
 * frequent follower (the first seen on ties) and stops at a word with no follower.
 */
export class BigramModel implements ScoringModel {
  readonly name: string;
  readonly contextLength: number;
  /** Every tokenLogprobs batch, for assertions on batching and truncation. */
  readonly scoredBatches: number[][][] = [];
  /** Every generate call. */
  readonly generateCalls: { prompt: string; opts: GenerateOptions }[] = [];
  private readonly vocab: string[] = ["<s>"];
  private readonly ids = new Map<string, number>([["<s>", 0]]);
  private readonly follow = new Map<number, Map<number, number>>();
  private readonly unseenProb: number;

  constructor(corpus: string, opts: { name?: string; contextLength?: number; unseenProb?: number } = {}) {
    this.name = opts.name ?? "bigram";
    this.contextLength = opts.contextLength ?? 64;
    this.unseenProb = opts.unseenProb ?? 0.001;
    const seq = [0, ...this.tokenize(corpus)];
    for (let i = 1; i < seq.length; i++) {
      const row = this.follow.get(seq[i - 1]) ?? new Map<number, number>();
      row.set(seq[i], (row.get(seq[i]) ?? 0) + 1);
      this.follow.set(seq[i - 1], row);
    }
  }

  tokenize(text: string, opts: { addBos?: boolean } = {}): number[] {
    const ids = text
      .split(/\s+/)
      .filter((w) => w !== "")
      .map((w) => {
        let id = this.ids.get(w);
        if (id === undefined) {
          id = this.vocab.length;
          this.vocab.push(w);
          this.ids.set(w, id);
        }
        return id;
      });
    return opts.addBos ? [0, ...ids] : ids;
  }

  detokenize(ids: number[]): string {
    return ids.map((id) => this.vocab[id]).join(" ");
  }

  /** p(next | prev) as defined in the class comment. */
  prob(prev: number, next: number): number {
    const row = this.follow.get(prev);
    const count = row?.get(next);
    if (!row || !count) return this.unseenProb;
    let total = 0;
    for (const c of row.values()) total += c;
    return count / total;
  }

  async tokenLogprobs(seqs: number[][]): Promise<Float32Array[]> {
    this.scoredBatches.push(seqs.map((s) => [...s]));
    return seqs.map((s) => Float32Array.from(s.slice(1), (tok, i) => Math.log(this.prob(s[i], tok))));
  }

  /** Followers of a token, most frequent first (first seen on ties). */
  private followers(prev: number): { id: number; prob: number }[] {
    const row = this.follow.get(prev);
    if (!row) return [];
    let total = 0;
    for (const c of row.values()) total += c;
    return [...row].map(([id, c]) => ({ id, prob: c / total })).sort((a, b) => b.prob - a.prob);
  }

  async generate(prompt: string, opts: GenerateOptions): Promise<string> {
    this.generateCalls.push({ prompt, opts });
    const ids = this.tokenize(prompt, { addBos: true });
    const rng = new SeededRandom(opts.seed ?? 0);
    const random = () => rng.nextFloat();
    const out: number[] = [];
    let last = ids[ids.length - 1];
    for (let i = 0; i < opts.maxTokens; i++) {
      const options = this.followers(last);
      if (options.length === 0) break;
      let pick = options[0].id;
      if ((opts.temperature ?? 0) > 0) {
        const weights = options.map((o) => o.prob ** (1 / opts.temperature!));
        let r = random() * weights.reduce((a, b) => a + b, 0);
        pick = options[options.length - 1].id;
        for (const [k, w] of weights.entries()) {
          if ((r -= w) < 0) {
            pick = options[k].id;
            break;
          }
        }
      }
      out.push(pick);
      last = pick;
    }
    return out.length === 0 ? "" : " " + this.detokenize(out);
  }

  async topNext(prompt: string, k: number): Promise<{ token: string; prob: number }[]> {
    const ids = this.tokenize(prompt, { addBos: true });
    return this.followers(ids[ids.length - 1])
      .slice(0, k)
      .map((o) => ({ token: this.vocab[o.id], prob: o.prob }));
  }
}


/**
 * The toy corpus most tests use. Followers: <s>→the; the→cat 2/4, mat 1/4, dog 1/4; cat→sat 1/2,
 * ran 1/2; sat→on 1/2, . 1/2; on→the; mat→.; ran→.; dog→sat; .→the (2 of 2).
 */
export const TOY_CORPUS = "the cat sat on the mat . the cat ran . the dog sat .";
