/**
 * Finds Chart.js's UMD build, which the report inlines so that it renders with no network. The
 * package's `exports` hide `dist/chart.umd.js`, so it is found next to the file that `chart.js`
 * resolves to, and failing that in a `node_modules/chart.js` above this file.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LetheError } from "../errors.js";

const UMD = "chart.umd.js";

/** Candidate paths of the UMD build, most likely first. */
function candidates(): string[] {
  const out: string[] = [];
  try {
    out.push(join(dirname(createRequire(import.meta.url).resolve("chart.js")), UMD));
  } catch {
    // Not resolvable from here (an unusual install layout); the walk below may still find it.
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    out.push(join(dir, "node_modules", "chart.js", "dist", UMD));
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

let cached: string | undefined;

/** The source of Chart.js's UMD build (read once per process). */
export function chartJsSource(): string {
  if (cached !== undefined) return cached;
  const found = candidates().find((p) => existsSync(p));
  if (!found) {
    throw new LetheError(
      "Chart.js's browser build (chart.js/dist/chart.umd.js) was not found; the report needs it to draw its charts",
      "reinstall lethe's dependencies with `npm ci`",
    );
  }
  const source = readFileSync(found, "utf8");
  // Inlined in a <script> element, these sequences would end it early or change how it parses.
  if (/<\/script|<!--|<script/i.test(source)) {
    throw new LetheError(`${found} contains a sequence that cannot be inlined in a <script> element`, "install the chart.js version lethe pins");
  }
  cached = source;
  return source;
}
