/**
 * Hashes that decide whether a finished stage can be reused: one over the stage's configuration,
 * one per input file.
 */
import { createHash } from "node:crypto";
import { open, readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { InputError } from "../errors.js";

/**
 * JSON with object keys sorted at every depth, so two configs that differ only in key order give
 * the same text. Follows JSON.stringify otherwise (undefined properties are left out, `toJSON` is
 * honoured), except that a bigint is written as a decimal string and values JSON would silently
 * turn into `null` or drop (NaN, Infinity, functions, symbols) are refused: a hash must never
 * confuse two different configs.
 */
export function stableStringify(value: unknown): string {
  const seen = new Set<object>();
  const encode = (v: unknown, path: string): string | undefined => {
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON(): unknown }).toJSON();
    }
    if (v === undefined) return undefined;
    if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
    if (typeof v === "bigint") return JSON.stringify(v.toString());
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new TypeError(`stableStringify: ${path} is ${v}, which JSON cannot represent`);
      return JSON.stringify(v);
    }
    if (typeof v !== "object") throw new TypeError(`stableStringify: ${path} is a ${typeof v}, which JSON cannot represent`);
    if (seen.has(v)) throw new TypeError(`stableStringify: ${path} refers back to itself`);
    seen.add(v);
    let text: string;
    if (Array.isArray(v)) {
      text = `[${v.map((item, i) => encode(item, `${path}[${i}]`) ?? "null").join(",")}]`;
    } else {
      const fields = Object.keys(v)
        .sort()
        .flatMap((key) => {
          const encoded = encode((v as Record<string, unknown>)[key], `${path}.${key}`);
          return encoded === undefined ? [] : [`${JSON.stringify(key)}:${encoded}`];
        });
      text = `{${fields.join(",")}}`;
    }
    seen.delete(v);
    return text;
  };
  return encode(value, "config") ?? "null";
}

/** Hex SHA-256 of the stable JSON of `config`: equal for equal configs, whatever their key order. */
export function hashConfig(config: unknown): string {
  return createHash("sha256").update(stableStringify(config)).digest("hex");
}

/** Files up to this size are hashed whole; larger ones are sampled (see {@link fingerprintFile}). */
export const FULL_HASH_LIMIT = 2 * 1024 * 1024;
const SAMPLE_BYTES = 1024 * 1024;

/**
 * A quick identity of a file's content.
 *
 * - Up to 2 MiB: `sha256:<hex>` of the whole file, so only a content change alters it.
 * - Larger (multi-GiB models): `<size>:<mtimeMs>:sha256:<hex>` where the hash covers the first and
 *   the last MiB. Reading 2 MiB instead of gigabytes keeps a resume instant; an edit in the middle
 *   that keeps the size is still caught by the modification time, and a copy with a new mtime only
 *   costs a re-run, never a wrong reuse. Touching such a file therefore counts as a change.
 *
 * A directory is fingerprinted as the hash of its files' relative paths and fingerprints, sorted.
 */
export async function fingerprintFile(path: string): Promise<string> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(
      err.code === "ENOENT" ? `input ${path} does not exist` : `input ${path} cannot be read (${err.code ?? err.message})`,
      err.code === "ENOENT" ? "check the path, or create the file first" : "check the file's permissions",
      { cause: err },
    );
  });
  if (info.isDirectory()) return fingerprintDirectory(path);
  const hash = createHash("sha256");
  const file = await open(path, "r");
  try {
    if (info.size <= FULL_HASH_LIMIT) {
      hash.update(await file.readFile());
      return `sha256:${hash.digest("hex")}`;
    }
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    for (const position of [0, info.size - SAMPLE_BYTES]) {
      const { bytesRead } = await file.read(buffer, 0, SAMPLE_BYTES, position);
      hash.update(buffer.subarray(0, bytesRead));
    }
    return `${info.size}:${Math.trunc(info.mtimeMs)}:sha256:${hash.digest("hex")}`;
  } finally {
    await file.close();
  }
}

async function fingerprintDirectory(dir: string): Promise<string> {
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
  const hash = createHash("sha256");
  for (const relative of entries) hash.update(`${relative}\0${await fingerprintFile(join(dir, relative))}\n`);
  return `dir:sha256:${hash.digest("hex")}`;
}
