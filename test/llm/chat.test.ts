import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, InputError, ServiceError } from "../../src/errors.js";
import { ChatClient, type ChatClientConfig } from "../../src/llm/chat.js";
import { LlmJudge } from "../../src/eval/judge/llm-judge.js";
import { chatReply, deadBaseUrl, startChatServer, type CannedReply } from "./fake-chat-server.js";

const KEY = "sk-test-secret-123";

/** Runs `fn` against a scripted server with a client that records its backoff waits instead of sleeping. */
async function withServer(
  script: CannedReply[],
  config: Partial<ChatClientConfig>,
  fn: (client: ChatClient, server: Awaited<ReturnType<typeof startChatServer>>, sleeps: number[]) => Promise<void>,
): Promise<void> {
  const server = await startChatServer(script);
  const sleeps: number[] = [];
  try {
    const client = new ChatClient(
      { baseUrl: server.baseUrl, model: "judge-model", backoffMs: 100, maxRetries: 2, ...config },
      { sleep: async (ms) => void sleeps.push(ms), env: { LETHE_TEST_KEY: KEY } },
    );
    await fn(client, server, sleeps);
  } finally {
    await server.close();
  }
}

test("chat: posts an OpenAI chat request and returns the answer", async () => {
  await withServer([{ body: chatReply("hello") }], { apiKeyEnv: "LETHE_TEST_KEY" }, async (client, server) => {
    const answer = await client.complete([{ role: "user", content: "hi" }], { temperature: 0, maxTokens: 5, seed: 3 });
    assert.equal(answer, "hello");
    const [req] = server.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/v1/chat/completions");
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(req.body, { model: "judge-model", messages: [{ role: "user", content: "hi" }], temperature: 0, max_tokens: 5, seed: 3 });
  });
});

test("chat: without a key setting no authorization header is sent; trailing slashes are fine", async () => {
  const server = await startChatServer([{ body: chatReply("ok") }]);
  try {
    const client = new ChatClient({ baseUrl: server.baseUrl + "/", model: "m" });
    assert.equal(await client.complete([{ role: "user", content: "x" }]), "ok");
    assert.equal(server.requests[0].headers.authorization, undefined);
    assert.equal(server.requests[0].url, "/v1/chat/completions");
  } finally {
    await server.close();
  }
});

test("chat: 500s and malformed replies are retried with exponential backoff", async () => {
  const script = [{ status: 500, body: "boom" }, { body: "<html>not json</html>" }, { body: chatReply("third time") }];
  await withServer(script, {}, async (client, server, sleeps) => {
    assert.equal(await client.complete([{ role: "user", content: "x" }]), "third time");
    assert.equal(server.requests.length, 3);
    assert.deepEqual(sleeps, [100, 200]);
  });
});

test("chat: a 429 waits for Retry-After, capped by maxBackoffMs", async () => {
  const script = [{ status: 429, body: "slow down", headers: { "retry-after": "2" } }, { body: chatReply("ok") }];
  await withServer(script, { maxBackoffMs: 1500 }, async (client, _server, sleeps) => {
    assert.equal(await client.complete([{ role: "user", content: "x" }]), "ok");
    assert.deepEqual(sleeps, [1500]);
  });
});

test("chat: persistent failure is a ServiceError that never shows the key", async () => {
  const echo = { status: 503, body: `upstream rejected Authorization: Bearer ${KEY}` };
  await withServer([echo, echo, echo], { apiKeyEnv: "LETHE_TEST_KEY" }, async (client, server) => {
    await assert.rejects(client.complete([{ role: "user", content: "x" }]), (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.match(err.message, /HTTP 503/);
      assert.match(err.message, /after 3 attempts/);
      assert.ok(!err.message.includes(KEY) && !err.fix.includes(KEY));
      assert.match(err.message, /Bearer \*\*\*/);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });
});

test("chat: a 401 is not retried and the fix names the key's variable", async () => {
  await withServer([{ status: 401, body: { error: "bad key" } }], { apiKeyEnv: "LETHE_TEST_KEY" }, async (client, server) => {
    await assert.rejects(client.complete([{ role: "user", content: "x" }]), (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.match(err.message, /HTTP 401/);
      assert.doesNotMatch(err.message, /attempts/);
      assert.match(err.fix, /LETHE_TEST_KEY/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });
});

// The margins (a 300 ms timeout against 1.5 s delays) hold on a loaded 2-core machine.
test("chat: a slow endpoint times out per attempt and is retried", async () => {
  const script = [{ delayMs: 1500, body: chatReply("late") }, { body: chatReply("fast") }];
  await withServer(script, { timeoutMs: 300 }, async (client) => {
    assert.equal(await client.complete([{ role: "user", content: "x" }]), "fast");
  });
  await withServer([{ delayMs: 1500 }, { delayMs: 1500 }, { delayMs: 1500 }], { timeoutMs: 300 }, async (client) => {
    await assert.rejects(client.complete([{ role: "user", content: "x" }]), /no answer within 300 ms \(after 3 attempts\)/);
  });
});

test("chat: a dead port is a ServiceError telling to check the endpoint", async () => {
  const sleeps: number[] = [];
  const baseUrl = await deadBaseUrl();
  const client = new ChatClient({ baseUrl, model: "m", maxRetries: 1 }, { sleep: async (ms) => void sleeps.push(ms) });
  await assert.rejects(client.complete([{ role: "user", content: "x" }]), (err: unknown) => {
    assert.ok(err instanceof ServiceError);
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.fix, /running and reachable/);
    return true;
  });
  assert.equal(sleeps.length, 1);
});

test("chat: a cancelled request stops without retrying", async () => {
  await withServer([{ delayMs: 2000, body: chatReply("late") }], {}, async (client, server) => {
    const controller = new AbortController();
    // Cancelled once the server holds the request, however long the request took to arrive.
    const watch = setInterval(() => server.requests.length > 0 && controller.abort(), 5);
    try {
      await assert.rejects(client.complete([{ role: "user", content: "x" }], { signal: controller.signal }), CancelledError);
    } finally {
      clearInterval(watch);
    }
    assert.equal(server.requests.length, 1);
  });
});

test("chat: configuration errors are input errors", () => {
  assert.throws(() => new ChatClient({ baseUrl: "not a url", model: "m" }), InputError);
  assert.throws(() => new ChatClient({ baseUrl: "ftp://host/v1", model: "m" }), InputError);
  assert.throws(() => new ChatClient({ baseUrl: "http://127.0.0.1:1/v1", model: " " }), InputError);
  assert.throws(
    () => new ChatClient({ baseUrl: "http://127.0.0.1:1/v1", model: "m", apiKeyEnv: "LETHE_UNSET_KEY" }, { env: {} }),
    (err: unknown) => err instanceof InputError && /LETHE_UNSET_KEY/.test(err.message),
  );
  assert.throws(() => new ChatClient({ baseUrl: "http://127.0.0.1:1/v1", model: "m", timeoutMs: 0 }), InputError);
});

test("LLM judge over HTTP: a malformed answer is re-asked, a 500 is retried by the client", async () => {
  const script = [
    { body: chatReply("Looks like Oz to me.") },
    { status: 500, body: "hiccup" },
    { body: chatReply("It names the Emerald City.\nMODEL_FAMILIARITY: 3/3") },
  ];
  await withServer(script, {}, async (client, server) => {
    const judge = new LlmJudge(client, { universe: "the Oz books" });
    const verdict = await judge.judge({ prompt: "They walked to the", completion: " Emerald City", references: ["Emerald City."] });
    assert.equal(verdict.score, 3);
    assert.equal(server.requests.length, 3);
    const retried = server.requests[2].body as { messages: { role: string }[]; temperature: number };
    assert.deepEqual(retried.messages.map((m) => m.role), ["system", "user", "assistant", "user"]);
    assert.equal(retried.temperature, 0);
  });
});

test("chat: check() keeps telling how long it has waited on a server that accepts and never answers, and each retry", async () => {
  const notices: string[] = [];
  const waits: number[] = [];
  const hang = { delayMs: 2000, body: chatReply("too late") };
  await withServer([hang, hang], { timeoutMs: 300, maxRetries: 1, onRetry: (n) => void notices.push(n) }, async (client, server) => {
    await assert.rejects(
      client.check({ noticeMs: 100, onWait: (s) => void waits.push(s) }),
      (err: unknown) => err instanceof ServiceError && /no answer within 300 ms \(after 2 attempts\)/.test(err.message),
    );
    assert.equal(server.requests.length, 2);
    assert.equal((server.requests[0].body as { max_tokens: number }).max_tokens, 1, "the check asks for one token");
  });
  assert.ok(waits.length >= 2, `waited silently: ${waits.length} notices`);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /no answer within 300 ms; attempt 2 of 2 in 0\.1 s/);
});

test("LLM judge: keeps a tally of verdicts and failures, for callers to tell a judge that judged nothing", async () => {
  const prose = { body: chatReply("Hard to say.") };
  await withServer([{ body: chatReply("MODEL_FAMILIARITY: 0/3") }, prose, prose, prose], {}, async (client) => {
    const judge = new LlmJudge(client, { universe: "the Oz books" });
    const input = { prompt: "They walked to the", completion: " river", references: ["Emerald City."] };
    assert.equal((await judge.judge(input)).score, 0);
    assert.equal((await judge.judge(input)).score, null);
    assert.deepEqual({ ...judge.tally, lastFailure: judge.tally.lastFailure.slice(0, 30) }, { judged: 1, failed: 1, lastFailure: "no MODEL_FAMILIARITY verdict a" });
  });
});
