/**
 * The stages that shape the published model, after the method's own:
 * - `merge` (LoRA runs with `lora.merge`): the base model with the unlearning adapter folded in,
 *   W + (alpha / r)·B·A, each tensor in the base's own type. Tensors the adapter leaves alone are
 *   copied byte for byte; changed quantized ones are quantized again in their type.
 * - `convert` (`--out-type`): the model in another file type, through llama.cpp's quantizer.
 */
import type { FileType } from "../../engine/file-types.js";
import { quantizeModel } from "../../engine/quantize.js";
import { mergeLoraAdapter } from "../../engine/trainer.js";
import type { Stage } from "../../run/stages.js";
import { UNLEARNED_ADAPTER, UNLEARNED_MODEL, type MethodContext } from "../method.js";

export function mergeStage(ctx: MethodContext): Stage {
  const adapterPath = ctx.runDir.path(UNLEARNED_ADAPTER);
  return {
    name: "merge",
    config: {},
    inputs: { model: ctx.basePath, adapter: adapterPath },
    outputs: [UNLEARNED_MODEL],
    async run(stage) {
      const adapter = await mergeLoraAdapter(ctx.basePath, adapterPath, stage.tmpPath(UNLEARNED_MODEL), { dtype: "source", threads: ctx.threads });
      return { rank: adapter.rank, alpha: adapter.alpha, tensors: adapter.tensors.length };
    },
  };
}

/** The run-directory name of the model converted to `--out-type`. */
export const CONVERTED_MODEL = "unlearned.converted.gguf";

/** Stage `convert`: the unlearned model as `type`, e.g. Q4_K_M from an F16 base. */
export function convertStage(ctx: MethodContext, type: FileType): Stage {
  const source = ctx.runDir.path(UNLEARNED_MODEL);
  return {
    name: "convert",
    config: { type },
    inputs: { model: source },
    outputs: [CONVERTED_MODEL],
    async run(stage) {
      await quantizeModel(source, stage.tmpPath(CONVERTED_MODEL), type, { threads: ctx.threads });
      return { type };
    },
  };
}
