#!/usr/bin/env node
// Entry point of the `lethe` command. An installed package runs the compiled CLI in dist/; a dev
// checkout without a build runs the TypeScript sources through tsx, registered in this process
// (the same as `node --import tsx`) so signals, stdio and the exit code need no relaying.
import { existsSync } from "node:fs";

const built = new URL("../dist/src/cli/main.js", import.meta.url);
const source = new URL("../src/cli/main.ts", import.meta.url);

async function load() {
  if (existsSync(built)) return import(built.href);
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
