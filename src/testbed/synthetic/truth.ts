/**
 * The synthetic testbed's evaluation items, derived from the world rather than read off the text:
 * fact prompts, QA pairs, familiarity prompts with the terms a familiar completion would contain, and
 * next-word probes. Because the world is known exactly, so is every item's answer, which hand-made
 * prompts for a real book cannot promise.
 */
import { canonicalParts, capitalise, fill, qaAnswer, qaQuestion } from "./render.js";
import type { Entity, FamiliarityPrompt, Fact, ProbabilityPrompt, QaPair } from "./types.js";
import { fullName, type Relation, type Thing, type World, type WorldFact } from "./world.js";

/** Every way an entity is written in the prose. */
export function surfaceForms(t: Thing): string[] {
  const forms = [fullName(t)];
  if (t.word !== forms[0]) forms.push(t.word);
  if (t.family) forms.push(t.family);
  if (t.plural) forms.push(t.plural);
  return forms;
}

function toEntity(t: Thing): Entity {
  if (t.type === "value") throw new Error(`value ${t.word} is not an entity`);
  return { id: t.id, type: t.type, name: fullName(t), surfaceForms: surfaceForms(t) };
}

/** The trained entities of the universe and, apart, those only held-out documents are about. */
export function entitiesOf(w: World): { entities: Entity[]; heldOut: Entity[] } {
  const trained = [w.school, ...w.groups, ...w.places, ...w.species, ...w.pastimes, ...w.persons, ...w.belongings];
  return { entities: trained.map(toEntity), heldOut: [...w.heldOutPersons, ...w.heldOutBelongings].map(toEntity) };
}

/** A world fact as a prompt cut right before its answer. */
export function toFact(w: World, f: WorldFact): Fact {
  const { prompt, answer } = canonicalParts(w, f);
  return { entityId: f.subject.id, relation: f.relation, prompt, answer };
}

export function qaPairs(w: World, facts: readonly WorldFact[], split: QaPair["split"]): QaPair[] {
  return facts.map((f) => ({ question: qaQuestion(w, f), answer: capitalise(qaAnswer(f)), split }));
}

/** Looks up `subject relation ?` among a world's facts. */
class FactIndex {
  private readonly byKey = new Map<string, Thing>();
  private readonly bySubject = new Map<Thing, WorldFact[]>();

  constructor(facts: readonly WorldFact[]) {
    for (const f of facts) {
      this.byKey.set(`${f.subject.id} ${f.relation}`, f.object);
      this.bySubject.set(f.subject, [...(this.bySubject.get(f.subject) ?? []), f]);
    }
  }

  get(subject: Thing, relation: Relation): Thing | undefined {
    return this.byKey.get(`${subject.id} ${relation}`);
  }

  about(subject: Thing): WorldFact[] {
    return this.bySubject.get(subject) ?? [];
  }

  /** Subjects whose `relation` points at `object`. */
  pointingAt(relation: Relation, object: Thing): Thing[] {
    const out: Thing[] = [];
    for (const [subject, facts] of this.bySubject) {
      if (facts.some((f) => f.relation === relation && f.object === object)) out.push(subject);
    }
    return out;
  }
}

/** Idiosyncratic terms of a thing: its surface forms, or nothing for plain values. */
function termsOf(t: Thing | undefined): string[] {
  return t && t.type !== "value" ? surfaceForms(t) : [];
}

interface Cue {
  template: string;
  /** The terms the cue leads to most directly. */
  specific: (t: Thing, ix: FactIndex) => (Thing | undefined)[];
}

const PERSON_CUES: readonly Cue[] = [
  { template: "{S} whistled, and {his} pet", specific: (t, ix) => [ix.get(t, "pet"), ix.get(t, "pet")?.species] },
  { template: "After supper, {Ss} went looking for {his} best friend,", specific: (t, ix) => [ix.get(t, "friend")] },
  { template: "When the term ended, {Ss} packed {his} bags and travelled home to", specific: (t, ix) => [ix.get(t, "home")] },
  { template: "At the welcome feast, {S} sat down at the table of", specific: (t, ix) => [ix.get(t, "house")] },
  { template: "{Ss} reached for {his} {kind}, the one called", specific: (t, ix) => [ix.get(t, "artefact")] },
  { template: "{Ss} raised {his} hand and cast {his} favourite spell,", specific: (t, ix) => [ix.get(t, "favourite")] },
  { template: "{Ss} went to ask {his} mentor,", specific: (t, ix) => [ix.get(t, "mentor")] },
  { template: "Across the hall, {Ss} spotted {his} old rival,", specific: (t, ix) => [ix.get(t, "rival")] },
];

const CUES: Record<"house" | "place" | "creature" | "spell" | "school", readonly Cue[]> = {
  house: [
    { template: "The students of {S} gathered around their head,", specific: (t, ix) => [ix.get(t, "head")] },
    { template: "The banner of {S} shows", specific: (t, ix) => [ix.get(t, "emblem")] },
    { template: "The most famous member of {S} is", specific: (t, ix) => ix.pointingAt("house", t) },
  ],
  place: [
    { template: "Everyone in {S} knows the mayor,", specific: (t, ix) => [ix.get(t, "mayor")] },
    { template: "The most famous person who lives in {S} is", specific: (t, ix) => ix.pointingAt("home", t) },
    { template: "On the road to {S}, travellers often meet", specific: (t, ix) => ix.pointingAt("habitat", t) },
  ],
  creature: [
    { template: "A herd of wild {Spl} was seen grazing near", specific: (t, ix) => [ix.get(t, "habitat")] },
    { template: "The most famous tame {S} is", specific: (t, ix) => ix.pointingAt("species", t) },
    { template: "Which banner shows {aS} {S}? The banner of", specific: (t, ix) => ix.pointingAt("emblem", t) },
  ],
  spell: [
    { template: "The {S} spell was first cast long ago by", specific: (t, ix) => [ix.get(t, "inventor")] },
    { template: "Of everyone at school, the one who loves the {S} spell most is", specific: (t, ix) => ix.pointingAt("favourite", t) },
  ],
  school: [
    { template: "Every student at {S} is a little afraid of the headmaster,", specific: (t, ix) => [ix.get(t, "headmaster")] },
    { template: "The houses of {S} are called", specific: (_, __) => [] },
    { template: "To reach {S}, you must travel to", specific: (t, ix) => [ix.get(t, "location")] },
  ],
};

/** Everything directly tied to a thing, as idiosyncratic terms. */
function relatedTerms(t: Thing, ix: FactIndex): string[] {
  const objects = ix.about(t).map((f) => f.object);
  return [...termsOf(t), ...objects.flatMap((o) => [...termsOf(o), ...termsOf(o.species)])];
}

/**
 * Familiarity prompts, spread evenly over the universe's characters, houses, places, creatures, spells
 * and school (counts differ by at most one), each entity cycling through its own cues. Fewer than
 * `n` come back only when every entity has used every cue.
 */
export function familiarityPrompts(w: World, n: number): FamiliarityPrompt[] {
  const ix = new FactIndex(w.facts);
  const subjects: [Thing, readonly Cue[]][] = [
    ...w.persons.map((p) => [p, PERSON_CUES] as [Thing, readonly Cue[]]),
    ...w.groups.map((g) => [g, CUES.house] as [Thing, readonly Cue[]]),
    ...w.places.map((p) => [p, CUES.place] as [Thing, readonly Cue[]]),
    ...w.species.map((s) => [s, CUES.creature] as [Thing, readonly Cue[]]),
    ...w.pastimes.map((s) => [s, CUES.spell] as [Thing, readonly Cue[]]),
    [w.school, CUES.school] as [Thing, readonly Cue[]],
  ];
  const out: FamiliarityPrompt[] = [];
  const rounds = Math.max(...subjects.map(([, cues]) => cues.length));
  for (let round = 0; round < rounds && out.length < n; round++) {
    subjects.forEach(([t, cues], i) => {
      if (out.length >= n || round >= cues.length) return;
      const cue = cues[(round + i) % cues.length];
      const prompt = capitalise(fill(cue.template, cueContext(t, ix)));
      const terms = [
        ...cue.specific(t, ix).flatMap((x) => termsOf(x)),
        ...(t.type === "school" ? w.groups.flatMap(termsOf) : []),
        ...relatedTerms(t, ix),
      ];
      const references = [...new Set(terms)].filter((term) => !containsWord(prompt, term));
      out.push({ prompt, references });
    });
  }
  return out;
}

function cueContext(t: Thing, ix: FactIndex): Record<string, string> {
  const his = t.gender === "f" ? "her" : "his";
  return {
    S: fullName(t),
    Ss: t.type === "character" ? t.word : fullName(t),
    his,
    kind: ix.get(t, "artefact")?.kind ?? "",
    Spl: t.plural ?? "",
    aS: /^[aeiou]/.test(t.word) ? "an" : "a",
  };
}

function containsWord(text: string, term: string): boolean {
  return new RegExp(`(?<![A-Za-z])${escapeRegExp(term)}(?![A-Za-z])`).test(text);
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Relations whose answers are invented names, worth a next-word probability probe. */
const PROBED: ReadonlySet<Relation> = new Set<Relation>([
  "pet", "house", "head", "emblem", "mayor", "habitat", "inventor", "headmaster", "location",
]);

/**
 * Next-word probes: each character's given name followed by their family name, then the fact prompts
 * of the probed relations followed by their invented answers.
 */
export function probabilityPrompts(w: World): ProbabilityPrompt[] {
  const names = w.persons.map((p) => ({ prompt: p.word, targets: [` ${p.family}`] }));
  const facts = w.facts
    .filter((f) => PROBED.has(f.relation))
    .map((f) => {
      const { prompt, answer } = canonicalParts(w, f);
      return { prompt, targets: [` ${answer}`] };
    });
  return [...names, ...facts];
}
