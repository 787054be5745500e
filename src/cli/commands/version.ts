/** `lethe version`: which lethe and node are running; also answers `lethe --version`. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LetheError } from "../../errors.js";
import { defineCommand, type ParsedArgs } from "../args.js";
import type { CommandContext } from "../command.js";
import type { Output } from "../output.js";

export const spec = defineCommand({
  name: "version",
  summary: "print the lethe version",
  examples: [{ command: "version --json", description: "as JSON, for scripts" }],
});

/** The result of `lethe version`. */
export interface VersionResult {
  name: string;
  version: string;
  node: string;
  platform: string;
}

/**
 * lethe's package.json, found by walking up from this file: the source sits at
 * `src/cli/commands/` and the build at `dist/src/cli/commands/`, so the depth differs.
 */
export function readPackageJson(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "lethe" && typeof pkg.version === "string") return { name: pkg.name, version: pkg.version };
    } catch {
      // No readable package.json here; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new LetheError("lethe's package.json was not found above " + fileURLToPath(import.meta.url), "reinstall lethe");
    }
    dir = parent;
  }
}

export function run(_args: ParsedArgs<typeof spec>, _ctx: CommandContext): VersionResult {
  const pkg = readPackageJson();
  return { name: pkg.name, version: pkg.version, node: process.versions.node, platform: `${process.platform}-${process.arch}` };
}

export function render(result: VersionResult, out: Output): void {
  out.print(`${result.name} ${result.version} (node ${result.node}, ${result.platform})`);
}
