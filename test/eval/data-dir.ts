import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The shared benchmark directory (`../shared/data/eval` from the project root). */
export const SHARED_EVAL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/data/eval");

/** Why tests on the shared data are skipped, or false when the data is there. */
export const SHARED_DATA_SKIP: string | false = existsSync(SHARED_EVAL_DIR)
  ? false
  : `shared benchmark data not found at ${SHARED_EVAL_DIR} (a fresh clone has none); skipping`;
