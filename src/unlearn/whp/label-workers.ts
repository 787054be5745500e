/**
 * Builds the labels of a group of blocks on every core. The labels stage alternates inference (ggml,
 * all cores) and label building (a softmax and tail samples over the vocabulary at every position, in
 * JS: a third of the stage on the Oz testbed), which left all but one core idle. buildLabels is a pure
 * function of its inputs, so where a block is built changes nothing in the labels.
 */
import { Worker } from "node:worker_threads";

import { buildLabels, type LabelInputs } from "./labels.js";

type Built = ReturnType<typeof buildLabels>;
type Reply = { id: number; result?: Built; inputs?: LabelInputs };

function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./label-worker.js", here));
  // A dev checkout runs the sources through tsx, which a worker does not inherit: register it first.
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./label-worker.ts", here).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}

export class LabelWorkers {
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Set once a worker died: later calls fail with it instead of waiting on a dead thread. */
  private broken: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on("message", (reply: Reply) => {
        this.waiting.get(reply.id)?.resolve(reply);
        this.waiting.delete(reply.id);
      });
      w.on("error", (e) => {
        this.broken = e;
        for (const { reject } of this.waiting.values()) reject(e);
        this.waiting.clear();
      });
    }
  }

  /** `threads` cores in all: the calling thread and threads − 1 workers. */
  static start(threads: number): LabelWorkers {
    return new LabelWorkers(Array.from({ length: Math.max(0, threads - 1) }, startWorker));
  }

  /**
   * buildLabels of every input, in order; the calling thread takes its share meanwhile. The logits of
   * the inputs handed to workers are transferred, not copied: their arrays are unusable afterwards.
   */
  async build(inputs: readonly LabelInputs[]): Promise<Built[]> {
    const share = this.workers.length + 1;
    // Every worker's share is posted before the calling thread builds its own.
    const remote = inputs.map((input, i) => (i % share === 0 ? undefined : this.post(this.workers[(i % share) - 1]!, input)));
    return Promise.all(
      inputs.map(async (input, i) => {
        if (!remote[i]) return buildLabels(input);
        const reply = await remote[i];
        return reply.result ?? buildLabels(reply.inputs!);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private post(worker: Worker, inputs: LabelInputs): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, inputs }, [inputs.baseLogits.buffer as ArrayBuffer, inputs.reinforcedLogits.buffer as ArrayBuffer]);
    });
  }
}
