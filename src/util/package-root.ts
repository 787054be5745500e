/** Where lethe's own files are, whether it runs from the sources, the build or an installed package. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { LetheError } from "../errors.js";

let cached: string | undefined;

/**
 * The folder of lethe's package.json, found by walking up from this file: sources sit at
 * `src/util/` and the build at `dist/src/util/`, so the depth differs. Packaged files (the native
 * sources, `data/`) are found from here.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "lethe") return (cached = dir);
    } catch {
      // No readable package.json here; keep walking up.
    }
    if (dirname(dir) === dir) throw new LetheError(`lethe's package.json was not found above ${here}`, "reinstall lethe");
  }
}

/** lethe's package.json. */
export function readPackageJson(): { name: string; version: string } {
  return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { name: string; version: string };
}
