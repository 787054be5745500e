/**
 * Loads a model in a child process first, so that a file llama.cpp aborts on (a GGML_ASSERT ends
 * the whole process, exit 134) costs that model alone: a multi-model evaluation probes each model
 * before any work, reports a crashing one as failed and measures the others.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import {
  CancelledError,
  EngineError,
  FileFormatError,
  InputError,
  InsufficientMemoryError,
  LetheError,
  ServiceError,
  UnsupportedModelError,
} from "../errors.js";

/** What a probe found: the model works, or the typed error it gave, or how it crashed the child. */
export type ProbeResult =
  | { ok: true }
  /** crashed: the child died (a native abort or signal, or gave no answer) rather than report an error. */
  | { ok: false; crashed: boolean; error: LetheError };

export interface ProbeOptions {
  /**
   * Run lethe's header checks before llama.cpp sees the file (default true). false hands the file to
   * llama.cpp as it is, to test what llama.cpp itself survives.
   */
  checks?: boolean;
  /** Kill the child and report a crash after this long; default 300 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const ERROR_CLASSES: Record<string, new (message: string, fix: string) => LetheError> = {
  InputError,
  FileFormatError,
  UnsupportedModelError,
  InsufficientMemoryError,
  EngineError,
  ServiceError,
};

/** The last lines of the child's stderr that say why it died (ggml prints "GGML_ASSERT(...) failed"). */
function crashReason(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim().replace(/\S*\/llama\.cpp\//g, ""))
    .filter((l) => l.length > 0);
  const assert = lines.filter((l) => /GGML_ASSERT|GGML_ABORT|error|terminate|what\(\)/i.test(l)).slice(-2);
  const shown = (assert.length > 0 ? assert : lines.slice(-2)).join(" / ");
  return shown.length > 400 ? `${shown.slice(0, 400)}...` : shown;
}

/** node arguments that run `script` as this module runs: through tsx when lethe runs from its sources. */
function childArgs(script: string): string[] {
  return script.endsWith(".ts") ? ["--import", import.meta.resolve("tsx"), script] : [script];
}

/**
 * Loads `path` in a child process, tokenizes a line, scores it and generates one token. Resolves
 * with the outcome; never rejects except when cancelled (CancelledError).
 */
export function probeModelFile(path: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const ext = fileURLToPath(import.meta.url).endsWith(".ts") ? "ts" : "js";
  const script = fileURLToPath(new URL(`./probe-child.${ext}`, import.meta.url));
  const args = [...childArgs(script), path, options.checks === false ? "unchecked" : "checked"];
  const timeoutMs = options.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new CancelledError(`checking ${path}`));
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      // Keep the end: the reason for a crash is the last thing written.
      stderr = (stderr + s).slice(-16_384);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const onAbort = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const crashed = (how: string) =>
      resolve({
        ok: false,
        crashed: true,
        error: new EngineError(
          `llama.cpp ${how} on ${path}${stderr.trim() ? `: ${crashReason(stderr)}` : ""}`,
          "the model file is malformed in a way lethe's checks do not catch: re-convert it with a current llama.cpp, and report this message so that the check can be added",
        ),
      });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, crashed: true, error: new EngineError(`could not start a process to check ${path}: ${e.message}`, "check that node can be run") });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (options.signal?.aborted) return reject(new CancelledError(`checking ${path}`));
      if (timedOut) return crashed(`did not finish loading and running within ${Math.round(timeoutMs / 1000)} s`);
      const line = stdout.trim().split("\n").pop() ?? "";
      let answer: { ok?: boolean; error?: { name?: string; message?: string; fix?: string } } | undefined;
      try {
        answer = JSON.parse(line) as typeof answer;
      } catch {
        answer = undefined;
      }
      if (code === 0 && answer?.ok === true) return resolve({ ok: true });
      if (code === 0 && answer?.ok === false && answer.error) {
        const { name = "Error", message = "unknown error", fix } = answer.error;
        const Class = ERROR_CLASSES[name];
        const error = Class
          ? new Class(message, fix ?? "check the model file")
          : new EngineError(`checking ${path} failed: ${message}`, "this looks like a bug in lethe; rerun with --verbose and report it");
        return resolve({ ok: false, crashed: false, error });
      }
      crashed(signal ? `aborted the process (${signal})` : `ended the process with exit code ${code}`);
    });
  });
}
