/**
 * Puts a finished file from a run directory at its public path by one rename, so the public path
 * never holds a partial file. A hard link costs no space; across file systems the file is copied.
 */
import { copyFileSync, existsSync, linkSync, renameSync, rmSync, statSync } from "node:fs";

export function publishFile(source: string, out: string): void {
  // rename() between two links of one file does nothing and would leave the temporary link behind.
  if (existsSync(out)) {
    const [a, b] = [statSync(source), statSync(out)];
    if (a.ino === b.ino && a.dev === b.dev) return;
  }
  const tmp = `${out}.tmp`;
  rmSync(tmp, { force: true });
  try {
    linkSync(source, tmp);
  } catch {
    copyFileSync(source, tmp);
  }
  try {
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
}
