import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { defaultRegistry, runCli } from "../../src/cli/main.js";

/** An in-memory stream that records what is written, standing in for stdout/stderr. */
export function memoryStream(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 100, write: (s: string) => chunks.push(s), text: () => chunks.join("") };
}

/** Runs `lethe ARGV --threads 1` in-process with `cwd` as its working directory; returns exit code, stdout, stderr. */
export async function runLetheIn(cwd: string, ...argv: string[]) {
  const stdout = memoryStream();
  const stderr = memoryStream();
  const code = await runCli([...argv, "--threads", "1"], { stdout, stderr, env: {}, cwd }, defaultRegistry());
  return { code, out: stdout.text(), err: stderr.text() };
}

/**
 * A folder no file can be created in. Permission bits do not stop root, so as root it is one the
 * kernel refuses to everybody (/sys/kernel); otherwise a fresh read-only folder under `dir`.
 */
export function unwritableFolder(dir: string): string {
  if (process.getuid?.() === 0) return "/sys/kernel";
  const folder = join(dir, "read-only");
  mkdirSync(folder, { recursive: true });
  chmodSync(folder, 0o555);
  return folder;
}
