/**
 * `whp-logits`: WHP's logit combination at inference time only, as MUSE evaluated it. Trains the
 * reinforced model and writes `whp-logits.json` (base, reinforced, α); no unlearned model. Evaluate
 * it with WhpLogitsModel (whp/logits-model.ts).
 */
import type { Stage } from "../../run/stages.js";
import { modelInputs, reinforcedModel } from "../stages/common.js";
import { reinforceStage } from "../stages/reinforce.js";
import { writeWhpLogitsDescriptor } from "../whp/logits-model.js";
import type { UnlearnMethod } from "../method.js";
import { reinforceWorkload } from "./whp.js";

/** The run-directory name of the descriptor. */
export const WHP_LOGITS_FILE = "whp-logits.json";

export const whpLogits: UnlearnMethod = {
  name: "whp-logits",
  summary: "WHP at inference time: base and reinforced logits combined when scoring (writes no model)",
  writesModel: false,
  needsRetain: false,
  stages: (ctx) => {
    const combine: Stage = {
      name: "combine",
      config: { alpha: ctx.config.labels.alpha },
      inputs: { model: ctx.basePath, ...modelInputs("reinforced", reinforcedModel(ctx)) },
      outputs: [WHP_LOGITS_FILE],
      async run(stage) {
        const reinforced = reinforcedModel(ctx);
        writeWhpLogitsDescriptor(stage.tmpPath(WHP_LOGITS_FILE), {
          base: ctx.basePath,
          reinforced: reinforced.path,
          ...(reinforced.lora ? { reinforcedLora: reinforced.lora } : {}),
          alpha: ctx.config.labels.alpha,
        });
        return { alpha: ctx.config.labels.alpha };
      },
    };
    return [...reinforceStage(ctx), combine];
  },
  workload: (w) => reinforceWorkload(w),
};
