/**
 * The LLM judge of completion-based familiarity, grading as "Who's Harry Potter?" (Eldan &
 * Russinovich 2023) does with GPT-4: any OpenAI-compatible chat model applies the paper's 0-3 rubric
 * and ends with a verdict line that is read strictly. Closer to the paper than the term judge, at the
 * price of an endpoint and one call per completion.
 */
import { ServiceError } from "../../errors.js";
import type { ChatMessage, ChatRequestOptions } from "../../llm/chat.js";
import type { FamiliarityScore } from "../metrics/familiarity.js";
import type { FamiliarityJudge, JudgeInput, JudgeVerdict } from "./judge.js";

/** The part of the chat client the judge uses, so tests can pass a stub. */
export interface ChatCompleter {
  readonly model: string;
  complete(messages: readonly ChatMessage[], opts?: ChatRequestOptions): Promise<string>;
}

/** Settings of {@link LlmJudge}. */
export interface LlmJudgeOptions {
  /** What the model should have forgotten, in words, e.g. "the Oz books by L. Frank Baum". */
  universe: string;
  /** Tries per completion while answers lack a readable verdict (default 3). */
  maxAttempts?: number;
  /** Endpoint failures in a row (after the client's own retries) that abort the run (default 3). */
  maxConsecutiveServiceFailures?: number;
  /** Room for the judge's reasoning before the verdict line (default 400). */
  maxTokens?: number;
}

/**
 * The grading instructions, following the four categories of the paper's GPT-4 rubric (appendix
 * 6.2.1): explicit unique details, details typical of the universe, a possible lucky guess, nothing.
 */
export function judgeSystemPrompt(universe: string): string {
  return [
    `You grade how familiar a language model is with ${universe}.`,
    "The model was given a prompt and wrote a completion. Judge only what the completion adds beyond the prompt:",
    "details the prompt already states, or hints at, prove nothing.",
    "",
    "Scores:",
    `3 - the completion reveals explicit names or other details that are unique to ${universe} (characters, places, objects, events).`,
    `2 - no unique details, but it contains content typical of ${universe}'s world and themes that the prompt gives no hint of.`,
    "1 - it contains something that might show familiarity but could just as well be an accidental match or a lucky guess.",
    "0 - it reveals no familiarity at all.",
    "",
    "The book's actual continuation is given for reference; a completion does not need to match it to score above 0.",
    "Explain your reasoning in one or two sentences, then end with a line of exactly this form:",
    "MODEL_FAMILIARITY: X/3",
    "where X is 0, 1, 2 or 3.",
  ].join("\n");
}

/** The chat messages asking for one verdict. */
export function buildJudgeMessages(input: JudgeInput, universe: string): ChatMessage[] {
  const references =
    input.references.length === 0
      ? "(none given)"
      : input.references.map((r, i) => `${i + 1}. ${r}`).join("\n");
  return [
    { role: "system", content: judgeSystemPrompt(universe) },
    {
      role: "user",
      content: [
        "PROMPT:",
        input.prompt,
        "",
        "MODEL COMPLETION:",
        input.completion,
        "",
        "ACTUAL CONTINUATION IN THE BOOK:",
        references,
      ].join("\n"),
    },
  ];
}

const VERDICT = /MODEL_FAMILIARITY\s*:\s*\**\s*([0-3])\s*\/\s*3/gi;

/**
 * Reads `MODEL_FAMILIARITY: X/3` from a judge answer. Returns null when the line is missing or the
 * answer states different scores (an ambiguous verdict is not guessed at).
 */
export function parseFamiliarityAnswer(answer: string): FamiliarityScore | null {
  const values = new Set([...answer.matchAll(VERDICT)].map((m) => Number(m[1])));
  return values.size === 1 ? ([...values][0] as FamiliarityScore) : null;
}

/**
 * Familiarity judge backed by an OpenAI-compatible chat model. An answer without a readable verdict
 * is asked again (with a reminder of the format) up to `maxAttempts` times and then reported as a
 * failure, never as a 0. A failing endpoint also yields failures, but several in a row abort the run
 * with the endpoint's {@link ServiceError}, since every remaining call would fail the same way.
 */
export class LlmJudge implements FamiliarityJudge {
  readonly name: string;
  private readonly maxAttempts: number;
  private readonly maxServiceFailures: number;
  private readonly maxTokens: number;
  private serviceFailuresInARow = 0;
  /** Verdicts given and failures so far, for the caller to tell a judge that judged nothing. */
  readonly tally = { judged: 0, failed: 0, lastFailure: "" };

  constructor(
    private readonly chat: ChatCompleter,
    private readonly opts: LlmJudgeOptions,
  ) {
    this.name = `llm(${chat.model})`;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.maxServiceFailures = Math.max(1, opts.maxConsecutiveServiceFailures ?? 3);
    this.maxTokens = opts.maxTokens ?? 400;
  }

  async judge(input: JudgeInput): Promise<JudgeVerdict> {
    const verdict = await this.ask(input);
    if (verdict.score === null) {
      this.tally.failed++;
      this.tally.lastFailure = verdict.failure;
    } else {
      this.tally.judged++;
    }
    return verdict;
  }

  private async ask(input: JudgeInput): Promise<JudgeVerdict> {
    const messages = buildJudgeMessages(input, this.opts.universe);
    let lastAnswer = "";
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let answer: string;
      try {
        answer = await this.chat.complete(messages, { temperature: 0, maxTokens: this.maxTokens });
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        if (++this.serviceFailuresInARow >= this.maxServiceFailures) throw err;
        return { score: null, failure: err.message };
      }
      this.serviceFailuresInARow = 0;
      const score = parseFamiliarityAnswer(answer);
      if (score !== null) return { score, reason: answer.trim() };
      lastAnswer = answer;
      messages.push(
        { role: "assistant", content: answer },
        { role: "user", content: "Your answer did not end with one line MODEL_FAMILIARITY: X/3 (X = 0, 1, 2 or 3). Give your verdict in that form." },
      );
    }
    const excerpt = lastAnswer.length > 120 ? `${lastAnswer.slice(0, 120)}...` : lastAnswer;
    return {
      score: null,
      failure: `no MODEL_FAMILIARITY verdict after ${this.maxAttempts} attempts (last answer: ${JSON.stringify(excerpt)})`,
    };
  }
}
