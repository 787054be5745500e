#!/usr/bin/env node
// Builds lethe's one N-API addon against the prebuilt ggml/llama.cpp shared libraries of
// @node-llama-cpp/linux-x64. Headers come from the llama.cpp source that node-llama-cpp bundles
// as a git bundle, so nothing is downloaded. A plain compiler call replaces node-gyp: an N-API
// addon needs only node-api-headers, and node-gyp would fetch Node's headers from the network.
//
// Then it compiles ggml's CPU backend from that same source for this machine's instruction set
// (cpu-backend.mjs): measured 2.2x the prebuilt zen4 variant's GEMM, 1.4-2.0x its training and
// 1.8-2.2x its inference (bench/results/engine.json). When that build fails, lethe runs on the
// prebuilt variants.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { buildCpuBackend } from "./cpu-backend.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");

// Walks up node_modules folders as Node does; some packages hide package.json behind "exports".
function pkgDir(name) {
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${name}`);
  }
}

function fail(cause, fix) {
  console.error(`lethe native build: ${cause}\n  fix: ${fix}`);
  process.exit(1);
}

if (process.platform !== "linux" || process.arch !== "x64") {
  fail(`unsupported platform ${process.platform}-${process.arch}`, "lethe ships for linux-x64 only");
}

let binsDir, bundle, napiInclude, addonInclude;
try {
  binsDir = join(pkgDir("@node-llama-cpp/linux-x64"), "bins", "linux-x64");
  bundle = join(pkgDir("node-llama-cpp"), "llama", "gitRelease.bundle");
  napiInclude = join(pkgDir("node-api-headers"), "include");
  addonInclude = pkgDir("node-addon-api");
} catch (e) {
  fail(`a dependency is missing (${e.message.split("\n")[0]})`, "run `npm ci` in the lethe folder first");
}

const buildDir = join(root, "build");
const srcDir = join(buildDir, "llama-src");
const out = join(buildDir, "lethe.node");
const sources = ["native/addon.cc", "native/infer.cc", "native/trainer.cc", "native/trainer-core.cc", "native/blas.cc"].map((s) => join(root, s));
const headers = ["native/common.h", "native/backend.h", "native/trainer-core.h", "native/blas.h"].map((s) => join(root, s));

mkdirSync(buildDir, { recursive: true });
if (!existsSync(join(srcDir, "include", "llama.h"))) {
  rmSync(srcDir, { recursive: true, force: true });
  console.log("lethe: extracting llama.cpp source from node-llama-cpp's bundle");
  execFileSync("git", ["clone", "-q", bundle, srcDir], { stdio: "inherit" });
}
buildCpuBackend({ srcDir, outDir: join(buildDir, "cpu"), force });

const newest = Math.max(...sources.concat(headers).map((s) => statSync(s).mtimeMs));
if (!force && existsSync(out) && statSync(out).mtimeMs > newest) {
  process.exit(0);
}

const libs = ["libllama.v0.4.0.so", "libggml.v0.4.0.so", "libggml-base.so"].map((l) => join(binsDir, l));
for (const l of libs) if (!existsSync(l)) fail(`missing ${l}`, "reinstall @node-llama-cpp/linux-x64@3.21.1 (npm ci)");

const args = [
  "-std=c++17", "-O2", "-fPIC", "-shared", "-Wall", "-Wno-unused-parameter",
  "-fexceptions", "-DNAPI_VERSION=8", "-DNAPI_CPP_EXCEPTIONS", "-DNODE_ADDON_API_DISABLE_DEPRECATED",
  `-I${napiInclude}`, `-I${addonInclude}`,
  `-I${join(srcDir, "include")}`, `-I${join(srcDir, "ggml", "include")}`,
  ...sources,
  ...libs,
  `-Wl,-rpath,${binsDir}`,
  "-lpthread",
  "-o", out + ".tmp",
];
console.log("lethe: compiling native addon");
try {
  execFileSync(process.env.CXX || "g++", args, { stdio: "inherit" });
} catch {
  fail("the C++ compiler failed (see above)", "install g++ (apt-get install g++) and rerun `npm run build:native`");
}
renameSync(out + ".tmp", out);
writeFileSync(join(buildDir, "bins-dir.txt"), binsDir);
console.log(`lethe: built ${out}`);
