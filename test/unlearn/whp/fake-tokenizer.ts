/**
 * A tiny GPT-2-like tokenizer for tests: text is cut into pre-tokens (" word", " 123", " ,", whitespace
 * runs), and a word longer than five letters is split into three-letter pieces (" Hogwarts" → " Hog",
 * "war", "ts") so that multi-token anchors occur. Ids are handed out in order of first sight.
 */
export class FakeTokenizer {
  private readonly ids = new Map<string, number>();
  private readonly pieces: string[] = [];

  readonly encode = (text: string): number[] => this.split(text).map((piece) => this.id(piece));

  readonly decode = (token: number): string => this.pieces[token];

  /** The pieces of `text`, for writing expected values. */
  split(text: string): string[] {
    const out: string[] = [];
    for (const pre of text.match(/ ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? []) {
      const space = pre.startsWith(" ") && pre.length > 1 && !/^\s+$/.test(pre) ? " " : "";
      const body = pre.slice(space.length);
      if (!/^\p{L}+$/u.test(body) || body.length <= 5) {
        out.push(pre);
        continue;
      }
      for (let i = 0; i < body.length; i += 3) out.push((i === 0 ? space : "") + body.slice(i, i + 3));
    }
    return out;
  }

  private id(piece: string): number {
    let id = this.ids.get(piece);
    if (id === undefined) {
      id = this.pieces.length;
      this.ids.set(piece, id);
      this.pieces.push(piece);
    }
    return id;
  }
}
