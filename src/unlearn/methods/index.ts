/** The registry of unlearning methods behind `--method`. */
import type { MethodName } from "../config.js";
import type { UnlearnMethod } from "../method.js";
import { gradientAscent } from "./gradient-ascent.js";
import { gradientDifference } from "./gradient-difference.js";
import { npo } from "./npo.js";
import { taskVector } from "./task-vector.js";
import { whp } from "./whp.js";
import { whpLogits, WHP_LOGITS_FILE } from "./whp-logits.js";

export const METHODS: Readonly<Record<MethodName, UnlearnMethod>> = {
  whp,
  "whp-logits": whpLogits,
  "task-vector": taskVector,
  "gradient-ascent": gradientAscent,
  "gradient-difference": gradientDifference,
  npo,
};

export { WHP_LOGITS_FILE };
