/**
 * The paper's source of anchored terms: an LLM reads the forget corpus chunk by chunk and lists the
 * idiosyncratic expressions with generic counterparts (Hogwarts → Mystic Academy). Any
 * OpenAI-compatible endpoint works (OpenAI, Ollama, llama.cpp's server); the API key is read from
 * the environment variable named by `apiKeyEnv` and never logged. The client retries transient
 * failures; a final failure is a ServiceError and the stage fails, keeping earlier stages' outputs.
 * So does an endpoint that never answers with JSON: its "no terms" would otherwise pass for a
 * finding.
 */
import { ServiceError } from "../../errors.js";
import { ChatClient, type ChatClientDeps, type ChatMessage } from "../../llm/chat.js";
import { validateDictionary, mergeDictionaries, type AnchorDictionary, type AnchorEntry } from "./dictionary.js";

export interface LlmAnchorOptions {
  baseUrl: string;
  model: string;
  apiKeyEnv?: string;
  maxRetries?: number;
  timeoutMs?: number;
  /** Characters per request. */
  chunkChars: number;
  /** Requests at most (chunks are spread over the corpus). */
  maxChunks: number;
  signal?: AbortSignal;
  onChunk?(done: number, total: number): void;
  /** Told about retries and about answers that gave no terms. */
  onWarning?(message: string): void;
  deps?: ChatClientDeps;
}

const SYSTEM = [
  "You help make a language model forget a fictional universe.",
  "Read the passage and list its idiosyncratic expressions: names of characters, places, objects, spells, groups and invented words that belong to this universe only.",
  "For each, give a generic counterpart that fits the same sentence but reveals nothing about the universe (a common first name for a person, a plain noun phrase for a place or thing).",
  'Answer with one JSON object only, mapping each expression exactly as written in the passage to its counterpart, e.g. {"Hogwarts": "Mystic Academy", "Quidditch": "Skyball", "Ron": "Tom"}.',
].join(" ");

/** Cuts documents into at most `maxChunks` chunks of about `chunkChars` characters, at paragraph breaks where possible. */
export function corpusChunks(docs: readonly { text: string }[], chunkChars: number, maxChunks: number): string[] {
  const chunks: string[] = [];
  for (const { text } of docs) {
    let rest = text;
    while (rest.trim() !== "") {
      let cut = rest.length <= chunkChars ? rest.length : rest.lastIndexOf("\n\n", chunkChars);
      if (cut < chunkChars / 2) cut = Math.min(rest.length, chunkChars);
      chunks.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  if (chunks.length <= maxChunks) return chunks;
  // Spread the requests evenly over the corpus rather than reading only its beginning.
  return Array.from({ length: maxChunks }, (_, i) => chunks[Math.floor((i * chunks.length) / maxChunks)]!);
}

/**
 * Parses an LLM answer: the first JSON object in the text (models often wrap it in prose or code
 * fences). Entries that are not strings, or that validation refuses (empty, the term itself), are
 * skipped; the rest get source "llm".
 */
export function parseLlmAnchors(answer: string): AnchorDictionary {
  const object = firstJsonObject(answer);
  return object === undefined ? [] : anchorsOf(object);
}

/** The JSON object from the first `{` to the last `}` of an answer, if that is one. */
function firstJsonObject(answer: string): Record<string, unknown> | undefined {
  const start = answer.indexOf("{");
  const end = answer.lastIndexOf("}");
  if (start < 0 || end <= start) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.slice(start, end + 1));
  } catch {
    return undefined;
  }
  return parsed === null || typeof parsed !== "object" || Array.isArray(parsed) ? undefined : (parsed as Record<string, unknown>);
}

function anchorsOf(object: Record<string, unknown>): AnchorDictionary {
  const entries: AnchorEntry[] = [];
  for (const [term, generic] of Object.entries(object)) {
    const generics = typeof generic === "string" ? [generic] : Array.isArray(generic) ? generic.filter((g): g is string => typeof g === "string") : [];
    try {
      entries.push(...validateDictionary([{ term, generics, source: "llm" }], "LLM answer"));
    } catch {
      // An unusable pair from the model is dropped, not fatal.
    }
  }
  return entries;
}

type EndpointOptions = Pick<LlmAnchorOptions, "baseUrl" | "model" | "apiKeyEnv" | "maxRetries" | "timeoutMs" | "onWarning" | "deps">;

function clientFor(options: EndpointOptions): ChatClient {
  return new ChatClient(
    {
      baseUrl: options.baseUrl,
      model: options.model,
      apiKeyEnv: options.apiKeyEnv,
      maxRetries: options.maxRetries,
      timeoutMs: options.timeoutMs,
      onRetry: options.onWarning,
    },
    options.deps,
  );
}

/**
 * Asks the endpoint for a one-token answer before the run's long work, so that a dead endpoint is
 * found in seconds, not after reinforcement; `onInfo` hears what is being waited for, and for how long.
 */
export async function checkLlmEndpoint(options: EndpointOptions & { signal?: AbortSignal; onInfo(message: string): void }): Promise<void> {
  options.onInfo(`checking that the LLM at ${options.baseUrl} (model ${options.model}) answers`);
  await clientFor(options).check({ signal: options.signal, onWait: (s) => options.onInfo(`still waiting for ${options.baseUrl} to answer (${s} s)`) });
}

/**
 * Asks the LLM chunk by chunk and merges its answers (the earlier chunk's generic wins). Answers
 * without a JSON object are skipped with a warning; if no answer holds one, the endpoint is not
 * following the instructions and this is a ServiceError. An LLM that finds no terms is warned about.
 */
export async function llmDictionary(docs: readonly { text: string }[], options: LlmAnchorOptions): Promise<AnchorDictionary> {
  const client = clientFor(options);
  const chunks = corpusChunks(docs, options.chunkChars, options.maxChunks);
  const found: AnchorDictionary[] = [];
  const unreadable: string[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const messages: ChatMessage[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: chunk },
    ];
    const answer = await client.complete(messages, { temperature: 0, maxTokens: 1024, seed: 0, signal: options.signal });
    const object = firstJsonObject(answer);
    if (object === undefined) unreadable.push(answer);
    else found.push(anchorsOf(object));
    options.onChunk?.(i + 1, chunks.length);
  }
  const excerpt = (answer: string) => JSON.stringify(answer.length > 120 ? `${answer.slice(0, 120)}...` : answer);
  if (chunks.length > 0 && unreadable.length === chunks.length) {
    throw new ServiceError(
      `the LLM at ${options.baseUrl} (model ${options.model}) answered none of ${chunks.length} passages with a JSON object of terms; first answer: ${excerpt(unreadable[0]!)}`,
      "use an instruction-following chat model at --llm-model, or give the terms yourself with --dictionary",
    );
  }
  if (unreadable.length > 0) {
    options.onWarning?.(`${unreadable.length} of ${chunks.length} LLM answers held no JSON object and gave no terms; first: ${excerpt(unreadable[0]!)}`);
  }
  const merged = mergeDictionaries(...found);
  if (merged.length === 0) options.onWarning?.(`the LLM at ${options.baseUrl} proposed no usable anchored terms in ${chunks.length} passages`);
  return merged;
}
