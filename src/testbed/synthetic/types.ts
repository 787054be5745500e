/**
 * The public shapes of the synthetic testbed: its options, its text and its ground truth
 * (truth.json). The prompt types are the evaluation suites' own, so the ground truth feeds them
 * without conversion.
 */
import type { CompletionPrompt, ProbabilityPrompt, QaPair as EvalQaPair } from "../../eval/prompts.js";

/** Knobs of the synthetic testbed; everything but the seed has a default sized for a 2-core training run. */
export interface SyntheticOptions {
  /** Any safe integer; the whole testbed is a pure function of the options. */
  seed: number;
  /** Characters of the universe the base model trains on (default 32, 4..40). */
  nCharacters?: number;
  /** Extra characters that only the held-out documents are about (default 4, 1..8). */
  nHeldOutCharacters?: number;
  /** Houses of the school (default 4, 2..6). */
  nHouses?: number;
  /** Towns and regions (default 8, 3..16). */
  nPlaces?: number;
  /** Creature species (default 6, 2..8). */
  nSpecies?: number;
  /** Spells (default 12, 2..16). */
  nSpells?: number;
  /** How many times each character's chapter, fact sheet and Q&A are written, each time afresh (default 4, 1..12). */
  repetitions?: number;
  /** Familiarity prompts to produce (default 100, 1..1000). */
  nFamiliarityPrompts?: number;
}

export type EntityType = "character" | "house" | "creature" | "place" | "artefact" | "spell" | "school";

/** An invented entity of the universe. */
export interface Entity {
  id: string;
  type: EntityType;
  name: string;
  /** Every way it is written, e.g. "Brindle Quorrow", "Brindle", "Quorrow". */
  surfaceForms: string[];
}

/** A fact a base model should complete and a gold model should not. */
export interface Fact {
  entityId: string;
  relation: string;
  /** Text cut right before the answer, e.g. "Brindle Quorrow's pet vesk is called". */
  prompt: string;
  /** The word a greedy completion should start with, e.g. "Pimmel". */
  answer: string;
}

/**
 * A sentence mentioning an entity, cut before an idiosyncratic term; `references` are the terms a
 * familiar completion would contain (the most specific first). The eval suites' prompt shape.
 */
export type FamiliarityPrompt = CompletionPrompt;

/** A prompt whose next word would be idiosyncratic; here targets carry their leading space. */
export type { ProbabilityPrompt };

/** forget = about the universe; retain = about the generic world. */
export interface QaPair extends EvalQaPair {
  split: "forget" | "retain";
}

export interface GroundTruth {
  seed: number;
  /** Entities of the training universe. */
  entities: Entity[];
  /** Entities only the held-out universe documents are about. */
  heldOutEntities: Entity[];
  /** Universe facts stated in the universe corpus. */
  facts: Fact[];
  /** The generic world's own facts, stated in the generic corpus (for utility checks). */
  genericFacts: Fact[];
  familiarityPrompts: FamiliarityPrompt[];
  probabilityPrompts: ProbabilityPrompt[];
  qa: QaPair[];
  /**
   * Anchored universe term -> generic counterpart ("Brindle" -> "Tom", "Quorrow Academy" -> "the academy").
   * Keys overlap ("House Skarrow", "Skarrow"): replace the longest match first, as applyGenericDictionary does.
   */
  genericDictionary: Record<string, string>;
}

export interface SyntheticTestbedText {
  /** Training documents about the universe (the forget corpus). */
  universe: string[];
  /** Training documents about the everyday world, free of universe names. */
  generic: string[];
  /**
   * Documents never trained on. `universe` and `generic` are about characters the training text
   * never names (perplexity on unseen text of each kind); `retold` is the trained universe written
   * afresh, the same distribution as the training text, for MUSE PrivLeak's non-members.
   */
  heldOut: { universe: string[]; generic: string[]; retold: string[] };
  truth: GroundTruth;
}
