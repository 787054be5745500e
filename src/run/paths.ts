/**
 * Checks on the paths a command writes, made before any long work: the output's folder exists and
 * takes new files, and no output lands on (or, for a corpus folder, inside) one of the inputs.
 */
import { existsSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { InputError } from "../errors.js";

/** A path the user gave, named by its flag (e.g. `--model`) for messages. */
export interface NamedPath {
  flag: string;
  path: string;
  /**
   * A folder read whole (a corpus: every text file below it is read and fingerprinted), so an
   * output anywhere inside it would change the input too.
   */
  readWhole?: boolean;
}

/**
 * The real path of `path`, also when it does not exist yet: the nearest existing ancestor is
 * resolved (symbolic links followed) and the rest appended.
 */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(canonical(parent), basename(absolute));
  }
}

/** Whether two existing paths are one file under two names (hard links share device and inode). */
function sameInode(a: string, b: string): boolean {
  const [sa, sb] = [statSync(a, { throwIfNoEntry: false }), statSync(b, { throwIfNoEntry: false })];
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * Refuses, with an InputError naming both paths, an output that would overwrite an input: the same
 * file once symbolic links are resolved, a hard link to it, or a path inside an input folder that is
 * read whole. Writing there would destroy the input (a rerun would then start from the output).
 */
export function refuseOverwritingInputs(output: NamedPath, inputs: readonly NamedPath[]): void {
  const out = canonical(output.path);
  for (const input of inputs) {
    const real = canonical(input.path);
    if (real === out || sameInode(output.path, input.path)) {
      const kind = statSync(real, { throwIfNoEntry: false })?.isDirectory() ? "folder" : "file";
      const how = real === out ? `the same ${kind} as` : "a hard link to";
      throw new InputError(
        `${output.flag} ${output.path} is ${how} ${input.flag} ${input.path}: writing it would destroy that input`,
        `choose another path for ${output.flag}`,
      );
    }
    const inside = relative(real, out);
    if (input.readWhole && inside !== "" && !inside.startsWith("..") && !isAbsolute(inside)) {
      throw new InputError(
        `${output.flag} ${output.path} is inside ${input.flag} ${input.path}, a folder read whole as input: writing there would change that input`,
        `choose a path for ${output.flag} outside ${input.path}`,
      );
    }
  }
}

/**
 * Checks that the file `path` (given by `flag`) can be written: its folder exists, the path is not a
 * folder, and a file can be created there. The last is tried for real (a file is made and removed),
 * since permission bits do not tell for root, read-only mounts or ACLs; finding out after hours of
 * work that the result cannot be saved would lose it.
 */
export function checkOutputFile(path: string, flag: string): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`cannot write ${path}: folder ${folder} does not exist`, `create the folder or choose another ${flag}`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(`${flag} ${path} is a directory`, "give the path of a file to write");
  const probe = join(folder, `.lethe-write-check-${process.pid}`);
  try {
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InputError(`cannot write ${path}: folder ${folder} does not take new files (${why})`, `make ${folder} writable or choose another ${flag}`, {
      cause: error,
    });
  }
}
