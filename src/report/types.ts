/**
 * The report's data model: what the loaders gather from eval JSON, loss histories and run
 * directories, and what the section builders and the HTML renderer read.
 */
import type { SuiteResult } from "../eval/result.js";

/** The part a model plays in an unlearning comparison. */
export type ReportRole = "base" | "unlearned" | "gold" | "other";

/** What an eval file may say about a model besides its suite results. */
export interface ModelMeta {
  /** Matches the `model` field of the model's suite results. */
  name: string;
  role?: ReportRole;
  /** Display name; defaults to `name`. */
  label?: string;
  /** The unlearning method, e.g. `whp`; models of one method with different `alpha` form a curve. */
  method?: string;
  /** WHP's α (strength of the logit offset), or the method's main knob. */
  alpha?: number;
}

/** One model with every suite result found for it. */
export interface ReportModel {
  name: string;
  label: string;
  role: ReportRole;
  method?: string;
  alpha?: number;
  /** Suite name -> result; a later input replaces an earlier result of the same suite and model. */
  suites: Record<string, SuiteResult>;
}

/** A training loss curve (one stage of one run). */
export interface LossCurve {
  /** What trained, e.g. `unlearn` or `pretrain (gold.gguf.run)`. */
  name: string;
  /** Optimizer step of each entry of `losses`. */
  steps: number[];
  losses: number[];
  /** Held-out losses, when the run measured them. */
  evals: { step: number; loss: number }[];
}

/** Everything a report shows. */
export interface ReportData {
  title: string;
  /** What was unlearned, in words ("the Oz books"); shown in the header when known. */
  subject?: string;
  /** Ordered for display: base, unlearned models, other models, gold. */
  models: ReportModel[];
  losses: LossCurve[];
  /** The files the report was made from. */
  sources: string[];
  /** Inputs or parts of inputs that were skipped, and why. */
  notes: string[];
}
