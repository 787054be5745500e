// Compiles ggml's CPU backend from the llama.cpp source node-llama-cpp bundles, for the instruction
// set of the machine it runs on, as a dynamic backend library the addon loads instead of the
// prebuilt variants. Same source and ABI as the prebuilt libggml-base it links against; only the
// compiler run differs (the prebuilt zen4 variant reached 75 GFLOP/s on an fp32 GEMM where this
// build reached 169 on the same machine, bench/results/engine.json). Everything here is best effort: any failure leaves the
// prebuilt variants in charge and says so.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

// ggml's CMake options for x86 and the /proc/cpuinfo flags each one needs; ggml's own feature
// check (ggml_backend_score) tests the same set when the library loads.
const FEATURES = [
  ["GGML_SSE42", ["sse4_2"]],
  ["GGML_AVX", ["avx"]],
  ["GGML_F16C", ["f16c"]],
  ["GGML_FMA", ["fma"]],
  ["GGML_AVX2", ["avx2"]],
  ["GGML_BMI2", ["bmi2"]],
  ["GGML_AVX_VNNI", ["avx_vnni"]],
  ["GGML_AVX512", ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"]],
  ["GGML_AVX512_VBMI", ["avx512vbmi"]],
  ["GGML_AVX512_VNNI", ["avx512_vnni"]],
  ["GGML_AVX512_BF16", ["avx512_bf16"]],
];

/** The CPU flags /proc/cpuinfo lists for the first core. */
export function cpuFlags(cpuinfo = readFileSync("/proc/cpuinfo", "utf8")) {
  const line = cpuinfo.split("\n").find((l) => l.startsWith("flags"));
  return new Set(line ? line.slice(line.indexOf(":") + 1).trim().split(/\s+/) : []);
}

/** The ggml options this CPU supports, and a short name for the library ("avx512", "avx2", ...). */
export function chooseFeatures(flags) {
  const options = FEATURES.filter(([, need]) => need.every((f) => flags.has(f))).map(([option]) => option);
  const level = options.includes("GGML_AVX512") ? "avx512" : options.includes("GGML_AVX2") ? "avx2" : options.includes("GGML_AVX") ? "avx" : "sse";
  return { options, level };
}

/** Every cpuinfo flag the choice looks at: the build records which of them were present. */
export const CHECKED_FLAGS = [...new Set(FEATURES.flatMap(([, need]) => need))].sort();

/** The library a build for these CPU flags makes, and the cpu-backend.json it records (less its time). */
export function describeBuild(flags) {
  const { options, level } = chooseFeatures(flags);
  return { library: `libggml-cpu-source-${level}.so`, options, checked: CHECKED_FLAGS, flags: CHECKED_FLAGS.filter((f) => flags.has(f)) };
}

function warn(message) {
  console.warn(`lethe: ${message}; lethe will use the prebuilt ggml CPU variants (slower, same results)`);
}

/**
 * Builds `outDir/libggml-cpu-source-<level>.so` and `outDir/cpu-backend.json` unless they exist for
 * this CPU's flags already. LETHE_CPU_BACKEND=prebuilt skips the build. `flags` (a subset of this
 * CPU's) builds for a lesser CPU: bench/cpu-isa.ts measures the AVX2 build on an AVX-512 machine.
 */
export function buildCpuBackend({ srcDir, outDir, force, flags = cpuFlags() }) {
  const descriptor = join(outDir, "cpu-backend.json");
  if (process.env.LETHE_CPU_BACKEND === "prebuilt") {
    rmSync(descriptor, { force: true });
    console.log("lethe: LETHE_CPU_BACKEND=prebuilt, not compiling ggml's CPU backend");
    return;
  }
  const build = describeBuild(flags);
  const { library, options } = build;
  if (!force && existsSync(descriptor)) {
    const old = JSON.parse(readFileSync(descriptor, "utf8"));
    if (old.library === library && JSON.stringify(old.flags) === JSON.stringify(build.flags) && existsSync(join(outDir, library))) return;
  }
  rmSync(descriptor, { force: true });
  mkdirSync(outDir, { recursive: true });
  try {
    execFileSync("cmake", ["--version"], { stdio: "ignore" });
  } catch {
    warn("cmake is not installed (apt-get install cmake, then npm run build:native)");
    return;
  }

  const cmakeDir = join(outDir, "cmake");
  const log = join(outDir, "build.log");
  const started = Date.now();
  console.log(`lethe: compiling ggml's CPU backend for this CPU (${options.map((o) => o.slice(5)).join(" ")}) into ${library}, about a minute`);
  const configure = [
    "-S", srcDir, "-B", cmakeDir,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    "-DGGML_BACKEND_DL=ON",
    // Explicit options rather than GGML_NATIVE: they define what ggml_backend_score checks, so a
    // library copied to a CPU without them is refused instead of crashing with SIGILL.
    "-DGGML_NATIVE=OFF",
    ...FEATURES.map(([option]) => `-D${option}=${options.includes(option) ? "ON" : "OFF"}`),
    // The prebuilt libraries use ggml's own thread pool; OpenMP measured no faster here.
    "-DGGML_OPENMP=OFF",
    // Link against the already loaded prebuilt libggml-base.so (unversioned soname, no rpath).
    "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
    "-DCMAKE_SKIP_RPATH=ON",
    "-DGGML_CCACHE=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_COMMON=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
  ];
  try {
    const run = (args) => execFileSync("cmake", args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, timeout: 15 * 60_000 });
    let output = run(configure);
    output = Buffer.concat([output, run(["--build", cmakeDir, "--target", "ggml-cpu", "-j", String(availableParallelism())])]);
    writeFileSync(log, output);
  } catch (e) {
    writeFileSync(log, Buffer.concat([e.stdout ?? Buffer.alloc(0), e.stderr ?? Buffer.alloc(0), Buffer.from(String(e.message))]));
    warn(`compiling ggml's CPU backend failed (log: ${log})`);
    return;
  }
  const built = join(cmakeDir, "bin", "libggml-cpu.so");
  if (!existsSync(built)) {
    warn(`the CPU backend build produced no ${built} (log: ${log})`);
    return;
  }
  copyFileSync(built, join(outDir, library + ".tmp"));
  renameSync(join(outDir, library + ".tmp"), join(outDir, library));
  const seconds = Math.round((Date.now() - started) / 1000);
  const record = { ...build, seconds };
  writeFileSync(descriptor + ".tmp", JSON.stringify(record, null, 2) + "\n");
  renameSync(descriptor + ".tmp", descriptor);
  console.log(`lethe: built ${join(outDir, library)} in ${seconds} s`);
}
