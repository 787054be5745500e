/** `whp`: "Who's Harry Potter" (Eldan & Russinovich 2023): reinforce → anchors → labels → finetune. */
import { anchorsStage } from "../stages/anchors.js";
import { finetuneStage } from "../stages/finetune.js";
import { labelsStage, runLabelsShard } from "../stages/labels.js";
import { reinforceStage, reinforceSteps } from "../stages/reinforce.js";
import { retainTargetsStage } from "../stages/retain-targets.js";
import type { StageWorkload, UnlearnMethod, WorkloadContext } from "../method.js";

/** Work of the reinforce stage (shared by the methods that train a reinforced model). */
export function reinforceWorkload(w: WorkloadContext): StageWorkload[] {
  if (w.reinforcedGiven) return [];
  const blocks = Math.max(1, Math.ceil(w.forgetTokens / w.blockTokens));
  const steps = reinforceSteps(blocks, w.config.reinforce.epochs, w.config.reinforce.batchSize);
  return [{ stage: "reinforce", trainTokens: steps * w.config.reinforce.batchSize * w.blockTokens, inferTokens: 0, inferenceModels: 0, trains: true }];
}

export const whp: UnlearnMethod = {
  name: "whp",
  summary: "Who's Harry Potter: fine-tune on generic labels from base and reinforced models (the default)",
  writesModel: true,
  needsRetain: false,
  stages: (ctx) => [...reinforceStage(ctx), anchorsStage(ctx), labelsStage(ctx), ...retainTargetsStage(ctx), finetuneStage(ctx)],
  labelsShard: runLabelsShard,
  workload: (w) => {
    // With retain mixing every step also trains a retain batch of the same size.
    const sequencesPerStep = w.config.finetune.batchSize * (w.config.finetune.retainWeight > 0 && w.retainTokens > 0 ? 2 : 1);
    return [
      ...reinforceWorkload(w),
      { stage: "anchors", trainTokens: 0, inferTokens: 2 * Math.min(w.forgetTokens, 64 * w.blockTokens), inferenceModels: 1, trains: false },
      { stage: "labels", trainTokens: 0, inferTokens: 2 * w.forgetTokens, inferenceModels: 2, trains: false },
      ...(w.config.finetune.retainLoss === "kl" && w.config.finetune.retainWeight > 0 && w.retainTokens > 0
        ? [{ stage: "retain-targets", trainTokens: 0, inferTokens: Math.min(w.retainTokens, w.config.finetune.steps * w.config.finetune.batchSize * w.blockTokens), inferenceModels: 1, trains: false }]
        : []),
      { stage: "finetune", trainTokens: w.config.finetune.steps * sequencesPerStep * w.blockTokens, inferTokens: 0, inferenceModels: 0, trains: true },
    ];
  },
};
