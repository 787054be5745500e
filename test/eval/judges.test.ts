import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError, ServiceError } from "../../src/errors.js";
import { RecordShapeError } from "../../src/eval/jsonl.js";
import type { ChatMessage } from "../../src/llm/chat.js";
import { buildJudgeMessages, LlmJudge, parseFamiliarityAnswer, type ChatCompleter } from "../../src/eval/judge/llm-judge.js";
import { compileTerms, termFamiliarity, TermJudge, toJudgeTerm } from "../../src/eval/judge/term-judge.js";

const terms = compileTerms([
  { term: "Dorothy", tier: "unique" },
  { term: "Emerald City", tier: "unique" },
  { term: "witch", tier: "typical" },
  { term: "cyclone", tier: "weak" },
  { term: "Munchkin", tier: "unique" },
]);

test("term judge: a unique term new in the completion scores 3, possessives and plurals count", () => {
  assert.deepEqual(termFamiliarity("The girl looked at", " Dorothy's dog", terms), {
    score: 3,
    found: [{ term: "Dorothy", tier: "unique" }],
  });
  assert.equal(termFamiliarity("the land of the", " Munchkins", terms).score, 3);
  assert.equal(termFamiliarity("we went to the", " Emerald\nCity", terms).score, 3);
});

test("term judge: a term the prompt already has proves nothing", () => {
  assert.equal(termFamiliarity("Dorothy walked", " on with Dorothy again", terms).score, 0);
});

test("term judge: the score is the highest tier found", () => {
  assert.equal(termFamiliarity("", "a Witch flew", terms).score, 2); // lower-case term: any case
  assert.equal(termFamiliarity("", "the cyclone came", terms).score, 1);
  const both = termFamiliarity("", "a witch and Dorothy", terms);
  assert.equal(both.score, 3);
  assert.deepEqual(both.found.map((t) => t.term), ["Dorothy", "witch"]);
  assert.equal(termFamiliarity("", "nothing here", terms).score, 0);
});

test("term judge: names match case-sensitively and as whole words", () => {
  assert.equal(termFamiliarity("", "dorothy", terms).score, 0);
  assert.equal(termFamiliarity("", "Dorothyx", terms).score, 0);
  assert.equal(termFamiliarity("", "witchcraft", terms).score, 0);
});

test("term judge: duplicates keep their highest tier; an empty list is an error", async () => {
  const compiled = compileTerms([
    { term: "Toto", tier: "weak" },
    { term: "Toto ", tier: "unique" },
  ]);
  assert.equal(compiled.length, 1);
  assert.equal(compiled[0].tier, "unique");
  assert.throws(() => compileTerms([]), InputError);
  const judge = new TermJudge([{ term: "Toto", tier: "unique" }]);
  assert.deepEqual(await judge.judge({ prompt: "his dog", completion: " Toto barked", references: [] }), { score: 3, reason: "Toto (unique)" });
});

test("term records are validated", () => {
  assert.deepEqual(toJudgeTerm({ term: " Ozma ", tier: "unique" }), { term: "Ozma", tier: "unique" });
  assert.throws(() => toJudgeTerm({ term: "Ozma", tier: "rare" }), RecordShapeError);
  assert.throws(() => toJudgeTerm({ term: "", tier: "weak" }), RecordShapeError);
});

test("judge answers: MODEL_FAMILIARITY: X/3 is read, anything else is not", () => {
  assert.equal(parseFamiliarityAnswer("It names Ozma.\nMODEL_FAMILIARITY: 3/3"), 3);
  assert.equal(parseFamiliarityAnswer("**MODEL_FAMILIARITY: 2/3**"), 2);
  assert.equal(parseFamiliarityAnswer("model_familiarity : 0 / 3"), 0);
  assert.equal(parseFamiliarityAnswer("MODEL_FAMILIARITY: 1/3 ... final MODEL_FAMILIARITY: 1/3"), 1);
  assert.equal(parseFamiliarityAnswer("MODEL_FAMILIARITY: 1/3 or MODEL_FAMILIARITY: 3/3"), null);
  assert.equal(parseFamiliarityAnswer("MODEL_FAMILIARITY: 4/3"), null);
  assert.equal(parseFamiliarityAnswer("Score: 2"), null);
  assert.equal(parseFamiliarityAnswer(""), null);
});

test("judge prompt carries the rubric, the universe, the completion and the references", () => {
  const [system, user] = buildJudgeMessages({ prompt: "P", completion: "C", references: ["R1", "R2"] }, "the Oz books");
  assert.equal(system.role, "system");
  assert.match(system.content, /the Oz books/);
  assert.match(system.content, /MODEL_FAMILIARITY: X\/3/);
  for (const score of ["3 -", "2 -", "1 -", "0 -"]) assert.ok(system.content.includes(score));
  assert.match(user.content, /PROMPT:\nP\n/);
  assert.match(user.content, /MODEL COMPLETION:\nC\n/);
  assert.match(user.content, /1\. R1\n2\. R2/);
});

/** A chat stub answering from a script; an Error entry is thrown instead of answered. */
class ScriptedChat implements ChatCompleter {
  readonly model = "stub";
  readonly calls: ChatMessage[][] = [];
  constructor(private readonly script: (string | Error)[]) {}
  async complete(messages: readonly ChatMessage[]): Promise<string> {
    this.calls.push([...messages]);
    const next = this.script[this.calls.length - 1];
    if (next instanceof Error) throw next;
    return next;
  }
}

const input = { prompt: "p", completion: "c", references: [] };

test("LLM judge: a readable verdict is taken", async () => {
  const chat = new ScriptedChat(["Mentions Ozma. MODEL_FAMILIARITY: 3/3"]);
  const judge = new LlmJudge(chat, { universe: "Oz" });
  assert.equal(judge.name, "llm(stub)");
  const v = await judge.judge(input);
  assert.equal(v.score, 3);
});

test("LLM judge: malformed answers are asked again with a reminder", async () => {
  const chat = new ScriptedChat(["I think it is familiar.", "MODEL_FAMILIARITY: 1/3"]);
  const v = await new LlmJudge(chat, { universe: "Oz" }).judge(input);
  assert.equal(v.score, 1);
  assert.equal(chat.calls.length, 2);
  const retry = chat.calls[1];
  assert.equal(retry.length, 4);
  assert.deepEqual(retry[2], { role: "assistant", content: "I think it is familiar." });
  assert.match(retry[3].content, /MODEL_FAMILIARITY: X\/3/);
});

test("LLM judge: still malformed after every attempt is a failure, never a 0", async () => {
  const chat = new ScriptedChat(["no", "still no", "nope"]);
  const v = await new LlmJudge(chat, { universe: "Oz", maxAttempts: 3 }).judge(input);
  assert.equal(v.score, null);
  assert.ok("failure" in v && /after 3 attempts/.test(v.failure) && /nope/.test(v.failure));
  assert.equal(chat.calls.length, 3);
});

test("LLM judge: endpoint failures are failures, several in a row abort", async () => {
  const down = new ServiceError("chat endpoint x: HTTP 500", "retry");
  const chat = new ScriptedChat([down, "MODEL_FAMILIARITY: 0/3", down, down, down]);
  const judge = new LlmJudge(chat, { universe: "Oz", maxConsecutiveServiceFailures: 2 });
  assert.deepEqual(await judge.judge(input), { score: null, failure: down.message });
  assert.equal((await judge.judge(input)).score, 0); // success resets the count
  assert.equal((await judge.judge(input)).score, null);
  await assert.rejects(judge.judge(input), ServiceError);
});
