/** What `pretrain` reports while it works, for progress bars and logs. */
export type PretrainEvent =
  /** A stage of the run directory: skipped as up to date, started, or finished. */
  | { type: "stage"; stage: string; status: "skip" | "start" | "done"; reason?: string }
  /** Tokenizer training: `done` of `total` vocabulary tokens learned. */
  | { type: "tokenizer"; done: number; total: number }
  /** Tokenizing the corpus: `done` of `total` documents. */
  | { type: "tokenize"; done: number; total: number }
  /** Training begins (at `step` > 0 when resuming from a checkpoint). */
  | { type: "train-start"; step: number; steps: number; tokensPerStep: number; nParams: number }
  /** An optimizer step finished; `step` steps and `tokens` tokens are done. */
  | { type: "step"; step: number; steps: number; loss: number; lr: number; gradNorm: number; tokens: number }
  /** The held-out loss after `step` steps. */
  | { type: "eval"; step: number; loss: number }
  /** A resumable checkpoint was written. */
  | { type: "checkpoint"; step: number; dir: string };
