import assert from "node:assert/strict";
import { test } from "node:test";
import { pretokenize, toWellFormed } from "../../src/tokenizer/pretokenize.js";
import { CharClass, charClass } from "../../src/tokenizer/unicode-classes.js";

test("words keep their leading space", () => {
  assert.deepEqual(pretokenize("Hello world"), ["Hello", " world"]);
  assert.deepEqual(pretokenize("Dorothy met the Scarecrow."), ["Dorothy", " met", " the", " Scarecrow", "."]);
});

test("letters, numbers and other characters form separate runs", () => {
  assert.deepEqual(pretokenize("abc123def"), ["abc", "123", "def"]);
  assert.deepEqual(pretokenize("hello!!! ?? 42"), ["hello", "!!!", " ??", " 42"]);
  assert.deepEqual(pretokenize("3.14"), ["3", ".", "14"]);
});

test("contractions split off only in lower case", () => {
  assert.deepEqual(pretokenize("it's we're I'll he'd"), ["it", "'s", " we", "'re", " I", "'ll", " he", "'d"]);
  assert.deepEqual(pretokenize("IT'S"), ["IT", "'", "S"]);
  assert.deepEqual(pretokenize("'tis"), ["'t", "is"]);
});

test("whitespace runs leave their last space to the next word", () => {
  assert.deepEqual(pretokenize("a  b"), ["a", " ", " b"]);
  assert.deepEqual(pretokenize("a\n\nb"), ["a", "\n", "\n", "b"]);
  assert.deepEqual(pretokenize("a \n b"), ["a", " \n", " b"]);
  assert.deepEqual(pretokenize("end  "), ["end", "  "]);
  assert.deepEqual(pretokenize("   "), ["   "]);
  assert.deepEqual(pretokenize(" "), [" "]);
  assert.deepEqual(pretokenize(""), []);
});

test("non-ASCII whitespace, letters and numbers follow llama.cpp's table", () => {
  assert.deepEqual(pretokenize("a\u00a0b"), ["a", "\u00a0", "b"]); // no-break space is whitespace
  assert.deepEqual(pretokenize("x\u200by"), ["x", "\u200b", "y"]); // zero-width space is not
  assert.deepEqual(pretokenize("café naïve"), ["café", " naïve"]);
  assert.deepEqual(pretokenize("日本語、中文"), ["日本語", "、", "中文"]);
  assert.deepEqual(pretokenize("Ⅻ ١٢٣"), ["Ⅻ", " ١٢٣"]); // Roman numeral and Arabic-Indic digits are numbers
  // A combining accent is a mark, not a letter, so it breaks the word.
  assert.deepEqual(pretokenize("a\u0301b"), ["a", "\u0301", "b"]);
  assert.deepEqual(pretokenize("ok 👍🏽!"), ["ok", " 👍🏽!"]);
});

test("codepoints that newer Unicode calls letters stay unassigned, as in llama.cpp", () => {
  // U+088F (Arabic, Unicode 14) and U+10D4A (Garay, Unicode 16) are letters to a recent JS engine
  // but "undefined" in llama.cpp's table, which puts them in the other-characters class.
  assert.equal(charClass(0x088f), CharClass.Other);
  assert.equal(charClass(0x10d4a), CharClass.Other);
  assert.deepEqual(pretokenize("x\u088Fy"), ["x", "\u088F", "y"]);
  assert.equal(charClass(0x61), CharClass.Letter);
  assert.equal(charClass(0x0661), CharClass.Number);
  assert.equal(charClass(0x3000), CharClass.Whitespace);
  assert.equal(charClass(0x85), CharClass.Whitespace);
  assert.equal(charClass(0x1c), CharClass.Other); // Python's \s has it, llama.cpp's does not
});

test("lone surrogates become U+FFFD, as in the UTF-8 llama.cpp receives", () => {
  assert.equal(toWellFormed("a\ud800b\udc00c"), "a\ufffdb\ufffdc");
  assert.equal(toWellFormed("ok 😀"), "ok 😀");
  assert.deepEqual(pretokenize("x\ud800"), ["x", "\ufffd"]);
});

test("the pieces always concatenate back to the text", () => {
  const text = "  The Tin Woodman's axe—“quite so!”\n\n\t 12,000 men.\r\n終わり  ";
  assert.equal(pretokenize(text).join(""), text);
});
