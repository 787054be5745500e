/**
 * Making arbitrary text safe inside the report's HTML. Completions, prompts, model names and file
 * paths are untrusted: a completion may well contain `</script>` or `<img onerror=...>`.
 */

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for an HTML element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` become `\u` escapes so
 * no string can close the element or open a comment, and U+2028/U+2029 are escaped for old parsers.
 * `JSON.parse` of the element's text gives back the value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A token as it should be read in a list: leading and trailing spaces as `␣`, newlines as `⏎`,
 * tabs as `⇥`, so " Toto" and "Toto" look different. The result still needs {@link escapeHtml}.
 */
export function visibleToken(token: string): string {
  const shown = token.replace(/\n/g, "⏎").replace(/\t/g, "⇥");
  const lead = /^ */.exec(shown)![0].length;
  const trail = shown.length > lead ? / *$/.exec(shown)![0].length : 0;
  return "␣".repeat(lead) + shown.slice(lead, shown.length - trail) + "␣".repeat(trail);
}
