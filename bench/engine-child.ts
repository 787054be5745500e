/** The child processes of bench/engine.ts and bench/cpu-isa.ts, each of which prints its result as JSON. */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The JSON value on the last line of a child's stdout. */
export function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

/** `bench/engine.ts ARGS` in a node process of its own (after `preload`, when given). */
export function engineChild<T>(args: string[], env: NodeJS.ProcessEnv, preload?: string): T {
  const imports = ["--import", "tsx", ...(preload ? ["--import", preload] : [])];
  const r = spawnSync(process.execPath, [...imports, join(here, "engine.ts"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env });
  if (r.status !== 0) throw new Error(`bench child ${args.join(" ")} failed`);
  return lastJsonLine<T>(r.stdout);
}
