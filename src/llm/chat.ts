/**
 * lethe's one way of talking to a remote LLM (the familiarity judge, LLM-proposed anchor terms): any
 * OpenAI-compatible chat endpoint, hosted or local. It retries transient failures, because a long
 * evaluation should not die on one dropped request, and keeps the API key out of every message.
 */
import { CancelledError, InputError, ServiceError } from "../errors.js";

/** One chat message in the OpenAI chat-completions format. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Where and how to reach an OpenAI-compatible chat endpoint (OpenAI, llama-server, vLLM, Ollama, ...). */
export interface ChatClientConfig {
  /** API root up to and including the version, e.g. `http://127.0.0.1:8080/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  model: string;
  /** Name of the environment variable holding the API key; the key itself is never logged or echoed. */
  apiKeyEnv?: string;
  /** Per-attempt limit in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Further attempts after a retryable failure: network error, timeout, 408, 429, 5xx, malformed reply (default 3). */
  maxRetries?: number;
  /** First backoff in milliseconds, doubled per retry (default 500). */
  backoffMs?: number;
  /** Longest single wait, also the cap on a server's Retry-After (default 10 000). */
  maxBackoffMs?: number;
  /** Told why and when each retry happens, so a slow or failing endpoint is never silent. */
  onRetry?(notice: string): void;
}

/** Sampling settings of one request. */
export interface ChatRequestOptions {
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  signal?: AbortSignal;
}

/** Replaceable effects, so tests need neither real waits nor a real environment. */
export interface ChatClientDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  env?: Record<string, string | undefined>;
}

/** Why one attempt failed, and whether trying again could help. */
interface AttemptFailure {
  problem: string;
  retryable: boolean;
  retryAfterMs?: number;
  status?: number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A small client for `POST {baseUrl}/chat/completions` that returns the assistant's text. It retries
 * transient failures with exponential backoff and reports everything else as a {@link ServiceError}
 * whose message names the URL and the problem but never the key.
 */
export class ChatClient {
  readonly model: string;
  private readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly apiKeyEnv: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: ((notice: string) => void) | undefined;

  constructor(config: ChatClientConfig, deps: ChatClientDeps = {}) {
    let base: URL;
    try {
      base = new URL(config.baseUrl);
    } catch {
      throw new InputError(`chat endpoint URL "${config.baseUrl}" is not a valid URL`, "give a URL such as http://127.0.0.1:8080/v1");
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new InputError(`chat endpoint URL "${config.baseUrl}" is not http(s)`, "give a URL such as http://127.0.0.1:8080/v1");
    }
    if (config.model.trim() === "") {
      throw new InputError("no chat model name given", "name the model the endpoint should use");
    }
    this.url = config.baseUrl.replace(/\/+$/, "") + "/chat/completions";
    this.model = config.model;
    this.apiKeyEnv = config.apiKeyEnv;
    if (config.apiKeyEnv !== undefined) {
      const key = (deps.env ?? process.env)[config.apiKeyEnv];
      if (key === undefined || key === "") {
        throw new InputError(
          `environment variable ${config.apiKeyEnv} (the chat API key) is not set`,
          `set ${config.apiKeyEnv} to the key, or drop the API key setting for an endpoint that needs none`,
        );
      }
      this.apiKey = key;
    }
    this.timeoutMs = positive(config.timeoutMs ?? 60_000, "timeoutMs");
    this.maxRetries = Math.max(0, Math.floor(config.maxRetries ?? 3));
    this.backoffMs = Math.max(0, config.backoffMs ?? 500);
    this.maxBackoffMs = Math.max(0, config.maxBackoffMs ?? 10_000);
    this.fetchFn = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? sleepFor;
    this.onRetry = config.onRetry;
  }

  /**
   * Asks for a one-token answer, so that a dead endpoint, a wrong model name or a bad key is found
   * before any long work rather than after it. Retries as {@link complete} does; while no answer
   * has come, `onWait` is told every `noticeMs` (default 10 000) how long it has been.
   */
  async check(opts: { signal?: AbortSignal; onWait?(seconds: number): void; noticeMs?: number } = {}): Promise<void> {
    const t0 = performance.now();
    const timer = setInterval(() => opts.onWait?.(Math.round((performance.now() - t0) / 1000)), opts.noticeMs ?? 10_000);
    try {
      await this.complete([{ role: "user", content: "Reply with the word OK." }], { temperature: 0, maxTokens: 1, signal: opts.signal });
    } finally {
      clearInterval(timer);
    }
  }

  /** Sends `messages` and returns the first choice's text, retrying transient failures. */
  async complete(messages: readonly ChatMessage[], opts: ChatRequestOptions = {}): Promise<string> {
    const body = JSON.stringify({
      model: this.model,
      messages,
      ...(opts.temperature !== undefined && { temperature: opts.temperature }),
      ...(opts.maxTokens !== undefined && { max_tokens: opts.maxTokens }),
      ...(opts.seed !== undefined && { seed: opts.seed }),
      ...(opts.stop !== undefined && { stop: opts.stop }),
    });
    let last: AttemptFailure | undefined;
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      if (attempt > 0) {
        const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
        const wait = Math.min(this.maxBackoffMs, Math.max(backoff, last?.retryAfterMs ?? 0));
        this.onRetry?.(`chat endpoint ${this.url}: ${last?.problem}; attempt ${attempt + 1} of ${this.maxRetries + 1} in ${(wait / 1000).toFixed(1)} s`);
        await this.sleep(wait);
      }
      if (opts.signal?.aborted) throw new CancelledError("the chat request");
      const outcome = await this.attempt(body, opts.signal);
      if (typeof outcome === "string") return outcome;
      last = outcome;
      if (!outcome.retryable) break;
    }
    const attempts = last?.retryable ? ` (after ${this.maxRetries + 1} attempts)` : "";
    throw new ServiceError(`chat endpoint ${this.url}: ${last?.problem}${attempts}`, this.fixFor(last));
  }

  private async attempt(body: string, signal: AbortSignal | undefined): Promise<string | AttemptFailure> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.fetchFn(this.url, {
        method: "POST",
        headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw new CancelledError("the chat request");
      if (timeout.aborted) return { problem: `no answer within ${this.timeoutMs} ms`, retryable: true };
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { problem: `request failed (${cause?.code ?? cause?.message ?? (err as Error).message})`, retryable: true };
    }
    if (status < 200 || status >= 300) {
      const retryable = status === 408 || status === 429 || status >= 500;
      return {
        problem: `HTTP ${status}: ${this.excerpt(text)}`,
        retryable,
        status,
        retryAfterMs: parseRetryAfter(retryAfter),
      };
    }
    const content = extractContent(text);
    if (content === undefined) {
      return { problem: `reply is not a chat completion: ${this.excerpt(text)}`, retryable: true };
    }
    return content;
  }

  /** The start of a response body, with the key blanked in case a server echoes request headers. */
  private excerpt(text: string): string {
    const short = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    const clean = this.apiKey ? short.split(this.apiKey).join("***") : short;
    return clean.trim() === "" ? "(empty body)" : clean.replace(/\s+/g, " ");
  }

  private fixFor(failure: AttemptFailure | undefined): string {
    if (failure?.status === 401 || failure?.status === 403) {
      return this.apiKeyEnv
        ? `check the API key in ${this.apiKeyEnv} and that it may use model ${this.model}`
        : "set an API key for this endpoint (its environment variable name)";
    }
    if (failure?.status === 404) return `check the endpoint URL and that model ${this.model} exists there`;
    if (failure?.status !== undefined && failure.status < 500) return "check the model name and request settings";
    return `check that the endpoint at ${this.url} is running and reachable, then retry`;
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new InputError(`chat ${name} must be positive, got ${value}`, `set ${name} to a positive number`);
  return value;
}

/** Retry-After as milliseconds (seconds form only; the date form is rare on LLM endpoints). */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** `choices[0].message.content` of a chat-completion body, or undefined if the body is not one. */
function extractContent(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const content = (parsed as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
  return typeof content === "string" ? content : undefined;
}
