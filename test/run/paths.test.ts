import { test } from "node:test";
import assert from "node:assert/strict";
import { linkSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { checkOutputFile, refuseOverwritingInputs } from "../../src/run/paths.js";
import { unwritableFolder } from "../cli/helpers.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("paths");
const model = join(dir, "base.gguf");
writeFileSync(model, "weights");
const corpus = join(dir, "books");
mkdirSync(corpus);
writeFileSync(join(corpus, "a.txt"), "text");

const refused = (pattern: RegExp) => (e: unknown) => e instanceof InputError && pattern.test(e.message);

test("an output that is an input, by name, through a symbolic link or as a hard link, is refused naming both", () => {
  const inputs = [{ flag: "--model", path: model }];
  assert.throws(() => refuseOverwritingInputs({ flag: "--out", path: join(dir, ".", "base.gguf") }, inputs), refused(/--out .*base\.gguf is the same file as --model .*base\.gguf/));
  symlinkSync(model, join(dir, "link.gguf"));
  assert.throws(() => refuseOverwritingInputs({ flag: "--out", path: join(dir, "link.gguf") }, inputs), refused(/is the same file as --model/));
  linkSync(model, join(dir, "hard.gguf"));
  assert.throws(() => refuseOverwritingInputs({ flag: "--out", path: join(dir, "hard.gguf") }, inputs), refused(/hard\.gguf is a hard link to --model/));
  refuseOverwritingInputs({ flag: "--out", path: join(dir, "new.gguf") }, inputs);
  refuseOverwritingInputs({ flag: "--out", path: join(dir, "missing", "deeper", "new.gguf") }, inputs);
});

test("an output inside a folder read whole is refused; inside another input folder it is allowed", () => {
  const out = { flag: "--out", path: join(corpus, "sub", "u.gguf") };
  assert.throws(() => refuseOverwritingInputs(out, [{ flag: "--forget", path: corpus, readWhole: true }]), refused(/inside --forget .*books, a folder read whole/));
  refuseOverwritingInputs(out, [{ flag: "--testbed", path: corpus }]);
  assert.throws(() => refuseOverwritingInputs({ flag: "--run-dir", path: corpus }, [{ flag: "--forget", path: corpus, readWhole: true }]), refused(/same folder as --forget/));
  refuseOverwritingInputs({ flag: "--out", path: join(dir, "books-2", "u.gguf") }, [{ flag: "--forget", path: corpus, readWhole: true }]);
});

test("checkOutputFile refuses a missing folder, a folder as the file, and a folder that takes no files, and leaves nothing behind", () => {
  assert.throws(() => checkOutputFile(join(dir, "nope", "x.json"), "--out"), refused(/folder .*nope does not exist/));
  assert.throws(() => checkOutputFile(corpus, "--out"), refused(/--out .*books is a directory/));
  const before = readdirSync(dir).sort();
  checkOutputFile(join(dir, "fine.json"), "--out");
  assert.deepEqual(readdirSync(dir).sort(), before);
  const locked = unwritableFolder(dir);
  assert.throws(() => checkOutputFile(join(locked, "lethe.json"), "--out"), refused(/does not take new files/));
});
