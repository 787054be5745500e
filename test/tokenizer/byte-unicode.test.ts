import assert from "node:assert/strict";
import { test } from "node:test";
import { BYTE_TO_CHAR, bytesToTokenString, tokenStringToBytes } from "../../src/tokenizer/byte-unicode.js";

test("printable Latin-1 bytes stand for themselves", () => {
  assert.equal(BYTE_TO_CHAR[0x41], "A");
  assert.equal(BYTE_TO_CHAR[0x21], "!");
  assert.equal(BYTE_TO_CHAR[0x7e], "~");
  assert.equal(BYTE_TO_CHAR[0xe9], "é");
});

test("the other bytes map in order to U+0100 onwards, as in GPT-2", () => {
  assert.equal(BYTE_TO_CHAR[0x00], "\u0100");
  assert.equal(BYTE_TO_CHAR[0x0a], "Ċ"); // U+010A
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ"); // U+0120: 0x00..0x20 are the first 33
  assert.equal(BYTE_TO_CHAR[0x7f], "\u0121");
  assert.equal(BYTE_TO_CHAR[0xa0], "\u0142");
  assert.equal(BYTE_TO_CHAR[0xad], "Ń"); // U+0143, the last one
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
});

test("token strings convert to bytes and back", () => {
  assert.equal(bytesToTokenString(Uint8Array.of(0x20, 0x68, 0x69)), "Ġhi");
  assert.deepEqual(tokenStringToBytes("Ġhi"), Uint8Array.of(0x20, 0x68, 0x69));
  // "é" is two UTF-8 bytes, each its own character in a token string.
  assert.equal(bytesToTokenString(new TextEncoder().encode("é")), "Ã©");
  assert.deepEqual(tokenStringToBytes("Ã©"), Uint8Array.of(0xc3, 0xa9));
});

test("strings with characters outside the table are not byte-level tokens", () => {
  assert.equal(tokenStringToBytes(" "), undefined); // the raw space byte is never written as itself
  assert.equal(tokenStringToBytes("<|bos| >"), undefined);
  assert.equal(tokenStringToBytes("日"), undefined);
});
