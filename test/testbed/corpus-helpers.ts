// Shared fixtures of the testbed and eval tests: two small folders of prose, one about an invented
// world with names of its own (forget) and one about an everyday world (retain), written by a
// seeded generator so each document is long enough to hold out a tail.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { SeededRandom } from "../../src/util/random.js";

const COMMON = {
  verbs: ["walked to", "looked at", "spoke with", "waited near", "came back to", "thought about"],
  travellers: ["the tired traveller from the coast", "a young clerk with a heavy bag", "the quiet stranger in the grey coat"],
  times: ["In the morning", "At noon", "Late that evening", "The next day", "Soon after", "Before long"],
  endings: ["and smiled.", "without a word.", "for a long while.", "as the rain began.", "with great care."],
};

/** Names and places of the invented world. */
export const INVENTED = { people: ["Velloran", "Quistabel", "Marrowind", "Tessaly", "Orrimond"], places: ["Drelvane", "the Skarrow Gate", "Umberholt"] };
const EVERYDAY = { people: ["the farmer", "the baker", "his sister", "the old teacher", "the captain"], places: ["the market", "the village", "the harbour"] };

function paragraph(rng: SeededRandom, world: { people: string[]; places: string[] }): string {
  const pick = <T>(xs: readonly T[]) => xs[rng.nextUint32() % xs.length]!;
  const sentences = Array.from({ length: 5 }, () => {
    return `${pick(COMMON.times)} ${pick(COMMON.travellers)} ${pick(COMMON.verbs)} ${pick(world.people)} in ${pick(world.places)} ${pick(COMMON.endings)}`;
  });
  // Hard-wrapped, as Gutenberg books are.
  return sentences.join(" ").replace(/(\S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+) /g, "$1\n");
}

/** `docs` documents of `paragraphs` paragraphs each. */
function documents(seed: number, world: { people: string[]; places: string[] }, docs: number, paragraphs: number): string[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: docs }, () => Array.from({ length: paragraphs }, () => paragraph(rng, world)).join("\n\n") + "\n");
}

/** Writes `<root>/forget/*.txt` and `<root>/retain/*.txt` and returns the two folders. */
export function writeTwoCorpora(root: string, opts: { docs?: number; paragraphs?: number } = {}): { forget: string; retain: string } {
  const out = { forget: join(root, "forget"), retain: join(root, "retain") };
  const make = (dir: string, texts: string[]) => {
    mkdirSync(dir, { recursive: true });
    texts.forEach((t, i) => writeFileSync(join(dir, `doc${i}.txt`), t));
  };
  make(out.forget, documents(1, INVENTED, opts.docs ?? 3, opts.paragraphs ?? 80));
  make(out.retain, documents(2, EVERYDAY, opts.docs ?? 3, opts.paragraphs ?? 80));
  return out;
}
