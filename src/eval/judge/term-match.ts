/**
 * A matcher for one idiosyncratic term in running text. Terms with a capital letter are names and
 * match case-sensitively (so "Oz" does not fire on "oz."); all-lower-case terms match in any case.
 * A plural or possessive ending is allowed ("Munchkins", "Dorothy's"), other letters next to the
 * term are not ("Ozma" does not match "Ozmatic"), and spaces inside a term match any whitespace,
 * so names broken across wrapped lines are still found.
 */
export function termPattern(term: string): RegExp {
  const body = term
    .trim()
    .split(/\s+/)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("\\s+");
  const flags = /\p{Lu}/u.test(term) ? "u" : "iu";
  return new RegExp(`(?<![\\p{L}\\p{N}])${body}(?:e?s)?(?![\\p{L}\\p{N}])`, flags);
}
