// Seeded mutations of files for the fuzz test: byte-level damage (any file) and value-level edits
// (JSON documents). Every mutation returns a description, so a failure names exactly what was done.
import { SeededRandom } from "../../src/util/random.js";

/** A uniform integer in [0, n). */
export function below(random: SeededRandom, n: number): number {
  return Math.floor(random.nextFloat() * n);
}

export function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[below(random, items.length)]!;
}

/** 32-bit patterns that tend to break readers: zero, one, all ones, sign bits, NaN and infinity. */
const INTERESTING_U32 = [0, 1, 2, 0x7f, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x7fc00000, 0x7f800000, 0xff800000, 0xbf800000];

/**
 * 1 to 4 random byte-level changes: bit flips, random bytes, interesting u32/u64 values, truncation,
 * deleted or repeated ranges. `focus` bytes at the start (a header) get most of the changes.
 */
export function mutateBytes(input: Uint8Array, random: SeededRandom, focus = input.length): { bytes: Uint8Array; what: string } {
  let bytes = Uint8Array.from(input);
  const done: string[] = [];
  const ops = 1 + below(random, 4);
  for (let op = 0; op < ops && bytes.length > 0; op++) {
    const span = random.nextFloat() < 0.9 ? Math.min(focus, bytes.length) : bytes.length;
    const at = below(random, span);
    switch (below(random, 7)) {
      case 0: {
        const bit = below(random, 8);
        bytes[at] ^= 1 << bit;
        done.push(`flip bit ${bit} of byte ${at}`);
        break;
      }
      case 1: {
        const value = below(random, 256);
        bytes[at] = value;
        done.push(`byte ${at} = ${value}`);
        break;
      }
      case 2: {
        const value = pick(random, INTERESTING_U32);
        if (at + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(at, value, true);
        done.push(`u32 at ${at} = 0x${value.toString(16)}`);
        break;
      }
      case 3: {
        const value = pick(random, [0n, 1n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n]);
        if (at + 8 <= bytes.length) new DataView(bytes.buffer).setBigUint64(at, value, true);
        done.push(`u64 at ${at} = ${value}`);
        break;
      }
      case 4: {
        bytes = bytes.slice(0, at);
        done.push(`truncate to ${at} bytes`);
        break;
      }
      case 5: {
        const length = 1 + below(random, 16);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + length)]);
        done.push(`delete ${length} bytes at ${at}`);
        break;
      }
      default: {
        const length = 1 + below(random, 16);
        const range = bytes.subarray(at, at + length);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...range, ...bytes.subarray(at)]);
        done.push(`repeat ${range.length} bytes at ${at}`);
      }
    }
  }
  return { bytes, what: done.join(", ") || "nothing" };
}

/** Values of every JSON kind, chosen to be wrong in as many ways as possible. */
function strangeValue(random: SeededRandom): unknown {
  return pick(random, [
    null,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    "",
    "x".repeat(10_000),
    "\u0000\ud800",
    true,
    [],
    [null],
    {},
    { a: [{}] },
    Array.from({ length: 50 }, (_, i) => i),
  ]);
}

/** Paths of every value inside a JSON document (the root is the empty path). */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) {
    // Long arrays (vocabularies) get a sample of their items, so the walk stays cheap.
    const step = Math.max(1, Math.floor(value.length / 20));
    for (let i = 0; i < value.length; i += step) paths(value[i], [...prefix, i], out);
  } else if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) paths((value as Record<string, unknown>)[key], [...prefix, key], out);
  }
  return out;
}

/**
 * 1 to 3 value-level edits of a JSON document: a value replaced by a strange one, a key deleted, an
 * array item duplicated, emptied or shortened. Returns the mutated copy.
 */
export function mutateJson(document: unknown, random: SeededRandom): { value: unknown; what: string } {
  let root = structuredClone(document);
  const done: string[] = [];
  const edits = 1 + below(random, 3);
  for (let e = 0; e < edits; e++) {
    const path = pick(random, paths(root));
    const name = path.length === 0 ? "the root" : path.join(".");
    const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root) as Record<string | number, unknown> | unknown[] | undefined;
    const key = path[path.length - 1];
    const target = key === undefined ? root : (parent as Record<string | number, unknown>)[key];
    const choice = below(random, 5);
    if (choice === 0 && Array.isArray(target) && target.length > 0) {
      const i = below(random, target.length);
      target.splice(below(random, target.length + 1), 0, structuredClone(target[i]));
      done.push(`${name}: repeat item ${i}`);
    } else if (choice === 1 && Array.isArray(target)) {
      target.length = below(random, target.length + 1);
      done.push(`${name}: keep ${target.length} items`);
    } else if (choice === 2 && key !== undefined && !Array.isArray(parent)) {
      delete (parent as Record<string, unknown>)[key];
      done.push(`delete ${name}`);
    } else {
      const value = strangeValue(random);
      if (key === undefined) root = value;
      else (parent as Record<string | number, unknown>)[key] = value;
      const shown = JSON.stringify(value) ?? String(value);
      done.push(`${name} = ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}`);
    }
  }
  return { value: root, what: done.join(", ") };
}
