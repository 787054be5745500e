/**
 * Which ggml CPU backend the addon loads: the one `npm install` compiled from source for this
 * machine (scripts/cpu-backend.mjs), or the prebuilt variants when there is none, when it was built
 * for a CPU with other features (a build folder copied between machines), or when
 * LETHE_CPU_BACKEND=prebuilt asks for them.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type CpuBackendChoice =
  | { kind: "source"; library: string; options: string[] }
  | { kind: "prebuilt"; reason: string };

interface Descriptor {
  library: string;
  options: string[];
  checked: string[];
  flags: string[];
}

// As scripts/cpu-backend.mjs reads them at build time (that script runs before TypeScript is compiled).
function flagsOf(cpuinfo: string): Set<string> {
  const line = cpuinfo.split("\n").find((l) => l.startsWith("flags"));
  return new Set(line ? line.slice(line.indexOf(":") + 1).trim().split(/\s+/) : []);
}

/** Decides from `<cpuDir>/cpu-backend.json`, the machine's /proc/cpuinfo text and the environment. */
export function chooseCpuBackend(cpuDir: string, cpuinfo: string, env: NodeJS.ProcessEnv = process.env): CpuBackendChoice {
  if (env.LETHE_CPU_BACKEND === "prebuilt") return { kind: "prebuilt", reason: "LETHE_CPU_BACKEND=prebuilt" };
  const file = join(cpuDir, "cpu-backend.json");
  if (!existsSync(file)) return { kind: "prebuilt", reason: "no CPU backend was compiled from source (npm run build:native builds one)" };
  let d: Descriptor;
  try {
    d = JSON.parse(readFileSync(file, "utf8")) as Descriptor;
    if (typeof d.library !== "string" || ![d.options, d.checked, d.flags].every(Array.isArray)) throw new Error("not a descriptor");
  } catch {
    return { kind: "prebuilt", reason: `${file} is unreadable (npm run build:native rebuilds it)` };
  }
  const library = join(cpuDir, d.library);
  if (!existsSync(library)) return { kind: "prebuilt", reason: `${library} is missing (npm run build:native rebuilds it)` };
  const flags = flagsOf(cpuinfo);
  const present = d.checked.filter((f) => flags.has(f));
  if (present.join(" ") !== d.flags.join(" ")) {
    return { kind: "prebuilt", reason: "the source-built CPU backend was compiled on a CPU with other features (npm run build:native rebuilds it for this one)" };
  }
  return { kind: "source", library, options: d.options };
}
