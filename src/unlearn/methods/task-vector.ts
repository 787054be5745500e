/** `task-vector`: θ_base − β·(θ_reinforced − θ_base) (the arithmetic: maths/task-vector.ts). */
import type { Stage } from "../../run/stages.js";
import { checkSameVocabulary, modelInputs, reinforcedModel, unlearnedOutput } from "../stages/common.js";
import { reinforceStage } from "../stages/reinforce.js";
import { applyTaskVector, negateAdapter } from "../maths/task-vector.js";
import type { UnlearnMethod } from "../method.js";
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
      inputs: { model: ctx.basePath, ...modelInputs("reinforced", reinforcedModel(ctx)) },
      outputs: [unlearnedOutput(ctx)],
      async run(stage) {
        const reinforced = reinforcedModel(ctx);
        const out = stage.tmpPath(unlearnedOutput(ctx));
        // Under LoRA the task vector is the reinforce adapter itself: its negation is the same pairs at −β times the scale.
        if (reinforced.lora) return negateAdapter(reinforced.lora, ctx.config.taskVector.beta, out);
        checkSameVocabulary(ctx.basePath, reinforced.path, "reinforced");
        return applyTaskVector(ctx.basePath, reinforced.path, ctx.config.taskVector.beta, out);
      },
    };
    return [...reinforceStage(ctx), negate];
  },
  workload: (w) => reinforceWorkload(w),
};
