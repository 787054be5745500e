/**
 * The synthetic testbed's size knobs with their defaults and bounds. The bounds are not arbitrary:
 * the generic world draws from fixed pools of names, towns and species that larger settings would
 * exhaust.
 */
import { InputError } from "../../errors.js";
import type { SyntheticOptions } from "./types.js";

/** Options with every default filled in. */
export type ResolvedOptions = Required<SyntheticOptions>;

/** Each knob's default and allowed range; the ranges keep the generic world's name pools sufficient. */
const KNOBS = {
  nCharacters: { default: 32, min: 4, max: 40 },
  nHeldOutCharacters: { default: 4, min: 1, max: 8 },
  nHouses: { default: 4, min: 2, max: 6 },
  nPlaces: { default: 8, min: 3, max: 16 },
  nSpecies: { default: 6, min: 2, max: 8 },
  nSpells: { default: 12, min: 2, max: 16 },
  repetitions: { default: 4, min: 1, max: 12 },
  nFamiliarityPrompts: { default: 100, min: 1, max: 1000 },
} as const;

/** Validates the options and fills in defaults. */
export function resolveOptions(opts: SyntheticOptions): ResolvedOptions {
  if (opts === null || typeof opts !== "object") {
    throw new InputError("synthetic testbed options must be an object", "pass an object such as { seed: 1 }");
  }
  if (!Number.isSafeInteger(opts.seed)) {
    throw new InputError(`synthetic testbed seed ${String(opts.seed)} is not an integer`, "pass an integer seed");
  }
  const out: Record<string, number> = { seed: opts.seed };
  for (const [key, knob] of Object.entries(KNOBS)) {
    const value = (opts as unknown as Record<string, unknown>)[key] ?? knob.default;
    if (typeof value !== "number" || !Number.isInteger(value) || value < knob.min || value > knob.max) {
      throw new InputError(
        `synthetic testbed option ${key} = ${String(value)} is outside ${knob.min}..${knob.max}`,
        `set ${key} to an integer from ${knob.min} to ${knob.max}, or leave it out for ${knob.default}`,
      );
    }
    out[key] = value;
  }
  return out as ResolvedOptions;
}
