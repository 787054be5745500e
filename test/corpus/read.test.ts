import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InputError } from "../../src/errors.js";
import { readCorpus } from "../../src/corpus/read.js";
import { tempDir } from "../helpers/temp.js";

const root = tempDir("corpus");

function dir(name: string, files: Record<string, string | Uint8Array>): string {
  const base = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(base, path, ".."), { recursive: true });
    writeFileSync(join(base, path), content);
  }
  return base;
}

function rejects(paths: string[], message: RegExp): void {
  assert.throws(() => readCorpus(paths), (err: unknown) => err instanceof InputError && message.test(err.message));
}

test("reads .txt and .md files below a directory, sorted by path", () => {
  const base = dir("tree", {
    "b.txt": "second",
    "a.md": "first",
    "sub/c.TXT": "third",
    "sub/skip.json": "{}",
    "Z.txt": "zeroth", // upper case sorts first in code-unit order
  });
  const corpus = readCorpus([base]);
  assert.deepEqual(
    corpus.map((c) => [c.name, c.text]),
    [
      [join(base, "Z.txt"), "zeroth"],
      [join(base, "a.md"), "first"],
      [join(base, "b.txt"), "second"],
      [join(base, "sub", "c.TXT"), "third"],
    ],
  );
});

test("a file named directly is read whatever its extension, and only once", () => {
  const base = dir("direct", { "notes.text": "café ☕", "x.txt": "x" });
  const corpus = readCorpus([join(base, "notes.text"), base, join(base, "x.txt")]);
  assert.deepEqual(corpus.map((c) => c.text), ["café ☕", "x"]);
});

test("a UTF-8 byte order mark is dropped", () => {
  const base = dir("bom", { "a.txt": new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]) });
  assert.equal(readCorpus([base])[0].text, "hi");
});

test("symlink loops are walked once", () => {
  const base = dir("loop", { "a.txt": "a" });
  symlinkSync(base, join(base, "self"));
  assert.deepEqual(readCorpus([base]).map((c) => c.text), ["a"]);
});

test("rejects missing paths, empty and whitespace-only files", () => {
  rejects([join(root, "nope")], /corpus path .*nope does not exist/);
  rejects([], /no corpus paths/);
  rejects([""], /is not a path/);
  const base = dir("empty", { "e.txt": "", "w.txt": " \n\t\n" });
  rejects([join(base, "e.txt")], /e\.txt is empty/);
  rejects([join(base, "w.txt")], /w\.txt contains only whitespace/);
  rejects([dir("no-text", { "data.bin": "x" })], /contains no \.txt or \.md files/);
});

test("rejects binary and non-UTF-8 files, naming the file", () => {
  const base = dir("bad", {
    "nul.txt": new Uint8Array([0x61, 0x62, 0x00, 0x63]),
    "latin1.txt": new Uint8Array([0x63, 0x61, 0x66, 0xe9]), // "café" in Latin-1
    "cut.txt": new Uint8Array([0x61, 0xe6, 0x97]), // a three-byte character cut short
  });
  rejects([join(base, "nul.txt")], /nul\.txt is binary \(it contains a NUL byte at offset 2\)/);
  rejects([join(base, "latin1.txt")], /latin1\.txt is not valid UTF-8/);
  rejects([join(base, "cut.txt")], /cut\.txt is not valid UTF-8/);
  // A bad file anywhere below a directory fails the whole read.
  rejects([base], /cut\.txt is not valid UTF-8/);
});
