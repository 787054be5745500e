import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeHtml, jsonForScript, visibleToken } from "../../src/report/escape.js";

test("escapeHtml escapes the five HTML-special characters and nothing else", () => {
  assert.equal(escapeHtml(`<img src=x onerror="a('b')"> & é`), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; é");
  assert.equal(escapeHtml("plain text"), "plain text");
});

test("jsonForScript cannot close its script element and parses back to the same value", () => {
  const value = { text: "</script><script>alert(1)</script> <!-- & \u2028 end" };
  const out = jsonForScript(value);
  assert.equal(out.includes("<"), false);
  assert.equal(out.includes(">"), false);
  assert.equal(out.includes("&"), false);
  assert.equal(out.includes("\u2028"), false);
  assert.equal(out, '{"text":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e \\u003c!-- \\u0026 \\u2028 end"}');
  assert.deepEqual(JSON.parse(out), value);
});

test("visibleToken marks leading and trailing spaces, newlines and tabs", () => {
  assert.equal(visibleToken(" Toto"), "␣Toto");
  assert.equal(visibleToken("Toto"), "Toto");
  assert.equal(visibleToken("a b "), "a b␣");
  assert.equal(visibleToken("  "), "␣␣");
  assert.equal(visibleToken("\n\tx"), "⏎⇥x");
  assert.equal(visibleToken(""), "");
});
