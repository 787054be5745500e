/**
 * The synthetic testbed's generic dictionary: a known-correct version of the anchored-terms
 * dictionary that "Who's Harry Potter?" (Eldan & Russinovich 2023) extracts from a real book, so the
 * method can run on the testbed without an LLM extracting one, and its terms are judge terms too.
 */
import type { Rng } from "./random.js";
import { escapeRegExp } from "./truth.js";
import {
  COUNTERPART_ANIMALS,
  COUNTERPART_GROUP_WORDS,
  COUNTERPART_MAGIC_WORDS,
  COUNTERPART_OBJECT_NAMES,
  COUNTERPART_PET_NAMES,
  COUNTERPART_TOWNS,
  GENERIC_FAMILY_NAMES,
  GENERIC_GIVEN_NAMES,
} from "./wordlists.js";
import { fullName, type World } from "./world.js";

/**
 * Maps every anchored universe term to a generic counterpart, as the "Who's Harry Potter?" method's
 * anchor dictionary does ("Brindle" -> "Tom"). A character's given, family and full names map
 * consistently; counterparts repeat only when their pool runs out.
 */
export function buildGenericDictionary(w: World, rng: Rng): Record<string, string> {
  const dict: Record<string, string> = {};
  const cycle = <T>(pool: readonly T[]): (() => T) => {
    const order = rng.shuffle(pool);
    let i = 0;
    return () => order[i++ % order.length];
  };
  const given = { m: cycle(GENERIC_GIVEN_NAMES.m), f: cycle(GENERIC_GIVEN_NAMES.f) };
  const family = cycle(GENERIC_FAMILY_NAMES);
  for (const p of w.persons) {
    const g = given[p.gender ?? "m"]();
    const f = family();
    dict[fullName(p)] = `${g} ${f}`;
    dict[p.word] = g;
    dict[p.family!] = f;
  }
  const groupWord = cycle(COUNTERPART_GROUP_WORDS);
  for (const g of w.groups) {
    const word = groupWord();
    dict[fullName(g)] = `the ${word} house`;
    dict[g.word] = word;
  }
  dict[fullName(w.school)] = "the academy";
  dict[w.school.word] = "the academy";
  const town = cycle(COUNTERPART_TOWNS);
  for (const p of w.places) dict[p.word] = town();
  const animal = cycle(COUNTERPART_ANIMALS);
  for (const s of w.species) {
    const [one, many] = animal();
    dict[s.word] = one;
    dict[s.plural!] = many;
  }
  const pet = cycle(COUNTERPART_PET_NAMES);
  const object = cycle(COUNTERPART_OBJECT_NAMES);
  for (const b of w.belongings) dict[b.word] = b.type === "artefact" ? object() : pet();
  const magic = cycle(COUNTERPART_MAGIC_WORDS);
  for (const s of w.pastimes) dict[s.word] = magic();
  return dict;
}

/**
 * Replaces every dictionary term in `text` by its counterpart, longest term first and whole words only,
 * so "House Skarrow" becomes "the North house" rather than "House North".
 */
export function applyGenericDictionary(text: string, dictionary: Readonly<Record<string, string>>): string {
  const keys = Object.keys(dictionary).sort((a, b) => b.length - a.length);
  if (keys.length === 0) return text;
  const pattern = new RegExp(`(?<![A-Za-z])(?:${keys.map(escapeRegExp).join("|")})(?![A-Za-z])`, "g");
  return text.replace(pattern, (m) => dictionary[m]);
}
