/**
 * Where a testbed's models are cached by default: `.lethe-cache/testbeds/<name>-<size>`, one folder
 * per testbed and size, so `lethe testbed` and `lethe demo` find each other's models. Kept apart from
 * testbeds.ts so the commands can name it without loading the testbed builders.
 */
import { join } from "node:path";

/** The default cache folder, relative to the working directory; characters unsafe in a path become `_`. */
export function defaultTestbedDir(name: string, size: string): string {
  return join(".lethe-cache", "testbeds", `${name}-${size}`.replace(/[^\w.-]/g, "_"));
}
