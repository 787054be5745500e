import assert from "node:assert/strict";
import { test } from "node:test";
import { FileFormatError, InputError, UnsupportedModelError } from "../../src/errors.js";
import type { GgufMetadata, GgufValue } from "../../src/gguf/types.js";
import { BpeTokenizer } from "../../src/tokenizer/bpe.js";
import { BYTE_TO_CHAR } from "../../src/tokenizer/byte-unicode.js";

const SPECIALS = ["<|bos|>", "<|eos|>", "<|pad|>"];

/** GGUF metadata of a hand-made vocabulary: the 256 bytes (id = byte), `extra` tokens, then the specials. */
function handMade(extra: string[], merges: string[]): GgufMetadata {
  const tokens = [...BYTE_TO_CHAR, ...extra, ...SPECIALS];
  const first = 256 + extra.length;
  return new Map<string, GgufValue>([
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: "gpt-2" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: tokens.map((_, i) => (i < first ? 1 : 3)) }],
    ["tokenizer.ggml.merges", { type: "array", itemType: "string", value: merges }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: first }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: first + 1 }],
    ["tokenizer.ggml.padding_token_id", { type: "u32", value: first + 2 }],
  ]);
}

const CORPUS = [
  "Dorothy lived in the midst of the great Kansas prairies, with Uncle Henry, who was a farmer, and Aunt Em.",
  "The Scarecrow said: “I don't know; I'm only a Scarecrow.” — and the Tin Woodman wept rusty tears.",
  "Café, naïve, Zürich; 東京と大阪; 1,234.56 pounds; emoji 🦁🐶!\n\n\tIndented line.\r\n",
].join("\n");

const TRICKY = [
  "",
  "plain ASCII text, with punctuation!",
  "accents: àéîõü ÀÉÎÕÜ ñ ç ø å ß œ",
  "CJK: 日本語のテキスト。中文字符，한국어 텍스트",
  "emoji: 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🦁",
  "mixed whitespace:\t\ttabs  \n\n  \r\n \u00a0nbsp\u3000ideographic \u2028line\u2029para  ",
  "x".repeat(10_000),
  "\uFEFFleading byte order mark",
  "control \u0000 \u0001 \u001f \u007f chars",
  "   ",
];

test("applies merges by rank, not by position", () => {
  // Ranks: a+b (0), ab+c (1), Ġ+ab (2). " abc": a+b first, then ab+c beats Ġ+ab -> [Ġ, abc].
  // " abd": a+b, then Ġ+ab -> [Ġab, d].
  const tok = BpeTokenizer.fromGgufMetadata(handMade(["ab", "abc", "Ġab"], ["a b", "ab c", "Ġ ab"]));
  assert.deepEqual(tok.encode("ab abc abd"), [256, 0x20, 257, 258, 0x64]);
  const rankFirst = BpeTokenizer.fromGgufMetadata(handMade(["bc", "ab"], ["b c", "a b"]));
  assert.deepEqual(rankFirst.encode("abc"), [0x61, 256]);
});

test("on equal ranks the leftmost pair merges first", () => {
  const tok = BpeTokenizer.fromGgufMetadata(handMade(["aa"], ["a a"]));
  assert.deepEqual(tok.encode("aaa"), [256, 0x61]);
  assert.deepEqual(tok.encode("aaaa"), [256, 256]);
});

test("bytes without a merge stay byte tokens, and merges never cross words", () => {
  const tok = BpeTokenizer.fromGgufMetadata(handMade(["ab"], ["a b"]));
  assert.deepEqual(tok.encode("é"), [0xc3, 0xa9]);
  assert.deepEqual(tok.encode("a b"), [0x61, 0x20, 0x62]); // "a", " b": no a+b across the space
});

test("decode inverts encode on tricky text", () => {
  const tok = BpeTokenizer.train([CORPUS, ...TRICKY], { vocabSize: 600 });
  for (const text of [...TRICKY, CORPUS]) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text, JSON.stringify(text.slice(0, 40)));
  }
  assert.deepEqual(tok.encode(""), []);
  assert.ok(tok.encode("x".repeat(10_000)).length < 10_000 / 2, "a long run of one letter gets merged");
});

test("BOS and EOS are added on request and dropped by decode unless rendered", () => {
  const tok = BpeTokenizer.train([CORPUS], { vocabSize: 400 });
  const ids = tok.encode("Kansas", { addBos: true, addEos: true });
  assert.equal(ids[0], tok.bosId);
  assert.equal(ids.at(-1), tok.eosId);
  assert.deepEqual(tok.encode("", { addBos: true }), [tok.bosId]);
  assert.equal(tok.decode(ids), "Kansas");
  assert.equal(tok.decode(ids, { renderSpecial: true }), "<|bos|>Kansas<|eos|>");
  assert.equal(tok.tokenToPiece(tok.padId), "<|pad|>");
  assert.ok(tok.isSpecial(tok.padId) && !tok.isSpecial(0x41));
  // Special-token text inside the input is ordinary text.
  assert.ok(!tok.encode("<|eos|>").includes(tok.eosId));
  assert.equal(tok.decode(tok.encode("<|eos|>")), "<|eos|>");
});

test("tokenToPiece decodes one token, a partial character leniently", () => {
  const tok = BpeTokenizer.fromGgufMetadata(handMade(["Ġa", "Ġab"], ["Ġ a", "Ġa b"]));
  assert.equal(tok.tokenToPiece(0x41), "A");
  assert.equal(tok.tokenToPiece(257), " ab");
  assert.equal(tok.tokenToPiece(0xc3), "\ufffd");
  assert.equal(tok.decode([0xc3, 0xa9]), "é");
  assert.equal(tok.decode([0xc3]), "\ufffd");
});

test("the vocabulary is bytes, learned tokens, then the special tokens, at exactly vocabSize", () => {
  const tok = BpeTokenizer.train([CORPUS.repeat(3)], { vocabSize: 300, specialTokens: [...SPECIALS, "<|sep|>"] });
  assert.equal(tok.vocabSize, 300);
  assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [296, 297, 298]);
  assert.equal(tok.tokenToPiece(299), "<|sep|>");
  assert.ok(tok.isSpecial(299));
  const meta = tok.toGgufMetadata();
  const tokens = meta.get("tokenizer.ggml.tokens")!.value as string[];
  const merges = meta.get("tokenizer.ggml.merges")!.value as string[];
  assert.equal(tokens.length, 300);
  assert.equal(merges.length, 300 - 256 - 4);
  assert.deepEqual(tokens.slice(0, 256), BYTE_TO_CHAR);
});

test("a small corpus yields a smaller vocabulary than asked for", () => {
  const tok = BpeTokenizer.train(["ab ab ab"], { vocabSize: 5000 });
  // Pairs seen twice or more: a+b (3x), Ġ+ab (2x); then nothing repeats.
  assert.equal(tok.vocabSize, 256 + 2 + 3);
});

test("training is deterministic", () => {
  const a = BpeTokenizer.train([CORPUS, CORPUS.toUpperCase()], { vocabSize: 500 });
  const b = BpeTokenizer.train([CORPUS, CORPUS.toUpperCase()], { vocabSize: 500 });
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test("the GGUF keys are the ones llama.cpp reads, and load back", () => {
  const tok = BpeTokenizer.train([CORPUS], { vocabSize: 400 });
  const meta = tok.toGgufMetadata();
  assert.deepEqual([...meta.keys()], [
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_eos_token",
  ]);
  assert.deepEqual(meta.get("tokenizer.ggml.model"), { type: "string", value: "gpt2" });
  assert.deepEqual(meta.get("tokenizer.ggml.pre"), { type: "string", value: "gpt-2" });
  assert.deepEqual(meta.get("tokenizer.ggml.add_bos_token"), { type: "bool", value: true });
  assert.deepEqual(meta.get("tokenizer.ggml.add_eos_token"), { type: "bool", value: false });
  assert.deepEqual(meta.get("tokenizer.ggml.bos_token_id"), { type: "u32", value: tok.bosId });
  const types = meta.get("tokenizer.ggml.token_type")!;
  assert.equal(types.type === "array" && types.itemType, "i32");
  assert.deepEqual((types.value as number[]).slice(-4), [1, 3, 3, 3]);
  const merges = meta.get("tokenizer.ggml.merges")!.value as string[];
  assert.match(merges[0], /^\S+ \S+$/);

  const back = BpeTokenizer.fromGgufMetadata(meta);
  assert.deepEqual(back.toJSON(), tok.toJSON());
  assert.deepEqual(back.encode(CORPUS), tok.encode(CORPUS));
});

test("JSON round trip", () => {
  const tok = BpeTokenizer.train([CORPUS], { vocabSize: 450 });
  const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
  assert.equal(back.vocabSize, tok.vocabSize);
  assert.deepEqual([back.bosId, back.eosId, back.padId], [tok.bosId, tok.eosId, tok.padId]);
  for (const text of TRICKY) assert.deepEqual(back.encode(text), tok.encode(text));
});

test("fromJSON rejects damaged caches with FileFormatError", () => {
  const good = JSON.parse(JSON.stringify(BpeTokenizer.train([CORPUS], { vocabSize: 300 })));
  const damaged: [unknown, RegExp][] = [
    [null, /not a JSON object/],
    [{ ...good, format: "other" }, /not a lethe-bpe-tokenizer version 1/],
    [{ ...good, version: 2 }, /version 1/],
    [{ ...good, tokens: "abc" }, /"tokens" is not an array/],
    [{ ...good, tokens: good.tokens.slice(1) }, /tokens but .* token types/],
    [{ ...good, tokens: [...good.tokens.slice(0, -1), good.tokens[5]] }, /duplicates token 5/],
    [{ ...good, tokenTypes: [...good.tokenTypes.slice(0, -1), 7] }, /token type 7/],
    [{ ...good, merges: [...good.merges, "nonsense"] }, /merge \d+ "nonsense"/],
    [{ ...good, merges: ["Ġ <|bos|>"] }, /merge 0/],
    [{ ...good, eosId: 10_000 }, /EOS token id 10000/],
    [{ ...good, tokens: good.tokens.map((t: string, i: number) => (i === 0x41 ? "A A" : t)) }, /not a byte-level BPE token/],
  ];
  for (const [value, message] of damaged) {
    assert.throws(() => BpeTokenizer.fromJSON(value), (err: unknown) => err instanceof FileFormatError && message.test(err.message));
  }
});

test("fromGgufMetadata rejects other tokenizers and incomplete metadata", () => {
  const meta = handMade([], []);
  const withKey = (key: string, value: GgufValue | undefined) => {
    const copy = new Map(meta);
    if (value) copy.set(key, value);
    else copy.delete(key);
    return copy;
  };
  assert.throws(() => BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.model", { type: "string", value: "llama" })), UnsupportedModelError);
  assert.throws(() => BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.pre", { type: "string", value: "llama3" })), /only the "gpt-2"/);
  assert.throws(() => BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.merges", undefined)), /has no tokenizer.ggml.merges/);
  assert.throws(
    () => BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.tokens", { type: "array", itemType: "u32", value: [1, 2] })),
    /not an array of strings/,
  );
  assert.throws(() => BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.bos_token_id", { type: "string", value: "0" })), FileFormatError);
  const noByte = withKey("tokenizer.ggml.tokens", {
    type: "array",
    itemType: "string",
    value: [...BYTE_TO_CHAR.slice(0, 255), "xy", ...SPECIALS],
  });
  assert.throws(() => BpeTokenizer.fromGgufMetadata(noByte), /no token stands for the byte 0xff/);
  // Without a padding id, EOS pads.
  assert.equal(BpeTokenizer.fromGgufMetadata(withKey("tokenizer.ggml.padding_token_id", undefined)).padId, 257);
  assert.throws(() => BpeTokenizer.fromGgufMetadata({} as GgufMetadata), InputError);
});

test("bad training input gives InputError with the reason", () => {
  const fails = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (err: unknown) => err instanceof InputError && message.test(err.message));
  fails(() => BpeTokenizer.train([], { vocabSize: 1000 }), /corpus is empty/);
  fails(() => BpeTokenizer.train([" \n\t ", ""], { vocabSize: 1000 }), /contains no text, only whitespace/);
  fails(() => BpeTokenizer.train("some text" as unknown as string[], { vocabSize: 1000 }), /not a list of strings/);
  fails(() => BpeTokenizer.train(["ok", 42 as unknown as string], { vocabSize: 1000 }), /training text 1 is a number/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 258 }), /the minimum is 259/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 260, specialTokens: [...SPECIALS, "<a>", "<b>"] }), /the minimum is 261/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000.5 }), /vocabSize 1000.5/);
  fails(() => BpeTokenizer.train(["text"], undefined as unknown as { vocabSize: number }), /options are missing/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000, specialTokens: ["<a>", "<b>"] }), /at least the BOS, EOS and padding/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000, specialTokens: ["<a>", "<b>", "<a>"] }), /listed twice/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000, specialTokens: ["<a>", "<b>", ""] }), /specialTokens\[2\]/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000, specialTokens: ["<a>", "<b>", "x"] }), /text of a byte token/);
  fails(() => BpeTokenizer.train(["text"], { vocabSize: 1000, minFrequency: 0 }), /minFrequency 0/);
});

test("bad ids and texts give InputError", () => {
  const tok = BpeTokenizer.train([CORPUS], { vocabSize: 280 });
  assert.throws(() => tok.decode([1, 280]), /ids\[1\] \(280\) is not a token id of this tokenizer \(0..279\)/);
  assert.throws(() => tok.decode([-1]), InputError);
  assert.throws(() => tok.decode([1.5]), InputError);
  assert.throws(() => tok.decode("abc" as unknown as number[]), InputError);
  assert.throws(() => tok.tokenToPiece(1e9), InputError);
  assert.throws(() => tok.encode(undefined as unknown as string), /not a string/);
});

test("special tokens are never learned as ordinary tokens", () => {
  // Pre-tokenization splits "<|", "bos", "|>", so use a special that a word can spell.
  const tok = BpeTokenizer.train(["hello hello hello hello"], { vocabSize: 400, specialTokens: ["hello", "<e>", "<p>"] });
  const tokens = tok.toGgufMetadata().get("tokenizer.ggml.tokens")!.value as string[];
  assert.equal(tokens.filter((t) => t === "hello").length, 1);
  assert.equal(tok.decode(tok.encode("hello")), "hello");
  assert.ok(!tok.encode("hello").includes(tok.bosId));
});
