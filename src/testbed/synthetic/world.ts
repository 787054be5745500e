/**
 * The model of a testbed world: things, the relations between them, and the facts that state them.
 * The invented universe and the everyday generic world are both this one model, which lets one set of
 * builders, templates and writers serve both corpora.
 */
import type { EntityType } from "./types.js";

/**
 * Something a fact can be about or point at: a named entity, or a plain value such as an eye colour.
 * Its written form is `pre + word + post`; `word` is the part a fact prompt stops just before, so it is
 * the answer a model must produce ("House " + "Skarrow", "" + "Brindle" + " Quorrow", "the " + "Red" + " team").
 */
export interface Thing {
  id: string;
  type: EntityType | "value";
  pre: string;
  word: string;
  post: string;
  /** Characters only: decides the pronouns of the prose. */
  gender?: "f" | "m";
  /** Creature species only. */
  plural?: string;
  /** Artefacts: the kind of object ("staff", "boat"); pets: their species. */
  kind?: string;
  species?: Thing;
  owner?: Thing;
  /** Kept out of the training corpora; only the held-out documents are about it. */
  heldOut?: boolean;
  /** Family name of a character, which is also one of its surface forms. */
  family?: string;
}

export type PersonRelation =
  | "house"
  | "home"
  | "pet"
  | "mentor"
  | "friend"
  | "rival"
  | "artefact"
  | "favourite"
  | "eye_colour"
  | "favourite_food"
  | "event:rescued"
  | "event:defeated"
  | "event:found";

export type ThingRelation =
  | "species"
  | "origin"
  | "head"
  | "emblem"
  | "mayor"
  | "habitat"
  | "inventor"
  | "effect"
  | "headmaster"
  | "location";

export type Relation = PersonRelation | ThingRelation;

/** One fact of a world: `subject relation object`, with the extra detail some events carry. */
export interface WorldFact {
  subject: Thing;
  relation: Relation;
  object: Thing;
  /** Where an event took place. */
  place?: Thing;
  /** The noun phrase of an event ("a silver key"). */
  detail?: string;
}

/** The words that make a world's prose its own while the templates stay shared. */
export interface WorldNouns {
  /** What a group is called: "house" or "team". */
  group: string;
  /** Who leads a group: "head" or "captain". */
  head: string;
  /** The favourite pastime: "spell" or "game". */
  favourite: string;
  /** The kind of contest in "defeated X in a ...". */
  contest: string;
}

/** A populated world (the invented universe, or the generic everyday one) and all its facts. */
export interface World {
  kind: "universe" | "generic";
  nouns: WorldNouns;
  school: Thing;
  groups: Thing[];
  places: Thing[];
  species: Thing[];
  /** Spells of the universe; games of the generic world (which carry no facts of their own). */
  pastimes: Thing[];
  persons: Thing[];
  heldOutPersons: Thing[];
  /** Pets and artefacts of trained persons. */
  belongings: Thing[];
  heldOutBelongings: Thing[];
  /** Facts the training corpus states. */
  facts: WorldFact[];
  /** Facts about held-out persons and their belongings, stated only in held-out documents. */
  heldOutFacts: WorldFact[];
}

/** The full written form of a thing. */
export function fullName(t: Thing): string {
  return t.pre + t.word + t.post;
}

/** A plain value (a colour, a food) wrapped as a Thing so templates treat all objects alike. */
export function valueThing(word: string): Thing {
  return { id: `value:${word}`, type: "value", pre: "", word, post: "" };
}

/** Lower-case, hyphenated form for entity ids. */
export function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}
