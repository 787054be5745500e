// GPT-2's bytes_to_unicode table. Byte-level BPE vocabularies store each byte as a printable
// character so that token strings (in GGUF and in merges "a b") never contain raw control bytes
// or spaces: printable Latin-1 bytes stand for themselves, the other 68 bytes are mapped in order
// to U+0100..U+0143 (so the space byte 0x20 becomes "Ġ", U+0120, and "\n" becomes "Ċ").

function isPrintableLatin1(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteToChar(): string[] {
  const chars: string[] = new Array(256);
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    chars[byte] = String.fromCharCode(isPrintableLatin1(byte) ? byte : next++);
  }
  return chars;
}

/** `BYTE_TO_CHAR[b]` is the one-character string that stands for byte `b` in a token string. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Indexed by UTF-16 code unit (all table characters are below U+0144); -1 where no byte maps there. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((ch, byte) => {
    table[ch.charCodeAt(0)] = byte;
  });
  return table;
})();

/** The token string for a byte sequence, e.g. `[0x20, 0x68, 0x69]` -> `"Ġhi"`. */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = "";
  for (const byte of bytes) s += BYTE_TO_CHAR[byte];
  return s;
}

/**
 * The bytes a token string stands for, or `undefined` if some character is not in the table
 * (then the string is not a byte-level token).
 */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const unit = token.charCodeAt(i);
    const byte = unit < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[unit] : -1;
    if (byte < 0) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
