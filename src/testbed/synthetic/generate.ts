/**
 * Generation of the synthetic testbed: an invented saga, an everyday corpus of the same shape and
 * held-out text, with the ground truth to measure forgetting against. Everything follows from the
 * seed, so the same seed always gives the same testbed and the same measurements.
 */
import { buildGenericWorld, buildUniverseWorld, reservedWords } from "./builders.js";
import { buildGenericDictionary } from "./dictionary.js";
import { NameForge } from "./names.js";
import { resolveOptions } from "./options.js";
import { Rng } from "./random.js";
import { CorpusWriter } from "./render.js";
import { entitiesOf, familiarityPrompts, probabilityPrompts, qaPairs, toFact } from "./truth.js";
import type { SyntheticOptions, SyntheticTestbedText } from "./types.js";
import type { World } from "./world.js";

/**
 * Invents a fictional universe and an everyday "generic" world, writes both as prose, fact sheets and
 * Q&A, and returns the text with its ground truth. A pure function of the options: no I/O, and the same
 * seed always gives the same testbed.
 */
export function generateSyntheticTestbed(opts: SyntheticOptions): SyntheticTestbedText {
  const o = resolveOptions(opts);
  const forge = new NameForge(new Rng(o.seed, "names"), reservedWords());
  const universe = buildUniverseWorld(o, new Rng(o.seed, "universe-world"), forge);
  const generic = buildGenericWorld(o, new Rng(o.seed, "generic-world"));
  const u = writeCorpus(universe, new Rng(o.seed, "universe-text"), o.repetitions);
  const g = writeCorpus(generic, new Rng(o.seed, "generic-text"), o.repetitions);
  const { entities, heldOut } = entitiesOf(universe);
  return {
    universe: u.training,
    generic: g.training,
    heldOut: {
      universe: u.heldOut,
      generic: g.heldOut,
      retold: retell(universe, new Rng(o.seed, "universe-retold"), Math.min(o.repetitions, RETOLD_PASSES), u.training),
    },
    truth: {
      seed: o.seed,
      entities,
      heldOutEntities: heldOut,
      facts: universe.facts.map((f) => toFact(universe, f)),
      genericFacts: generic.facts.map((f) => toFact(generic, f)),
      familiarityPrompts: familiarityPrompts(universe, o.nFamiliarityPrompts),
      probabilityPrompts: probabilityPrompts(universe),
      qa: [...qaPairs(universe, universe.facts, "forget"), ...qaPairs(generic, generic.facts, "retain")],
      genericDictionary: buildGenericDictionary(universe, new Rng(o.seed, "dictionary")),
    },
  };
}

/**
 * Training documents (each pass: every trained character's chapter, sheet and Q&A, plus the world
 * documents) and held-out documents (the same for the held-out characters), each list shuffled.
 */
function writeCorpus(world: World, rng: Rng, repetitions: number): { training: string[]; heldOut: string[] } {
  const trained = new CorpusWriter(world, rng, world.persons, world.facts);
  const heldOutWriter = new CorpusWriter(world, rng, [...world.persons, ...world.heldOutPersons], world.heldOutFacts);
  const training: string[] = [];
  const heldOut: string[] = [];
  for (let pass = 0; pass < repetitions; pass++) {
    for (const p of world.persons) training.push(trained.chapter(p), trained.sheet(p), trained.qa(p));
    training.push(...trained.worldDocs());
    for (const p of world.heldOutPersons) heldOut.push(heldOutWriter.chapter(p), heldOutWriter.sheet(p), heldOutWriter.qa(p));
  }
  return { training: rng.shuffle(training), heldOut: rng.shuffle(heldOut) };
}

/**
 * Passes of the retold universe: 4 give ~100 documents at the demo's scale, enough for a stable
 * membership AUC, while one per trained pass would double the generation for no better estimate.
 */
const RETOLD_PASSES = 4;

/**
 * Fresh passes over the trained universe, drawn from their own random stream so the training text
 * stays exactly as it was: the same characters and facts in newly drawn wording, a sample of the
 * training distribution that no model trains on. A document that came out identical to a training
 * document was trained on after all, and is dropped.
 */
function retell(world: World, rng: Rng, passes: number, training: readonly string[]): string[] {
  const writer = new CorpusWriter(world, rng, world.persons, world.facts);
  const trained = new Set(training);
  const docs: string[] = [];
  for (let pass = 0; pass < passes; pass++) {
    for (const p of world.persons) docs.push(writer.chapter(p), writer.sheet(p), writer.qa(p));
    docs.push(...writer.worldDocs());
  }
  return rng.shuffle(docs.filter((d) => !trained.has(d)));
}
