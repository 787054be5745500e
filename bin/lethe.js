#!/usr/bin/env node
// Entry point of the `lethe` command. An installed package runs the compiled CLI in dist/; a dev
// checkout runs the TypeScript sources through tsx, registered in this process (the same as
// `node --import tsx`) so signals, stdio and the exit code need no relaying, unless its build is
// newer than every source file (a stale dist/ would silently run old code).
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/src/cli/main.js", import.meta.url);
const source = new URL("../src/cli/main.ts", import.meta.url);

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(source)) return true;
  return statSync(built).mtimeMs >= newestMtime(fileURLToPath(new URL("../src", import.meta.url)));
}

async function load() {
  if (buildIsCurrent()) return import(built.href);
  if (existsSync(source)) {
    let register;
    try {
      ({ register } = await import("tsx/esm/api"));
    } catch {
      process.stderr.write(
        "error: lethe is not built and tsx is not installed to run it from source\n" +
          "  fix: run `npm run build` (or `npm install` to get tsx) in the lethe checkout\n",
      );
      process.exit(1);
    }
    register();
    return import(source.href);
  }
  process.stderr.write("error: lethe's dist/src/cli/main.js is missing\n  fix: reinstall lethe\n");
  process.exit(1);
}

const { main } = await load();
await main();
