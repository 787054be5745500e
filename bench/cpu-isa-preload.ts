/**
 * Preloaded by bench/cpu-isa.ts into bench/engine.ts children: loads the ggml CPU library the
 * benchmark names (LETHE_BENCH_BINS, LETHE_BENCH_CPU_LIB) before lethe's own loader runs, whose
 * later call is then a no-op (the addon loads backends once per process).
 */
import { createRequire } from "node:module";
import { join } from "node:path";

import { packageRoot } from "../src/util/package-root.js";

const addon = createRequire(import.meta.url)(join(packageRoot(), "build", "lethe.node")) as { loadBackends(bins: string, lib: string): void };
addon.loadBackends(process.env.LETHE_BENCH_BINS!, process.env.LETHE_BENCH_CPU_LIB ?? "");
