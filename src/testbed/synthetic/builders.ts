/**
 * Builds the two worlds of the synthetic testbed: the invented universe the base model learns and
 * then forgets, and the everyday world of the generic corpus. Both are drawn with the same relations;
 * the universe's names are invented and kept off every everyday word, so none leaks into the generic
 * corpus.
 */
import { NameForge, pluralOf } from "./names.js";
import type { Rng } from "./random.js";
import { FILLERS, RELATION_TEMPLATES, TITLES } from "./templates.js";
import type { ResolvedOptions } from "./options.js";
import type { EntityType } from "./types.js";
import {
  COMMON_ENGLISH_WORDS,
  COUNTERPART_ANIMALS,
  COUNTERPART_GROUP_WORDS,
  COUNTERPART_MAGIC_WORDS,
  COUNTERPART_OBJECT_NAMES,
  COUNTERPART_PET_NAMES,
  COUNTERPART_TOWNS,
  GENERIC_EYE_COLOURS,
  GENERIC_FAMILY_NAMES,
  GENERIC_FOODS,
  GENERIC_GAMES,
  GENERIC_GIVEN_NAMES,
  GENERIC_OBJECT_KINDS,
  GENERIC_OBJECT_NAMES,
  GENERIC_PET_NAMES,
  GENERIC_SCHOOLS,
  GENERIC_SPECIES,
  GENERIC_TEAM_COLOURS,
  GENERIC_TOWNS,
  GENERIC_TREASURES,
  OTHER_COMMON_NAMES,
  SPELL_EFFECTS,
  UNIVERSE_ARTEFACT_KINDS,
  UNIVERSE_EYE_COLOURS,
  UNIVERSE_FOODS,
  UNIVERSE_TREASURES,
} from "./wordlists.js";
import { slug, valueThing, type Thing, type World, type WorldFact, type WorldNouns } from "./world.js";

/** Everything a world needs before its relations are drawn. */
type WorldParts = Pick<World, "kind" | "nouns" | "school" | "groups" | "places" | "species" | "pastimes" | "persons" | "heldOutPersons"> & {
  eyeColours: readonly string[];
  foods: readonly string[];
  treasures: readonly string[];
  /** Spell effects; absent where pastimes carry no facts of their own. */
  effects?: readonly string[];
  newPet(owner: Thing, species: Thing): Thing;
  newArtefact(owner: Thing): Thing;
};

/**
 * Every lower-case word an invented name must avoid: common English, common names, and every word the
 * templates and the generic world write, so that no universe name can surface in the generic corpus.
 */
export function reservedWords(): Set<string> {
  const texts: string[] = [
    ...COMMON_ENGLISH_WORDS,
    ...GENERIC_GIVEN_NAMES.m,
    ...GENERIC_GIVEN_NAMES.f,
    ...GENERIC_FAMILY_NAMES,
    ...OTHER_COMMON_NAMES,
    ...GENERIC_TOWNS,
    ...GENERIC_SPECIES.flat(),
    ...GENERIC_PET_NAMES,
    ...GENERIC_OBJECT_KINDS,
    ...GENERIC_OBJECT_NAMES,
    ...GENERIC_GAMES,
    ...GENERIC_TEAM_COLOURS,
    ...GENERIC_SCHOOLS,
    ...GENERIC_EYE_COLOURS,
    ...GENERIC_FOODS,
    ...GENERIC_TREASURES,
    ...UNIVERSE_EYE_COLOURS,
    ...UNIVERSE_FOODS,
    ...UNIVERSE_ARTEFACT_KINDS,
    ...UNIVERSE_TREASURES,
    ...SPELL_EFFECTS,
    ...COUNTERPART_TOWNS,
    ...COUNTERPART_ANIMALS.flat(),
    ...COUNTERPART_PET_NAMES,
    ...COUNTERPART_OBJECT_NAMES,
    ...COUNTERPART_MAGIC_WORDS,
    ...COUNTERPART_GROUP_WORDS,
    ...FILLERS,
    ...TITLES,
    ...Object.values(RELATION_TEMPLATES).flatMap((t) => [t.canonical, t.question, ...t.narrative, ...t.dialogue]),
    "academy school house team head captain spell game duel race question answer questions answers notes",
  ];
  const out = new Set<string>();
  for (const text of texts) {
    for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) out.add(w);
  }
  return out;
}

function entity(type: EntityType, pre: string, word: string, post = "", extra: Partial<Thing> = {}): Thing {
  return { id: `${type}:${slug(pre + word + post)}`, type, pre, word, post, ...extra };
}

function person(given: string, family: string, gender: "f" | "m", heldOut: boolean): Thing {
  return entity("character", "", given, ` ${family}`, { gender, family, heldOut });
}

/** The invented universe: every name comes from the forge, so none is an everyday word. */
export function buildUniverseWorld(o: ResolvedOptions, rng: Rng, forge: NameForge): World {
  const school = entity("school", "", forge.make("family"), " Academy");
  const makePerson = (heldOut: boolean): Thing =>
    person(forge.make("given"), forge.make("family"), rng.chance(0.5) ? "f" : "m", heldOut);
  const species = Array.from({ length: o.nSpecies }, () => {
    const word = forge.make("species");
    return entity("creature", "", word, "", { plural: pluralOf(word) });
  });
  return populate(
    {
      kind: "universe",
      nouns: { group: "house", head: "head", favourite: "spell", contest: "duel" },
      school,
      groups: Array.from({ length: o.nHouses }, () => entity("house", "House ", forge.make("house"))),
      places: Array.from({ length: o.nPlaces }, () => entity("place", "", forge.make("place"))),
      species,
      pastimes: Array.from({ length: o.nSpells }, () => entity("spell", "", forge.make("spell"))),
      persons: Array.from({ length: o.nCharacters }, () => makePerson(false)),
      heldOutPersons: Array.from({ length: o.nHeldOutCharacters }, () => makePerson(true)),
      eyeColours: UNIVERSE_EYE_COLOURS,
      foods: UNIVERSE_FOODS,
      treasures: UNIVERSE_TREASURES,
      effects: SPELL_EFFECTS,
      newPet: (owner, kind) =>
        entity("creature", "", forge.make("pet"), "", { species: kind, kind: kind.word, owner, heldOut: owner.heldOut }),
      newArtefact: (owner) =>
        entity("artefact", "", forge.make("artefact"), "", {
          kind: rng.pick(UNIVERSE_ARTEFACT_KINDS),
          owner,
          heldOut: owner.heldOut,
        }),
    },
    rng,
  );
}

/** The everyday world of the generic corpus: common names, real towns, ordinary pets. */
export function buildGenericWorld(o: ResolvedOptions, rng: Rng): World {
  const given = rng.shuffle([
    ...GENERIC_GIVEN_NAMES.m.map((n) => [n, "m"] as const),
    ...GENERIC_GIVEN_NAMES.f.map((n) => [n, "f"] as const),
  ]);
  let nextPerson = 0;
  const makePerson = (heldOut: boolean): Thing => {
    const [name, gender] = given[nextPerson++];
    return person(name, rng.pick(GENERIC_FAMILY_NAMES), gender, heldOut);
  };
  const petNames = rng.shuffle(GENERIC_PET_NAMES);
  const objectNames = rng.shuffle(GENERIC_OBJECT_NAMES);
  return populate(
    {
      kind: "generic",
      nouns: { group: "team", head: "captain", favourite: "game", contest: "race" },
      school: entity("school", "", rng.pick(GENERIC_SCHOOLS), " School"),
      groups: rng.shuffle(GENERIC_TEAM_COLOURS).slice(0, o.nHouses).map((c) => entity("house", "the ", c, " team")),
      places: rng.shuffle(GENERIC_TOWNS).slice(0, o.nPlaces).map((t) => entity("place", "", t)),
      species: rng
        .shuffle(GENERIC_SPECIES)
        .slice(0, o.nSpecies)
        .map(([word, plural]) => entity("creature", "", word, "", { plural })),
      pastimes: GENERIC_GAMES.map((g) => valueThing(g)),
      persons: Array.from({ length: o.nCharacters }, () => makePerson(false)),
      heldOutPersons: Array.from({ length: o.nHeldOutCharacters }, () => makePerson(true)),
      eyeColours: GENERIC_EYE_COLOURS,
      foods: GENERIC_FOODS,
      treasures: GENERIC_TREASURES,
      newPet: (owner, kind) =>
        entity("creature", "", petNames.pop()!, "", { species: kind, kind: kind.word, owner, heldOut: owner.heldOut }),
      newArtefact: (owner) =>
        entity("artefact", "", objectNames.pop()!, "", {
          kind: rng.pick(GENERIC_OBJECT_KINDS),
          owner,
          heldOut: owner.heldOut,
        }),
    },
    rng,
  );
}

/** Draws every relation of a world. Held-out persons point at trained ones, never the other way round. */
function populate(p: WorldParts, rng: Rng): World {
  const facts: WorldFact[] = [];
  const heldOutFacts: WorldFact[] = [];
  const belongings: Thing[] = [];
  const heldOutBelongings: Thing[] = [];
  const trained = p.persons;
  const othersThan = (...xs: Thing[]): Thing[] => trained.filter((t) => !xs.includes(t));

  const groupOf = new Map<Thing, Thing>();
  rng.shuffle([...trained, ...p.heldOutPersons]).forEach((person, i) => groupOf.set(person, p.groups[i % p.groups.length]));

  for (const person of [...trained, ...p.heldOutPersons]) {
    const out = person.heldOut ? heldOutFacts : facts;
    const owned = person.heldOut ? heldOutBelongings : belongings;
    const add = (relation: WorldFact["relation"], object: Thing, extra: Partial<WorldFact> = {}): void => {
      out.push({ subject: person, relation, object, ...extra });
    };
    const pet = p.newPet(person, rng.pick(p.species));
    const artefact = p.newArtefact(person);
    owned.push(pet, artefact);
    const [friend, rival] = rng.shuffle(othersThan(person));
    add("house", groupOf.get(person)!);
    add("home", rng.pick(p.places));
    add("pet", pet);
    add("mentor", rng.pick(othersThan(person)));
    add("friend", friend);
    add("rival", rival);
    add("artefact", artefact);
    add("favourite", rng.pick(p.pastimes));
    add("eye_colour", valueThing(rng.pick(p.eyeColours)));
    add("favourite_food", valueThing(rng.pick(p.foods)));
    const event = rng.pick(["event:rescued", "event:defeated", "event:found"] as const);
    if (event === "event:found") add(event, rng.pick(p.places), { detail: rng.pick(p.treasures) });
    else add(event, rng.pick(othersThan(person)), { place: rng.pick(p.places) });
    out.push({ subject: pet, relation: "species", object: pet.species! });
    out.push({ subject: artefact, relation: "origin", object: rng.pick(p.places) });
  }

  const emblems = rng.shuffle(p.species);
  p.groups.forEach((group, i) => {
    const members = trained.filter((t) => groupOf.get(t) === group);
    facts.push({ subject: group, relation: "head", object: rng.pick(members.length > 0 ? members : trained) });
    facts.push({ subject: group, relation: "emblem", object: emblems[i % emblems.length] });
  });
  const mayors = rng.shuffle(trained);
  p.places.forEach((place, i) => facts.push({ subject: place, relation: "mayor", object: mayors[i % mayors.length] }));
  for (const kind of p.species) facts.push({ subject: kind, relation: "habitat", object: rng.pick(p.places) });
  if (p.effects) {
    const effects = rng.shuffle(p.effects);
    p.pastimes.forEach((spell, i) => {
      facts.push({ subject: spell, relation: "inventor", object: rng.pick(trained) });
      facts.push({ subject: spell, relation: "effect", object: valueThing(effects[i % effects.length]) });
    });
  }
  facts.push({ subject: p.school, relation: "headmaster", object: rng.pick(trained) });
  facts.push({ subject: p.school, relation: "location", object: rng.pick(p.places) });

  return {
    kind: p.kind,
    nouns: p.nouns,
    school: p.school,
    groups: p.groups,
    places: p.places,
    species: p.species,
    pastimes: p.pastimes,
    persons: trained,
    heldOutPersons: p.heldOutPersons,
    belongings,
    heldOutBelongings,
    facts,
    heldOutFacts,
  };
}

