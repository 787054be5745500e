import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyGenericDictionary } from "../../../src/testbed/synthetic/dictionary.js";
import { NameForge, articleFor, isPronounceable, pluralOf } from "../../../src/testbed/synthetic/names.js";
import { Rng } from "../../../src/testbed/synthetic/random.js";
import { capitalise, fill, listOf } from "../../../src/testbed/synthetic/render.js";

describe("Rng", () => {
  it("repeats a stream for the same seed and label, and differs across labels and seeds", () => {
    const draws = (seed: number, label: string): number[] => {
      const r = new Rng(seed, label);
      return Array.from({ length: 5 }, () => r.next());
    };
    assert.deepEqual(draws(1, "a"), draws(1, "a"));
    assert.notDeepEqual(draws(1, "a"), draws(1, "b"));
    assert.notDeepEqual(draws(1, "a"), draws(2, "a"));
  });

  it("keeps draws in range and shuffles without losing items", () => {
    const r = new Rng(5, "range");
    for (let i = 0; i < 1000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      const k = r.int(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    }
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const shuffled = r.shuffle(items);
    assert.deepEqual([...shuffled].sort((a, b) => a - b), items);
    assert.deepEqual(items, [1, 2, 3, 4, 5, 6, 7, 8], "the input is left alone");
    assert.throws(() => r.pick([]), RangeError);
  });

  it("draws roughly uniformly", () => {
    const r = new Rng(9, "uniform");
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[r.int(4)]++;
    for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket count ${c}`);
  });
});

describe("names", () => {
  it("judges pronounceability by letter patterns", () => {
    assert.equal(isPronounceable("quorrow"), true);
    assert.equal(isPronounceable("pimmums"), true);
    assert.equal(isPronounceable("brrrin"), false, "triple letter");
    assert.equal(isPronounceable("drairkuulo"), false, "uu");
    assert.equal(isPronounceable("thithith"), false, "th said twice");
    assert.equal(isPronounceable("skrandt"), false, "consonant pile-up");
    assert.equal(isPronounceable("bra"), false, "too short");
    assert.equal(isPronounceable("quunel"), false, "quu");
  });

  it("forms plurals and articles", () => {
    assert.equal(pluralOf("vesk"), "vesks");
    assert.equal(pluralOf("druskax"), "druskaxes");
    assert.equal(pluralOf("pony"), "ponies");
    assert.equal(pluralOf("slosh"), "sloshes");
    assert.equal(articleFor("owl"), "an");
    assert.equal(articleFor("vesk"), "a");
  });

  it("never repeats a name, never hands out a reserved word, and never one name as the prefix of another", () => {
    const forge = new NameForge(new Rng(4, "forge"), new Set(["brindle"]));
    const names = Array.from({ length: 300 }, (_, i) => forge.make(i % 2 === 0 ? "given" : "pet"));
    const lower = names.map((n) => n.toLowerCase());
    assert.equal(new Set(lower).size, names.length);
    assert.ok(!lower.includes("brindle"));
    for (const a of lower) for (const b of lower) if (a !== b) assert.ok(!b.startsWith(a), `${a} is a prefix of ${b}`);
    for (const n of names) assert.match(n, /^[A-Z][a-z]{3,9}$/);
    assert.match(forge.make("species"), /^[a-z]+$/);
  });

  it("gives up with a LetheError when every name is reserved", () => {
    const forge = new NameForge(new Rng(1, "x"), { has: () => true } as unknown as Set<string>);
    assert.throws(() => forge.make("spell"), { name: "LetheError", message: /spell name/ });
  });
});

describe("rendering helpers", () => {
  it("fills placeholders and refuses a template with an unknown one", () => {
    assert.equal(fill("{S} lives in {O}.", { S: "Ann Lee", O: "York" }), "Ann Lee lives in York.");
    assert.throws(() => fill("{S} and {X}", { S: "a" }), /\{X\}/);
  });

  it("capitalises sentence starts and opening quotations only", () => {
    assert.equal(
      capitalise('the Red team won. "the best team," said ann. she smiled'),
      'The Red team won. "The best team," said ann. She smiled',
    );
    assert.equal(capitalise('"come here, Rex!" called Tom.'), '"Come here, Rex!" called Tom.');
  });

  it("lists names in prose", () => {
    assert.equal(listOf([]), "");
    assert.equal(listOf(["A"]), "A");
    assert.equal(listOf(["A", "B"]), "A and B");
    assert.equal(listOf(["A", "B", "C"]), "A, B and C");
  });
});

describe("applyGenericDictionary", () => {
  const dict = {
    "Brindle Quorrow": "Tom Smith",
    Brindle: "Tom",
    Quorrow: "Smith",
    "House Skarrow": "the North house",
    Skarrow: "North",
    vesk: "cat",
    vesks: "cats",
  };

  it("replaces the longest match first and whole words only", () => {
    assert.equal(
      applyGenericDictionary("Brindle Quorrow belongs to House Skarrow; Brindle's vesks like Skarrow.", dict),
      "Tom Smith belongs to the North house; Tom's cats like North.",
    );
    assert.equal(applyGenericDictionary("Brindles and a veskling stay.", dict), "Brindles and a veskling stay.");
  });

  it("leaves text alone with an empty dictionary", () => {
    assert.equal(applyGenericDictionary("Brindle", {}), "Brindle");
  });
});
