/**
 * Invented names for the synthetic universe. They must read like names, differ from every everyday
 * word (so none turns up in the generic corpus) and not start one another (so a name's first tokens
 * point at one entity only), which is what makes them clean targets for forgetting.
 */
import { LetheError } from "../../errors.js";
import type { Rng } from "./random.js";

/** What an invented name is for; each kind has its own sound so that the saga reads consistently. */
export type NameStyle = "given" | "family" | "pet" | "place" | "species" | "spell" | "artefact" | "house";

const ONSETS = words("b br d dr f fl g gr h k kr l m n p pr qu r s sk sl st t th tr v w z");
const VOWELS = words("a e i o u a e i o u ai ei ou");
const MIDDLES = words("l ll n nd r rr rv rn s sk st th v m mb nn lv rk z ld nt");
const DOUBLES = words("mm pp bb ff gg zz tt ll nn");
const ENDINGS: Record<Exclude<NameStyle, "species">, readonly string[]> = {
  given: words("ix ane ora ith wyn ric elle ander isse ya iel yth enna ou"),
  family: words("orrow ash ith ane ummel essel ingle avel orn eyne ardyn ivvel"),
  pet: words("ums ix ek ob u ink"),
  place: words("avel ain ost ara ennor uth esk olm irra eddon"),
  spell: words("ar is ium ora enta ulo"),
  artefact: words("ane eth ire oth aris ulor ovar"),
  house: words("arrow ennick oss ythe aine orrin usk"),
};
const SPECIES_CODAS = words("sk lk nt sh th nd rv");
const SPECIES_SUFFIXES = ["kin", "ob", "ax", "u", "ep"];
const INITIAL_VOWELS = ["", "", "", "a", "e", "i", "o"];
/** Vowel pairs that read unambiguously; others ("uu", "ea", "eo") look like typos or blur into two syllables. */
const VOWEL_PAIRS = new Set(["ai", "ei", "ou", "ia", "io"]);

function words(s: string): readonly string[] {
  return s.trim().split(/\s+/);
}

/**
 * Invents pronounceable, distinctive names from syllable parts. Every name it hands out is unique, is
 * not a reserved word (common English, common names, the generic corpus' vocabulary), and neither is a
 * prefix of another, so a name's first tokens point at one entity only.
 */
export class NameForge {
  private readonly used: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly reserved: ReadonlySet<string>,
  ) {}

  /** A fresh name in the given style: capitalised, except species, which are common nouns. */
  make(style: NameStyle): string {
    for (let attempt = 0; attempt < 2000; attempt++) {
      const raw = this.compose(style);
      const lower = raw.toLowerCase();
      if (!isPronounceable(lower) || this.reserved.has(lower) || this.clashes(lower)) continue;
      this.used.push(lower);
      return style === "species" ? lower : lower[0].toUpperCase() + lower.slice(1);
    }
    throw new LetheError(
      `could not invent another distinct ${style} name after ${this.used.length} names`,
      "ask for fewer entities in the synthetic testbed options",
    );
  }

  private compose(style: NameStyle): string {
    const r = this.rng;
    switch (style) {
      case "given":
      case "family":
      case "artefact":
      case "house":
        return r.pick(ONSETS) + r.pick(VOWELS) + r.pick(MIDDLES) + r.pick(ENDINGS[style]);
      case "pet":
        return r.pick(ONSETS) + r.pick(VOWELS.slice(0, 5)) + r.pick(DOUBLES) + r.pick(ENDINGS.pet);
      case "place":
        return r.pick(INITIAL_VOWELS) + r.pick(ONSETS) + r.pick(VOWELS) + r.pick(MIDDLES) + r.pick(ENDINGS.place);
      case "spell":
        return r.pick(ONSETS) + r.pick(VOWELS) + r.pick(MIDDLES) + r.pick(VOWELS.slice(0, 5)) + r.pick(ENDINGS.spell);
      case "species":
        return r.pick(ONSETS) + r.pick(VOWELS.slice(0, 5)) + r.pick(SPECIES_CODAS) + r.pick(SPECIES_SUFFIXES);
    }
  }

  private clashes(lower: string): boolean {
    return this.used.some((u) => u.startsWith(lower) || lower.startsWith(u));
  }
}

/**
 * Rejects spellings that are hard to say or to read: triple letters, odd vowel pairs, consonant pile-ups,
 * and a consonant pair said twice ("Thithith", "Troullelle").
 */
export function isPronounceable(lower: string): boolean {
  return (
    lower.length >= 4 &&
    lower.length <= 10 &&
    !/(.)\1\1/.test(lower) &&
    !/[aeiouy]{3}/.test(lower) &&
    !/[^aeiouy]{4}/.test(lower) &&
    !/^[^aeiouy]{3}/.test(lower.replace(/^qu/, "q")) &&
    !/kk|zz[^aeiouy]|quu/.test(lower) &&
    !/([^aeiouy]{2}).*\1/.test(lower) &&
    (lower.replace(/^qu/, "q").match(/[aeiouy]{2}/g) ?? []).every((pair) => VOWEL_PAIRS.has(pair))
  );
}

/** English plural of an invented or common noun. */
export function pluralOf(noun: string): string {
  if (/(s|x|z|sh|ch)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

/** "a" or "an" before a word, by its first letter (good enough for invented words). */
export function articleFor(word: string): "a" | "an" {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}
