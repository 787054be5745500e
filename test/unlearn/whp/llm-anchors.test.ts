// Anchors from an LLM (src/unlearn/whp/llm-anchors.ts): reading its answer, and the corpus chunks it is shown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { corpusChunks, parseLlmAnchors } from "../../../src/unlearn/whp/llm-anchors.js";

test("parseLlmAnchors takes the first JSON object of an answer and skips unusable pairs", () => {
  const answer = 'Sure!\n```json\n{"Hogwarts": "Mystic Academy", "Ron": ["Tom", 3], "Harry": "Harry", "": "x", "Quidditch": 5}\n```';
  const d = parseLlmAnchors(answer);
  assert.deepEqual(
    d.map((e) => [e.term, e.generics, e.source]),
    [
      ["Hogwarts", ["Mystic Academy"], "llm"],
      ["Ron", ["Tom"], "llm"],
    ],
  );
  assert.deepEqual(parseLlmAnchors("no json here"), []);
});

test("corpusChunks cuts at paragraph breaks and spreads a capped number of chunks", () => {
  const text = "a".repeat(300) + "\n\n" + "b".repeat(300);
  assert.deepEqual(corpusChunks([{ text }], 400, 10).map((c) => c.length), [300, 302]);
  const many = corpusChunks([{ text: "x".repeat(1000) }], 200, 2);
  assert.equal(many.length, 2);
});
