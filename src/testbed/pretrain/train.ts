/**
 * The pretraining loop: next-token AdamW steps over packed blocks with warmup + cosine decay,
 * held-out evals and checkpoints, resuming from the newest checkpoint of the same run.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { cosineSchedule } from "../../engine/schedule.js";
import { Trainer, nextTokenBatch, type WeightedBatch } from "../../engine/trainer.js";
import { CancelledError } from "../../errors.js";
import { createLlamaGguf } from "../../gguf/llama.js";
import type { GgufMetadata } from "../../gguf/types.js";
import type { RunDir } from "../../run/run-dir.js";
import { trainLoop } from "../../training/loop.js";
import { OPTIMIZER_FILE, readOptimizerState } from "../../training/optimizer-state.js";
import { checkpointState, latestCheckpoint, saveCheckpoint, type TrainHistory } from "./checkpoint.js";
import { BlockSchedule, blockTokens, type BlockSplit } from "./data.js";
import { llamaConfigOf, type PretrainPreset } from "./presets.js";
import type { PretrainEvent } from "./events.js";

/** Everything one training session needs. */
export interface TrainPlan {
  preset: PretrainPreset;
  seed: number;
  threads: number;
  /** The packed token stream and its split into blocks. */
  stream: Uint32Array;
  split: BlockSplit;
  /** The tokenizer's `tokenizer.*` GGUF keys and size, for the initial model. */
  tokenizer: GgufMetadata;
  nVocab: number;
  /** Identifies the trajectory (config + data): only checkpoints with this key are resumed. */
  key: string;
}

/** What a finished session returns. */
export interface TrainOutcome {
  history: TrainHistory;
  /** The step the session started from (0 for a fresh start). */
  resumedFrom: number;
}

/** Micro-batches of next-token targets for `blocks`. */
function batchesOf(plan: TrainPlan, blocks: ArrayLike<number>): WeightedBatch[] {
  const { microBatch, context } = plan.preset;
  const batches: WeightedBatch[] = [];
  for (let i = 0; i < blocks.length; i += microBatch) {
    const seqs: Uint32Array[] = [];
    for (let j = i; j < Math.min(i + microBatch, blocks.length); j++) seqs.push(blockTokens(plan.stream, blocks[j]!, context));
    batches.push(nextTokenBatch(seqs, context));
  }
  return batches;
}

async function startingTrainer(runDir: RunDir, plan: TrainPlan): Promise<{ trainer: Trainer; step: number; history: TrainHistory }> {
  const checkpoint = latestCheckpoint(runDir, plan.key);
  if (checkpoint) {
    const trainer = await Trainer.load(join(checkpoint.dir, "model.gguf"), { threads: plan.threads });
    try {
      trainer.setOptimizerState(readOptimizerState(join(checkpoint.dir, OPTIMIZER_FILE)));
    } catch (error) {
      await trainer.dispose();
      throw error;
    }
    return { trainer, step: checkpoint.state.step, history: checkpoint.state.history };
  }
  const init = runDir.tmpPath("init.gguf");
  createLlamaGguf(init, { config: llamaConfigOf(plan.preset, plan.nVocab), tokenizer: plan.tokenizer, seed: plan.seed });
  try {
    const trainer = await Trainer.load(init, { threads: plan.threads });
    return { trainer, step: 0, history: { loss: [], gradNorm: [], lr: [], evals: [], trainS: 0 } };
  } finally {
    rmSync(init, { force: true });
  }
}

/**
 * Trains from the newest checkpoint of `plan.key` (or from a fresh random init) to
 * `plan.preset.steps` and saves the model to `modelPath`. When `signal` aborts, it saves a
 * checkpoint after the step in progress and throws CancelledError (or the signal's Error reason).
 */
export async function trainModel(
  runDir: RunDir,
  plan: TrainPlan,
  modelPath: string,
  signal: AbortSignal,
  onEvent: (event: PretrainEvent) => void,
): Promise<TrainOutcome> {
  const p = plan.preset;
  const { trainer, step: resumedFrom, history } = await startingTrainer(runDir, plan);
  try {
    const lrAt = cosineSchedule({ lr: p.lr, minLr: p.minLr, warmupSteps: p.warmupSteps, totalSteps: p.steps });
    const schedule = new BlockSchedule(plan.split.train, plan.seed);
    const evalBatches = batchesOf(plan, plan.split.eval);
    const tokensPerStep = p.batchSize * p.context;
    onEvent({ type: "train-start", step: resumedFrom, steps: p.steps, tokensPerStep, nParams: trainer.info.nParams });

    const sessionStart = performance.now();
    const trainS = () => history.trainS + (performance.now() - sessionStart) / 1000;
    let saved = resumedFrom;
    const checkpoint = async (step: number) => {
      const dir = await saveCheckpoint(runDir, trainer, checkpointState(plan.key, step, { ...history, trainS: trainS() }));
      saved = step;
      onEvent({ type: "checkpoint", step, dir });
    };

    await trainLoop({
      trainer,
      from: resumedFrom,
      steps: p.steps,
      what: "pretraining",
      signal,
      async onAbort(step) {
        if (saved !== step) await checkpoint(step);
        throw signal.reason instanceof Error ? signal.reason : new CancelledError(`pretraining at step ${step}`);
      },
      data: (step) => ({ batches: batchesOf(plan, schedule.blocksForStep(step, p.batchSize)) }),
      optimizer: (step) => ({ lr: lrAt(step), beta1: p.beta1, beta2: p.beta2, weightDecay: p.weightDecay, clip: p.clip }),
      afterStep: async (done, result) => {
        const lr = lrAt(done - 1);
        history.loss.push(result.loss);
        history.gradNorm.push(result.gradNorm);
        history.lr.push(lr);
        onEvent({ type: "step", step: done, steps: p.steps, loss: result.loss, lr, gradNorm: result.gradNorm, tokens: done * tokensPerStep });
        if (done % p.evalEvery === 0 || done === p.steps) {
          const loss = await trainer.loss(evalBatches);
          history.evals.push({ step: done, loss });
          onEvent({ type: "eval", step: done, loss });
        }
        if (done % p.checkpointEvery === 0 && done < p.steps) await checkpoint(done);
      },
    });
    history.trainS = trainS();
    await trainer.save(modelPath);
    return { history, resumedFrom };
  } finally {
    await trainer.dispose();
  }
}
