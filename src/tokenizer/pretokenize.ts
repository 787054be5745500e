// The GPT-2 pre-tokenizer: splits text into the "words" that BPE merges never cross, using
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// This is a line-by-line port of llama.cpp's hand-written matcher for that regex
// (`unicode_regex_split_custom_gpt2` in src/unicode.cpp), not a JS RegExp: llama.cpp decides
// letters, numbers and whitespace with its own Unicode table (see unicode-classes.ts), which
// differs from both JS's \p{..} and \s, and only that matcher defines what llama.cpp does.

import { CharClass, charClass } from "./unicode-classes.js";

/** Past the end of the text: matches no class at all (llama.cpp's empty flags). */
const NONE = -1;

const APOSTROPHE = 0x27;
const SPACE = 0x20;
const LOWER_S = 0x73;
const LOWER_T = 0x74;
const LOWER_M = 0x6d;
const LOWER_D = 0x64;
const LOWER_R = 0x72;
const LOWER_E = 0x65;
const LOWER_V = 0x76;
const LOWER_L = 0x6c;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` with every unpaired UTF-16 surrogate replaced by U+FFFD. Such a string has no UTF-8 form;
 * this is the replacement Node (and so node-llama-cpp) makes when it converts it to UTF-8.
 */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * Split `text` into pre-tokens exactly as llama.cpp does for `tokenizer.ggml.pre = "gpt-2"`.
 * The pieces concatenate back to `toWellFormed(text)`.
 */
export function pretokenize(text: string): string[] {
  const wellFormed = toWellFormed(text);
  // Codepoints and the UTF-16 offset where each starts, so the matcher can work in codepoints
  // (as llama.cpp does) and the words can still be cut out of the JS string.
  const cps = new Int32Array(wellFormed.length);
  const starts = new Int32Array(wellFormed.length + 1);
  let n = 0;
  for (let i = 0; i < wellFormed.length; n++) {
    const cp = wellFormed.codePointAt(i)!;
    cps[n] = cp;
    starts[n] = i;
    i += cp > 0xffff ? 2 : 1;
  }
  starts[n] = wellFormed.length;

  const words: string[] = [];
  const classAt = (pos: number): number => (pos < n ? charClass(cps[pos]) : NONE);
  let prevEnd = 0;
  const emit = (end: number): number => {
    const len = end - prevEnd;
    if (len > 0) words.push(wellFormed.slice(starts[prevEnd], starts[end]));
    prevEnd = end;
    return len;
  };

  for (let pos = 0; pos < n; ) {
    const cp = cps[pos];

    // 's|'t|'re|'ve|'m|'ll|'d  (lower case only, as in GPT-2)
    if (cp === APOSTROPHE && pos + 1 < n) {
      const next = cps[pos + 1];
      if (next === LOWER_S || next === LOWER_T || next === LOWER_M || next === LOWER_D) {
        pos += emit(pos + 2);
        continue;
      }
      if (pos + 2 < n) {
        const nextNext = cps[pos + 2];
        if (
          (next === LOWER_R && nextNext === LOWER_E) ||
          (next === LOWER_V && nextNext === LOWER_E) ||
          (next === LOWER_L && nextNext === LOWER_L)
        ) {
          pos += emit(pos + 3);
          continue;
        }
      }
    }

    // An optional leading space joins the letter / number / other run that follows it.
    const runClass = cp === SPACE ? classAt(pos + 1) : charClass(cp);
    if (runClass === CharClass.Letter || runClass === CharClass.Number || runClass === CharClass.Other) {
      if (cp === SPACE) pos++;
      do pos++;
      while (classAt(pos) === runClass);
      emit(pos);
      continue;
    }

    let spaces = 0;
    while (classAt(pos + spaces) === CharClass.Whitespace) spaces++;
    // \s+(?!\S): a whitespace run followed by more text leaves its last character to start the
    // next word (so " word" keeps its space).
    if (spaces > 1 && pos + spaces < n) {
      pos += spaces - 1;
    } else {
      // \s+ (every codepoint has a class, so a run reaching here has at least one character)
      pos += spaces;
    }
    emit(pos);
  }
  return words;
}
