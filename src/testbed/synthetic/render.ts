/**
 * Turns a world's facts into the testbed's documents: chapters of narrative and dialogue, fact
 * sheets and Q&A. Each fact is phrased afresh every time it is written, so a model has to learn the
 * fact rather than one sentence; only the canonical phrasing is cut into fact prompts.
 */
import { articleFor } from "./names.js";
import type { Rng } from "./random.js";
import { FILLERS, RELATION_TEMPLATES, TITLES } from "./templates.js";
import { fullName, type Thing, type World, type WorldFact } from "./world.js";

/** Marks where a canonical sentence is cut into a fact prompt; never left in finished text. */
export const CUT = "\u00a7";

/** How one fact is written in a chapter. */
type Style = "canonical" | "narrative" | "dialogue";

/** A person's given name, or any other thing's full name. */
function shortName(t: Thing): string {
  return t.type === "character" ? t.word : fullName(t);
}

function pronouns(t: Thing): { he: string; him: string; his: string } {
  if (t.gender === "f") return { he: "she", him: "her", his: "her" };
  if (t.gender === "m") return { he: "he", him: "him", his: "his" };
  return { he: "it", him: "it", his: "its" };
}

/** Fills `{key}` placeholders; a key the context lacks is a bug in a template, so it throws. */
export function fill(template: string, ctx: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = ctx[key];
    if (v === undefined) throw new Error(`synthetic template placeholder {${key}} has no value in "${template}"`);
    return v;
  });
}

/** Upper-cases the first letter of the text, of each sentence, and of each opening quotation. */
export function capitalise(text: string): string {
  return text.replace(/(^|[.!?]\s+|(?:^|\s)")([a-z])/g, (_, before: string, c: string) => before + c.toUpperCase());
}

/** The placeholder values of a scene about `subject`, with `bystander` as {L}. */
function sceneContext(world: World, subject: Thing, bystander: Thing): Record<string, string> {
  const p = pronouns(subject);
  return {
    S: fullName(subject),
    Ss: shortName(subject),
    he: p.he,
    him: p.him,
    his: p.his,
    L: shortName(bystander),
    school: fullName(world.school),
    groupNoun: world.nouns.group,
    headNoun: world.nouns.head,
    favNoun: world.nouns.favourite,
    contest: world.nouns.contest,
  };
}

/** The placeholder values for writing `fact`; `marked` puts the cut marker before the answer. */
export function factContext(world: World, fact: WorldFact, bystander: Thing, marked: boolean): Record<string, string> {
  const { subject: s, object: o } = fact;
  const ctx = sceneContext(world, s, bystander);
  ctx.O = o.pre + (marked ? CUT : "") + o.word + o.post;
  ctx.Os = shortName(o);
  ctx.ohim = pronouns(o).him;
  ctx.aO = articleFor(o.word);
  if (o.species) {
    ctx.osp = o.species.word;
    ctx.aosp = articleFor(o.species.word);
  }
  if (o.type === "artefact" && o.kind) ctx.okind = o.kind;
  if (s.type === "artefact" && s.kind) ctx.skind = s.kind;
  if (s.plural) ctx.Spl = s.plural;
  if (s.owner) ctx.owner = fullName(s.owner);
  if (fact.place) ctx.P = fullName(fact.place);
  if (fact.detail) ctx.detail = fact.detail;
  return ctx;
}

/** A fact's canonical sentence split at the answer: the prompt, the answer word, and the whole sentence. */
export function canonicalParts(world: World, fact: WorldFact): { prompt: string; answer: string; sentence: string } {
  const marked = capitalise(fill(RELATION_TEMPLATES[fact.relation].canonical, factContext(world, fact, fact.subject, true)));
  const cut = marked.indexOf(CUT);
  return { prompt: marked.slice(0, cut).trimEnd(), answer: fact.object.word, sentence: marked.replace(CUT, "") };
}

/** The answer a Q&A pair gives: a person's or thing's full name, or the plain value. */
export function qaAnswer(fact: WorldFact): string {
  return fullName(fact.object);
}

/** The question about a fact. */
export function qaQuestion(world: World, fact: WorldFact): string {
  return capitalise(fill(RELATION_TEMPLATES[fact.relation].question, factContext(world, fact, fact.subject, false)));
}

/**
 * Writes the documents of one world: per character a chapter, a fact sheet and a Q&A sheet, and per
 * pass a few documents about the world's places, houses, creatures and spells. Each call draws afresh,
 * so repeated passes phrase the same facts differently.
 */
export class CorpusWriter {
  private readonly factsBySubject = new Map<Thing, WorldFact[]>();

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    /** Who may appear as a bystander in a scene. */
    private readonly bystanders: readonly Thing[],
    facts: readonly WorldFact[],
  ) {
    for (const f of facts) {
      const list = this.factsBySubject.get(f.subject) ?? [];
      list.push(f);
      this.factsBySubject.set(f.subject, list);
    }
  }

  /** A character's facts together with those of the pet and artefact they own. */
  private personFacts(person: Thing): WorldFact[] {
    const own = this.factsBySubject.get(person) ?? [];
    const owned = own.filter((f) => f.relation === "pet" || f.relation === "artefact").map((f) => f.object);
    return [...own, ...owned.flatMap((t) => this.factsBySubject.get(t) ?? [])];
  }

  private bystander(...exclude: Thing[]): Thing {
    const pool = this.bystanders.filter((b) => !exclude.includes(b));
    return this.rng.pick(pool.length > 0 ? pool : this.bystanders);
  }

  private write(fact: WorldFact, style: Style): string {
    const t = RELATION_TEMPLATES[fact.relation];
    const ctx = factContext(this.world, fact, this.bystander(fact.subject, fact.object), false);
    if (style === "canonical") return capitalise(fill(t.canonical, ctx));
    const pool = style === "dialogue" && t.dialogue.length > 0 ? t.dialogue : t.narrative;
    return capitalise(fill(this.rng.pick(pool), ctx));
  }

  private pickStyle(): Style {
    const r = this.rng.next();
    return r < 0.3 ? "canonical" : r < 0.75 ? "narrative" : "dialogue";
  }

  private filler(person: Thing): string {
    return capitalise(fill(this.rng.pick(FILLERS), sceneContext(this.world, person, this.bystander(person))));
  }

  /** A chapter of narrative and dialogue that touches every fact about `person` once. */
  chapter(person: Thing): string {
    const ctx = { ...sceneContext(this.world, person, person), n: String(1 + this.rng.int(30)) };
    const blocks = [fill(this.rng.pick(TITLES), ctx)];
    const facts = this.rng.shuffle(this.personFacts(person));
    for (let i = 0; i < facts.length; ) {
      const group = facts.slice(i, i + 2 + this.rng.int(3));
      i += group.length;
      const sentences = [this.filler(person)];
      const speech: string[] = [];
      for (const fact of group) {
        const style = this.pickStyle();
        const text = this.write(fact, style);
        // Dialogue that came out as narrative (relations without speech) stays in the paragraph.
        if (style === "dialogue" && text.startsWith('"')) speech.push(text);
        else sentences.push(text);
        if (this.rng.chance(0.3)) sentences.push(this.filler(person));
      }
      blocks.push(sentences.join(" "), ...speech);
    }
    return blocks.join("\n\n") + "\n";
  }

  /** A reference sheet: one canonical sentence per line, so fact prompts also start lines. */
  sheet(person: Thing): string {
    const lines = this.rng.shuffle(this.personFacts(person)).map((f) => this.write(f, "canonical"));
    return [`About ${fullName(person)}`, "", ...lines].join("\n") + "\n";
  }

  /** Questions and answers about `person`. */
  qa(person: Thing): string {
    return this.qaDoc(`Questions about ${fullName(person)}`, this.personFacts(person));
  }

  private qaDoc(title: string, facts: readonly WorldFact[]): string {
    const blocks = this.rng
      .shuffle(facts)
      .map((f) => `Question: ${qaQuestion(this.world, f)}\nAnswer: ${capitalise(qaAnswer(f))}.`);
    return [title, ...blocks].join("\n\n") + "\n";
  }

  /** The facts about places, houses, creatures, spells and the school, as a sheet, prose and Q&A. */
  worldDocs(): string[] {
    const w = this.world;
    const school = fullName(w.school);
    const subjects = [w.school, ...w.groups, ...w.places, ...w.species, ...w.pastimes];
    const facts = subjects.flatMap((s) => this.factsBySubject.get(s) ?? []);
    const sheet = this.rng.shuffle(facts).map((f) => this.write(f, "canonical"));
    const docs = [
      [`Notes on ${school} and its surroundings`, "", ...sheet].join("\n") + "\n",
      this.prose(`The ${w.nouns.group}s of ${school}`, [w.school, ...w.groups], (g) => this.membersLine(g)),
      this.prose("Towns and villages", w.places, (p) => this.residentsLine(p)),
      this.prose("Creatures of the land", w.species, (s) => this.petsLine(s)),
      this.qaDoc(`Questions about ${school} and its surroundings`, facts),
    ];
    // Only the universe's pastimes (spells) carry facts of their own.
    if (w.pastimes.some((p) => this.factsBySubject.has(p))) {
      docs.push(this.prose("A book of spells", w.pastimes, () => undefined));
    }
    return docs;
  }

  /** A paragraph per subject: each of its facts in a random style, then an optional closing line. */
  private prose(title: string, subjects: readonly Thing[], closing: (t: Thing) => string | undefined): string {
    const paragraphs = subjects.map((s) => {
      const facts = this.rng.shuffle(this.factsBySubject.get(s) ?? []);
      const sentences = facts.map((f) => this.write(f, this.rng.chance(0.4) ? "canonical" : "narrative"));
      const extra = closing(s);
      return [...sentences, ...(extra ? [extra] : [])].join(" ");
    });
    return [title, ...paragraphs.filter((p) => p.length > 0)].join("\n\n") + "\n";
  }

  private holders(relation: WorldFact["relation"], object: Thing): Thing[] {
    const out: Thing[] = [];
    for (const [subject, facts] of this.factsBySubject) {
      if (subject.type === "character" && facts.some((f) => f.relation === relation && f.object === object)) out.push(subject);
    }
    return out;
  }

  private membersLine(group: Thing): string | undefined {
    if (group.type !== "house") return undefined;
    const members = this.rng.shuffle(this.holders("house", group)).slice(0, 4).map(fullName);
    return members.length > 0 ? capitalise(`Among the members of ${fullName(group)} are ${listOf(members)}.`) : undefined;
  }

  private residentsLine(place: Thing): string | undefined {
    const residents = this.rng.shuffle(this.holders("home", place)).slice(0, 3).map(fullName);
    return residents.length > 0 ? `${listOf(residents)} ${residents.length > 1 ? "live" : "lives"} there.` : undefined;
  }

  private petsLine(kind: Thing): string | undefined {
    const pets: string[] = [];
    for (const [subject, facts] of this.factsBySubject) {
      if (facts.some((f) => f.relation === "species" && f.object === kind)) pets.push(fullName(subject));
    }
    const some = this.rng.shuffle(pets).slice(0, 3);
    return some.length > 0 ? `Well-known tame ${kind.plural} include ${listOf(some)}.` : undefined;
  }
}

/** "A", "A and B", "A, B and C". */
export function listOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
