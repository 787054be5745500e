/** `lethe version`: which lethe and node are running; also answers `lethe --version`. */
import { readPackageJson } from "../../util/package-root.js";
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

export function run(_args: ParsedArgs<typeof spec>, _ctx: CommandContext): VersionResult {
  const pkg = readPackageJson();
  return { name: pkg.name, version: pkg.version, node: process.versions.node, platform: `${process.platform}-${process.arch}` };
}

export function render(result: VersionResult, out: Output): void {
  out.print(`${result.name} ${result.version} (node ${result.node}, ${result.platform})`);
}
