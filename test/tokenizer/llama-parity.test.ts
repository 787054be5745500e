// llama.cpp (through node-llama-cpp) must tokenize exactly as BpeTokenizer.encode does, given the
// GGUF keys from toGgufMetadata: same pre-tokenizer splits, same Unicode classes, same merge order.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Llama, LlamaLogLevel, type LlamaModel, type Token, getLlama } from "node-llama-cpp";
import { createLlamaGguf } from "../../src/gguf/index.js";
import { BpeTokenizer } from "../../src/tokenizer/bpe.js";
import { readCorpus } from "../../src/corpus/read.js";
import { CharClass, charClass } from "../../src/tokenizer/unicode-classes.js";
import { tempDir } from "../helpers/temp.js";

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/data");
const dir = tempDir("tokenizer-parity");
let llama: Llama;

before(async () => {
  llama = await getLlama({ gpu: false, build: "never", maxThreads: 2, logLevel: LlamaLogLevel.error });
});
after(async () => {
  await llama?.dispose();
});

/** Loads only the vocabulary of a tiny model carrying `tok`'s GGUF keys. */
async function loadVocab(tok: BpeTokenizer, name: string): Promise<LlamaModel> {
  const modelPath = join(dir, `${name}.gguf`);
  createLlamaGguf(modelPath, {
    config: {
      nVocab: tok.vocabSize,
      nCtx: 64,
      nEmbd: 16,
      nLayer: 1,
      nHead: 2,
      nHeadKv: 2,
      nFf: 32,
      ropeFreqBase: 10000,
      rmsEps: 1e-5,
      tiedEmbeddings: true,
    },
    tokenizer: tok.toGgufMetadata(),
    seed: 1,
  });
  return llama.loadModel({ modelPath, vocabOnly: true });
}

/** node-llama-cpp brands token ids; lethe's are plain numbers with the same meaning. */
const detokenize = (model: LlamaModel, ids: number[]): string => model.detokenize(ids as Token[]);

function assertSameIds(tok: BpeTokenizer, model: LlamaModel, text: string): void {
  const ours = tok.encode(text);
  const theirs = Array.from(model.tokenize(text));
  if (ours.length === theirs.length && ours.every((id, i) => id === theirs[i])) return;
  const at = ours.findIndex((id, i) => id !== theirs[i]);
  const show = (ids: number[]) => JSON.stringify(ids.slice(Math.max(0, at - 3), at + 4).map((id) => tok.tokenToPiece(id)));
  assert.fail(`token ${at} of ${JSON.stringify(text.slice(0, 60))} differs: lethe ${show(ours)}, llama.cpp ${show(theirs)}`);
}

/**
 * llama.cpp's detokenizer "cleans up" spaces for the gpt-2 pre-tokenizer (clean_spaces in
 * llama_vocab::impl::detokenize, which no GGUF key turns off): it drops the space in " ?", " !",
 * " .", " ,", around a lone " ' ", and before 's 'm 're 've. This replays those three passes.
 */
function llamaCleanSpaces(text: string): string {
  const chars = [...text];
  let pass1 = "";
  chars.forEach((x, i) => {
    if (i > 0 && chars[i - 1] === " " && "?!.,".includes(x)) pass1 = pass1.slice(0, -1);
    pass1 += x;
  });
  const p1 = [...pass1];
  let pass2 = "";
  for (let i = 0; i < p1.length; i++) {
    pass2 += p1[i];
    if (i > 0 && p1[i] === "'" && i + 1 < p1.length && p1[i - 1] === " " && p1[i + 1] === " ") {
      pass2 = pass2.slice(0, -2) + "'";
      i++; // the space after is dropped, and the next character sees a NUL before it
      p1[i] = "\0";
    }
  }
  const p2 = [...pass2];
  let pass3 = "";
  p2.forEach((x, i) => {
    if (i > 0 && p2[i - 1] === " " && x === "'" && i + 1 < p2.length) {
      const next = p2[i + 1] + (p2[i + 2] ?? "");
      if (/^[sm]/.test(next) || (i + 2 < p2.length && (next === "re" || next === "ve"))) pass3 = pass3.slice(0, -1);
    }
    pass3 += x;
  });
  return pass3;
}

test("llamaCleanSpaces replays llama.cpp's clean-up (hand-checked cases)", () => {
  assert.equal(llamaCleanSpaces("Hi , you . Really ? Yes !"), "Hi, you. Really? Yes!");
  assert.equal(llamaCleanSpaces("rock ' n"), "rock'n");
  assert.equal(llamaCleanSpaces("he 's she 'd we 're I 'll"), "he's she 'd we're I 'll");
  assert.equal(llamaCleanSpaces(" .x"), ".x");
});

/** Paragraph-aligned pieces of about `size` characters (never cutting a character in two). */
function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  let current = "";
  for (const paragraph of text.split(/(?<=\n\n)/)) {
    current += paragraph;
    if (current.length >= size) {
      out.push(current);
      current = "";
    }
  }
  if (current) out.push(current);
  return out;
}

const TRICKY = [
  "",
  "Hello world",
  "accents: àéîõü ÀÉÎÕÜ ñ ç ø å ß œ a\u0301",
  "CJK: 日本語のテキスト。中文字符，한국어 텍스트",
  "emoji: 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🦁!!",
  "mixed whitespace:\t\ttabs  \n\n  \r\n \u00a0nbsp\u3000ideographic \u2028line\u2029para \u0085nel  ",
  "z".repeat(10_000),
  "it's I'll we're they've I'm he'd IT'S 'tis '' 'x",
  "numbers 1234567 3.14159 ١٢٣ Ⅻ ½",
  "\uFEFFbyte order mark",
  "special text <|bos|> <|eos|> <|pad|> stays text",
  "controls \u0000 \u0001 \u001f \u007f \u200b \u200d",
  "lone surrogate \ud800 here",
  " ",
  "\n",
  "   leading and trailing   ",
];

test("llama.cpp tokenizes real text exactly like encode", async (t) => {
  if (!existsSync(DATA)) {
    t.skip(`${DATA} is absent (a fresh clone without the shared data)`);
    return;
  }
  const texts = readCorpus([join(DATA, "forget", "oz"), join(DATA, "retain")]).map((c) => c.text);
  const tok = BpeTokenizer.train(
    texts.map((text) => text.slice(0, 20_000)),
    { vocabSize: 2048 },
  );
  assert.equal(tok.vocabSize, 2048);
  const model = await loadVocab(tok, "real");
  try {
    // Text the tokenizer was not trained on: the next 20k characters of every file.
    let checked = 0;
    for (const text of texts) {
      for (const chunk of chunks(text.slice(20_000, 40_000), 4000)) {
        assertSameIds(tok, model, chunk);
        const ids = tok.encode(chunk);
        assert.equal(tok.decode(ids), chunk);
        assert.equal(detokenize(model, ids), llamaCleanSpaces(chunk));
        checked += chunk.length;
      }
    }
    assert.ok(checked > 300_000, `only ${checked} characters checked`);
    for (const text of TRICKY) {
      assertSameIds(tok, model, text);
      assert.equal(detokenize(model, tok.encode(text)), llamaCleanSpaces(tok.decode(tok.encode(text))));
    }
    assert.equal(detokenize(model, tok.encode("Aunt Em 's farm ?")), "Aunt Em's farm?");
    assert.equal(tok.decode(tok.encode("Aunt Em 's farm ?")), "Aunt Em 's farm ?");
  } finally {
    await model.dispose();
  }
});

test("llama.cpp classifies every Unicode range boundary like lethe", async () => {
  // The first and last codepoint of every run of one class in lethe's table. Each appears after and
  // before a letter, a digit and a period, and doubled before a newline; a tokenizer trained on
  // these lines learns merges across exactly the joins lethe's classes allow, so any codepoint that
  // llama.cpp classes differently gets tokenized differently.
  const boundaries: number[] = [];
  let previous = charClass(1);
  for (let cp = 2; cp <= 0x10ffff; cp++) {
    if (cp === 0xd800) cp = 0xe000; // surrogates are not text
    const cls = charClass(cp);
    if (cls !== previous) boundaries.push(cp - 1, cp);
    previous = cls;
  }
  const lines = [...new Set(boundaries)]
    .filter((cp) => cp < 0xd800 || cp > 0xdfff)
    .map((cp) => {
      const x = String.fromCodePoint(cp);
      return `a${x}a 1${x}1 .${x}. ${x}${x}\n`;
    });
  assert.ok(lines.length > 2500);
  assert.ok(charClass(0x0a) === CharClass.Whitespace);
  const corpus = lines.join("");
  const tok = BpeTokenizer.train([corpus, corpus], { vocabSize: 40_000 });
  const model = await loadVocab(tok, "boundaries");
  try {
    for (const line of lines) assertSameIds(tok, model, line);
  } finally {
    await model.dispose();
  }
});
