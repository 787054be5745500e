// Reads training text from disk and refuses anything that is not plain UTF-8 text, so the
// tokenizer only ever sees real strings (a binary or Latin-1 file would otherwise train garbage
// tokens without any error).

import { readdirSync, readFileSync, realpathSync, statSync, type Stats } from "node:fs";
import { extname, join } from "node:path";
import { InputError } from "../errors.js";

/** One corpus file: `name` is its path as found (the given path, or the directory joined with its relative path). */
export interface CorpusText {
  name: string;
  text: string;
}

/** Extensions picked up when a directory is given; files named directly may have any extension. */
const TEXT_EXTENSIONS = new Set([".txt", ".md"]);

/**
 * Read the text files at `paths`. A directory contributes every .txt/.md file below it
 * (recursively, sorted by path); a file is read whatever its extension. A file reached twice is
 * read once. Throws InputError for a missing path, a directory without text files, and an empty,
 * binary (NUL bytes) or non-UTF-8 file. A leading UTF-8 byte order mark is dropped.
 */
export function readCorpus(paths: string[]): CorpusText[] {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new InputError("no corpus paths were given", "name at least one text file or directory");
  }
  const files: string[] = [];
  for (const path of paths) {
    if (typeof path !== "string" || path === "") {
      throw new InputError(`corpus path ${JSON.stringify(path)} is not a path`, "name text files or directories");
    }
    const stats = statOrThrow(path);
    if (stats.isDirectory()) {
      const found = listTextFiles(path, new Set());
      if (found.length === 0) {
        throw new InputError(`corpus directory ${path} contains no .txt or .md files`, "point at a directory of text files");
      }
      files.push(...found);
    } else {
      files.push(path);
    }
  }

  const seen = new Set<string>();
  const corpus: CorpusText[] = [];
  for (const file of files) {
    const real = realpathSync(file);
    if (seen.has(real)) continue;
    seen.add(real);
    corpus.push({ name: file, text: readTextFile(file) });
  }
  return corpus;
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new InputError(`corpus path ${path} does not exist`, "check the path for typos", { cause: err });
    }
    throw new InputError(`corpus path ${path} cannot be read (${code ?? String(err)})`, "check its permissions", {
      cause: err,
    });
  }
}

/** Text files below `dir`, sorted by path; `visited` holds real paths of directories already walked (symlink loops). */
function listTextFiles(dir: string, visited: Set<string>): string[] {
  const real = realpathSync(dir);
  if (visited.has(real)) return [];
  visited.add(real);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new InputError(`corpus directory ${dir} cannot be listed`, "check its permissions", { cause: err });
  }
  // Plain code-unit order, not locale order: the corpus order must not depend on the machine.
  names.sort();
  const files: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const stats = statOrThrow(path);
    if (stats.isDirectory()) files.push(...listTextFiles(path, visited));
    else if (stats.isFile() && TEXT_EXTENSIONS.has(extname(name).toLowerCase())) files.push(path);
  }
  return files;
}

function readTextFile(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix = code === "EISDIR" ? "name a file or a directory of text files" : "check its permissions";
    throw new InputError(`corpus file ${file} cannot be read (${code ?? String(err)})`, fix, { cause: err });
  }
  if (bytes.length === 0) throw new InputError(`corpus file ${file} is empty`, "remove it from the corpus or add text to it");
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new InputError(
      `corpus file ${file} is binary (it contains a NUL byte at offset ${nul})`,
      "give only plain text files",
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    throw new InputError(
      `corpus file ${file} is not valid UTF-8`,
      "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)",
      { cause: err },
    );
  }
  if (!/\S/.test(text)) {
    throw new InputError(`corpus file ${file} contains only whitespace`, "remove it from the corpus or add text to it");
  }
  return text;
}
