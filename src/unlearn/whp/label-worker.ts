/** Worker thread of {@link LabelWorkers}: builds one block's labels per message. */
import { parentPort } from "node:worker_threads";

import { buildLabels, type LabelInputs } from "./labels.js";

parentPort!.on("message", ({ id, inputs }: { id: number; inputs: LabelInputs }) => {
  try {
    parentPort!.postMessage({ id, result: buildLabels(inputs) });
  } catch {
    // The inputs go back so that the caller rebuilds the block itself, which throws the same typed
    // error in its own thread.
    parentPort!.postMessage({ id, inputs }, [inputs.baseLogits.buffer as ArrayBuffer, inputs.reinforcedLogits.buffer as ArrayBuffer]);
  }
});
