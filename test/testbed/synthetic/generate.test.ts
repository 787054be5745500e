import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateSyntheticTestbed } from "../../../src/testbed/synthetic/index.js";
import type { Fact, SyntheticTestbedText } from "../../../src/testbed/synthetic/index.js";

const bytes = (docs: readonly string[]): number => docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const wordPattern = (term: string, flags = "g"): RegExp => new RegExp(`(?<![A-Za-z])${escape(term)}(?![A-Za-z])`, flags);

/** Every place `prompt` starts at a word boundary in `text`, with what follows it. */
function continuations(text: string, prompt: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`(?<![A-Za-z])${escape(prompt)}(.{0,40})`, "g");
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

function assertFactsMatchProse(facts: readonly Fact[], corpus: string, label: string): void {
  for (const f of facts) {
    const after = continuations(corpus, f.prompt);
    assert.ok(after.length >= 2, `${label}: "${f.prompt}" occurs ${after.length} times`);
    for (const rest of after) {
      assert.ok(rest.startsWith(` ${f.answer}`), `${label}: "${f.prompt}" goes on "${rest}" instead of " ${f.answer}"`);
    }
  }
}

describe("generateSyntheticTestbed (default options)", () => {
  const t0 = performance.now();
  const tb: SyntheticTestbedText = generateSyntheticTestbed({ seed: 7 });
  const elapsedMs = performance.now() - t0;
  const universe = tb.universe.join("\n\n");
  const generic = tb.generic.join("\n\n");
  const allUniverseEntities = [...tb.truth.entities, ...tb.truth.heldOutEntities];

  it("is fast", () => {
    assert.ok(elapsedMs < 1000, `generation took ${elapsedMs.toFixed(0)} ms`);
  });

  it("sizes the corpora for a ten-minute, two-core training run", () => {
    const u = bytes(tb.universe);
    const g = bytes(tb.generic);
    assert.ok(u >= 250_000 && u <= 500_000, `universe is ${u} bytes`);
    assert.ok(g >= 200_000 && g <= 500_000, `generic is ${g} bytes`);
    assert.ok(g / u > 0.7 && g / u < 1.3, `generic/universe size ratio ${(g / u).toFixed(2)}`);
    const hu = bytes(tb.heldOut.universe);
    const hg = bytes(tb.heldOut.generic);
    assert.ok(hu > 0.05 * u && hu < 0.25 * u, `held-out universe is ${hu} bytes`);
    assert.ok(hg > 0.05 * g && hg < 0.25 * g, `held-out generic is ${hg} bytes`);
  });

  it("has the default cast: 32 characters, 4 houses, 8 places, 6 species, 12 spells, one school", () => {
    const count = (type: string): number => tb.truth.entities.filter((e) => e.type === type).length;
    assert.equal(count("character"), 32);
    assert.equal(count("house"), 4);
    assert.equal(count("place"), 8);
    assert.equal(count("spell"), 12);
    assert.equal(count("school"), 1);
    // 6 species plus one pet per character.
    assert.equal(count("creature"), 6 + 32);
    assert.equal(count("artefact"), 32);
    assert.equal(tb.truth.heldOutEntities.filter((e) => e.type === "character").length, 4);
  });

  it("states each fact in the universe prose, and never completes a fact prompt differently", () => {
    // 32 characters x (11 relations + pet species + artefact origin) + 4 houses x 2 + 8 mayors
    // + 6 habitats + 12 spells x 2 + headmaster + location.
    assert.equal(tb.truth.facts.length, 32 * 13 + 8 + 8 + 6 + 24 + 2);
    assertFactsMatchProse(tb.truth.facts, universe, "universe");
  });

  it("writes fact prompts at line starts too, where a prompt given alone tokenises the same way", () => {
    for (const f of tb.truth.facts) {
      assert.ok(wordPattern(`\n${f.prompt} ${f.answer}`, "").test(universe), `no line starts with "${f.prompt}"`);
    }
  });

  it("gives each fact prompt a single answer that is short", () => {
    const prompts = new Set(tb.truth.facts.map((f) => f.prompt));
    assert.equal(prompts.size, tb.truth.facts.length);
    for (const f of tb.truth.facts) assert.match(f.answer, /^[A-Za-z]+$/, `answer "${f.answer}" is one word`);
  });

  it("keeps the generic world's own facts consistent in the generic prose", () => {
    assert.ok(tb.truth.genericFacts.length >= 400);
    assertFactsMatchProse(tb.truth.genericFacts, generic, "generic");
  });

  it("keeps every universe name out of the generic corpus and the generic held-out text", () => {
    const genericAll = [...tb.generic, ...tb.heldOut.generic].join("\n");
    for (const e of allUniverseEntities) {
      for (const form of e.surfaceForms) {
        assert.ok(!wordPattern(form, "i").test(genericAll), `"${form}" (${e.id}) occurs in generic text`);
      }
    }
  });

  it("writes every trained entity into the universe corpus, and the held-out ones only into held-out text", () => {
    for (const e of tb.truth.entities) assert.ok(universe.includes(e.name), `${e.name} never appears`);
    const heldOutText = tb.heldOut.universe.join("\n");
    for (const e of tb.truth.heldOutEntities) {
      assert.ok(!wordPattern(e.name, "").test(universe), `held-out ${e.name} appears in training text`);
      assert.ok(heldOutText.includes(e.name), `held-out ${e.name} never appears in held-out text`);
    }
  });

  it("never trains on a held-out document", () => {
    const training = new Set([...tb.universe, ...tb.generic]);
    for (const d of [...tb.heldOut.universe, ...tb.heldOut.generic]) assert.ok(!training.has(d));
    assert.ok(tb.heldOut.universe.length > 0 && tb.heldOut.generic.length > 0);
  });

  it("gives entities unique names and ids, with no surface form shared between entities", () => {
    assert.equal(new Set(allUniverseEntities.map((e) => e.id)).size, allUniverseEntities.length);
    const owner = new Map<string, string>();
    for (const e of allUniverseEntities) {
      assert.equal(e.surfaceForms[0], e.name);
      for (const form of new Set(e.surfaceForms)) {
        const lower = form.toLowerCase();
        assert.ok(!owner.has(lower), `"${form}" names both ${owner.get(lower)} and ${e.id}`);
        owner.set(lower, e.id);
      }
    }
  });

  it("invents names that are neither common English words nor the generic corpus' words", () => {
    const everyday = new Set(
      `the and house school dog cat wand staff ring owl mouse river town city king queen lord lady hill wood stone
       bell ball rock tree star moon sun fire water light dark night day home friend brindle quill quorrow
       sloth wobble prattle rabbit hobbit trumpet pumpkin wizard lizard mustard penny happy battle summit grotto
       vision minion zenith lana trina women siren pollen hostel proven sullen`.split(/\s+/),
    );
    const genericWords = new Set(generic.toLowerCase().match(/[a-z]+/g));
    for (const e of allUniverseEntities) {
      for (const word of e.surfaceForms.flatMap((f) => f.split(" "))) {
        if (word === "House" || word === "Academy") continue;
        assert.ok(!everyday.has(word.toLowerCase()), `${word} is an everyday word`);
        assert.ok(!genericWords.has(word.toLowerCase()), `${word} occurs in the generic corpus`);
        assert.match(word, /^[A-Za-z]{4,12}$/);
      }
    }
  });

  it("builds a generic dictionary whose keys all occur in the universe corpus", () => {
    const dict = tb.truth.genericDictionary;
    const names = tb.truth.entities.filter((e) => e.type === "character").map((e) => e.name);
    for (const name of names) {
      const [given, family] = name.split(" ");
      assert.equal(dict[name], `${dict[given]} ${dict[family]}`, `counterpart of ${name} is consistent`);
    }
    const universeForms = new Set(allUniverseEntities.flatMap((e) => e.surfaceForms));
    for (const [key, value] of Object.entries(dict)) {
      assert.ok(universe.includes(key), `key ${key} is not in the universe corpus`);
      assert.ok(universeForms.has(key), `key ${key} is not an entity's surface form`);
      for (const word of value.split(" ")) assert.ok(!universeForms.has(word), `counterpart ${value} is a universe name`);
    }
    const school = tb.truth.entities.find((e) => e.type === "school")!;
    assert.equal(dict[school.name], "the academy");
  });

  it("spreads about 100 familiarity prompts evenly over the entities", () => {
    const prompts = tb.truth.familiarityPrompts;
    assert.equal(prompts.length, 100);
    assert.equal(new Set(prompts.map((p) => p.prompt)).size, 100);
    const primary = tb.truth.entities.filter((e) => ["character", "house", "place", "spell", "school"].includes(e.type));
    const species = tb.truth.entities.filter((e) => e.type === "creature" && e.surfaceForms.length === 2);
    const mentions = [...primary, ...species].map(
      (e) => prompts.filter((p) => e.surfaceForms.some((f) => wordPattern(f, "").test(p.prompt))).length,
    );
    // 63 entities and 100 prompts: every entity is cued once or twice.
    assert.equal(mentions.length, 63);
    assert.ok(mentions.every((n) => n === 1 || n === 2), `prompts per entity: ${mentions.join(" ")}`);
    for (const p of prompts) {
      assert.ok(p.references.length > 0, `"${p.prompt}" has no references`);
      for (const r of p.references) assert.ok(!wordPattern(r, "").test(p.prompt), `"${p.prompt}" already says ${r}`);
    }
  });

  it("cues familiarity prompts toward the entity's own facts", () => {
    const petCues = tb.truth.familiarityPrompts.filter((p) => / whistled, and (his|her) pet$/.test(p.prompt));
    assert.ok(petCues.length >= 4, `only ${petCues.length} pet cues`);
    for (const cue of petCues) {
      const owner = tb.truth.entities.find((e) => e.type === "character" && cue.prompt.startsWith(`${e.name} `))!;
      const pet = tb.truth.facts.find((f) => f.entityId === owner.id && f.relation === "pet")!;
      assert.equal(cue.references[0], pet.answer, cue.prompt);
    }
  });

  it("probes the next-word probability of family names and invented answers", () => {
    const probes = tb.truth.probabilityPrompts;
    const characters = tb.truth.entities.filter((e) => e.type === "character");
    for (const c of characters) {
      const [given, family] = c.name.split(" ");
      assert.ok(probes.some((p) => p.prompt === given && p.targets[0] === ` ${family}`), `no probe for ${c.name}`);
    }
    for (const p of probes) {
      assert.ok(p.targets.length > 0 && p.targets.every((x) => /^ [A-Za-z]/.test(x)));
      assert.ok(universe.includes(`${p.prompt}${p.targets[0]}`), `"${p.prompt}${p.targets[0]}" is not in the corpus`);
    }
  });

  it("asks forget questions about the universe and retain questions about the generic world", () => {
    const forget = tb.truth.qa.filter((q) => q.split === "forget");
    const retain = tb.truth.qa.filter((q) => q.split === "retain");
    assert.equal(forget.length, tb.truth.facts.length);
    assert.equal(retain.length, tb.truth.genericFacts.length);
    for (const q of forget) assert.ok(universe.includes(`Question: ${q.question}\nAnswer: ${q.answer}.`), q.question);
    for (const q of retain) assert.ok(generic.includes(`Question: ${q.question}\nAnswer: ${q.answer}.`), q.question);
  });
});

describe("generateSyntheticTestbed determinism and options", () => {
  it("gives identical output for the same seed and different output for another", () => {
    const a = generateSyntheticTestbed({ seed: 11, nCharacters: 6, repetitions: 1 });
    const b = generateSyntheticTestbed({ seed: 11, nCharacters: 6, repetitions: 1 });
    const c = generateSyntheticTestbed({ seed: 12, nCharacters: 6, repetitions: 1 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.truth.entities, c.truth.entities);
    assert.notDeepEqual(a.universe, c.universe);
    assert.notDeepEqual(a.generic, c.generic);
  });

  it("scales with the options", () => {
    const small = generateSyntheticTestbed({ seed: 3, nCharacters: 4, nHeldOutCharacters: 1, nHouses: 2, nPlaces: 3, nSpecies: 2, nSpells: 2, repetitions: 1, nFamiliarityPrompts: 5 });
    assert.equal(small.truth.entities.filter((e) => e.type === "character").length, 4);
    assert.equal(small.truth.familiarityPrompts.length, 5);
    assertFactsMatchPromptOnce(small.truth.facts, small.universe.join("\n"));
    const big = generateSyntheticTestbed({ seed: 3, nCharacters: 40, nHeldOutCharacters: 8, nHouses: 6, nPlaces: 16, nSpecies: 8, nSpells: 16 });
    assert.equal(big.truth.entities.filter((e) => e.type === "character").length, 40);
  });

  it("rejects unusable options with an InputError naming the option", () => {
    assert.throws(() => generateSyntheticTestbed({ seed: 1.5 }), { name: "InputError", message: /seed/ });
    assert.throws(() => generateSyntheticTestbed({ seed: 1, nCharacters: 2 }), { name: "InputError", message: /nCharacters = 2 is outside 4\.\.40/ });
    assert.throws(() => generateSyntheticTestbed({ seed: 1, repetitions: 0 }), { name: "InputError", message: /repetitions/ });
  });
});

function assertFactsMatchPromptOnce(facts: readonly Fact[], corpus: string): void {
  for (const f of facts) assert.ok(corpus.includes(`${f.prompt} ${f.answer}`), f.prompt);
}
