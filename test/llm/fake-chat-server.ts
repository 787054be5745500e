import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted reply: a status, a body (objects are sent as JSON), optional headers and delay. */
export interface CannedReply {
  status?: number;
  body?: string | object;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** A request the server received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** The body of a successful chat completion whose answer is `content`. */
export function chatReply(content: string): object {
  return { id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] };
}

/**
 * An OpenAI-style chat endpoint on 127.0.0.1 (random port) that answers from a script, one reply
 * per request in order, and 500 once the script runs out.
 */
export async function startChatServer(script: CannedReply[]): Promise<{
  baseUrl: string;
  requests: ReceivedRequest[];
  close: () => Promise<void>;
}> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep the raw text; the test will see it
      }
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const reply = script[requests.length - 1] ?? { status: 500, body: "script exhausted" };
      setTimeout(() => {
        if (res.destroyed) return;
        const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {});
        res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
        res.end(text);
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port that was just freed). */
export async function deadBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
