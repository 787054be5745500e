/**
 * What a model's file name says when its inputs do not: a display name, a role (base, unlearned,
 * gold) and an α. Only fallbacks; roles and α given by the caller or the eval files win.
 */
import type { ReportRole } from "./types.js";

/** A model's display name: a path's file name without `.gguf`. */
export function shortModelName(name: string): string {
  const file = name.split(/[\\/]/).filter((p) => p !== "").pop() ?? name;
  return file.replace(/\.gguf$/i, "") || name;
}

/**
 * The role a model's name suggests: `gold` and `base` as words of the file name, `unlearned`,
 * `unlearn`, `whp` or `forget` for an unlearned model; else `other`. Only a fallback for inputs
 * that do not say.
 */
export function guessRole(name: string): ReportRole {
  const words = shortModelName(name).toLowerCase().split(/[^a-z0-9]+/);
  if (words.includes("gold")) return "gold";
  if (words.includes("base")) return "base";
  if (words.some((w) => w === "unlearned" || w === "unlearn" || w === "whp" || w === "forget" || w === "forgot")) return "unlearned";
  return "other";
}

/** α from a name such as `whp-alpha2.5.gguf` or `oz_alpha=10`; undefined when the name has none. */
export function alphaFromName(name: string): number | undefined {
  const m = /(?:alpha|α)[=_-]?(\d+(?:\.\d+)?)/i.exec(shortModelName(name).replace(/\.$/, ""));
  return m ? Number(m[1]) : undefined;
}
