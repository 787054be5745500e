/** `task-vector`: θ_base − β·(θ_reinforced − θ_base) (see task-vector.ts). */
import type { Stage } from "../../run/stages.js";
import { checkSameVocabulary, reinforcedPath } from "../stages/common.js";
import { reinforceStage } from "../stages/reinforce.js";
import { applyTaskVector } from "../task-vector.js";
import { UNLEARNED_MODEL, type UnlearnMethod } from "../method.js";
import { reinforceWorkload } from "./whp.js";

export const taskVector: UnlearnMethod = {
  name: "task-vector",
  summary: "task-vector negation: subtract β times (reinforced − base) from the base weights",
  writesModel: true,
  needsRetain: false,
  stages: (ctx) => {
    const negate: Stage = {
      name: "negate",
      config: { beta: ctx.config.taskVector.beta },
      inputs: { model: ctx.basePath, reinforced: reinforcedPath(ctx) },
      outputs: [UNLEARNED_MODEL],
      async run(stage) {
        checkSameVocabulary(ctx.basePath, reinforcedPath(ctx), "reinforced");
        return applyTaskVector(ctx.basePath, reinforcedPath(ctx), ctx.config.taskVector.beta, stage.tmpPath(UNLEARNED_MODEL));
      },
    };
    return [...reinforceStage(ctx), negate];
  },
  workload: (w) => reinforceWorkload(w),
};
