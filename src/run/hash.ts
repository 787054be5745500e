/**
 * Hashes that decide whether a finished stage can be reused: one over the stage's configuration,
 * one per input file, and one per output (with the file's times, to know when to check it again).
 */
import { createHash } from "node:crypto";
import { open, readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { LetheError, InputError } from "../errors.js";
import type { OutputHash } from "./manifest.js";

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

/** The files below `dir` (at any depth), as sorted paths relative to it. */
export async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function fingerprintDirectory(dir: string): Promise<string> {
  const hash = createHash("sha256");
  for (const relative of await filesUnder(dir)) hash.update(`${relative}\0${await fingerprintFile(join(dir, relative))}\n`);
  return `dir:sha256:${hash.digest("hex")}`;
}

const HASH_CHUNK = 4 * 1024 * 1024;

/**
 * Hex SHA-256 of a file's bytes, read in 4 MiB pieces: memory stays flat for a file of any size,
 * and the cost is one read of the file (about 1.2 GB/s on one core with the SHA extensions, from the
 * page cache).
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

/**
 * `size:mtimeNs:ctimeNs:inode` of a file; for a directory, `dir:` and a hash over its files' relative
 * paths and signatures. Any write to a file moves its change time (ctime), which, unlike the
 * modification time, no program can set back (`touch`, `cp -p` and `rsync -t` restore mtime only);
 * replacing the file changes the inode too. So while the signature is unchanged the content is
 * too, bar a same-size write within one tick of the file system's clock (a few ms at most) of the
 * change the signature recorded.
 */
export async function statSignature(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  if (!info.isDirectory()) return `${info.size}:${info.mtimeNs}:${info.ctimeNs}:${info.ino}`;
  const hash = createHash("sha256");
  for (const relative of await filesUnder(path)) hash.update(`${relative}\0${await statSignature(join(path, relative))}\n`);
  return `dir:${hash.digest("hex")}`;
}

/**
 * The {@link OutputHash} of a stage's output, a file or a directory (hashed over its files'
 * relative paths and hashes). The signature is taken before and after reading, so a file that
 * changes while it is hashed is read again, and one that keeps changing is an error.
 */
export async function hashOutput(path: string): Promise<OutputHash> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await statSignature(path);
    let sha256: string;
    if (before.startsWith("dir:")) {
      const hash = createHash("sha256");
      for (const relative of await filesUnder(path)) hash.update(`${relative}\0${await sha256File(join(path, relative))}\n`);
      sha256 = hash.digest("hex");
    } else {
      sha256 = await sha256File(path);
    }
    if ((await statSignature(path)) === before) return { sha256, stat: before };
  }
  throw new LetheError(`${path} kept changing while lethe hashed it`, "stop whatever else is writing into the run directory, then rerun");
}
