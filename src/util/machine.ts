/**
 * A description of the machine a measurement ran on, stored with benchmark and demo results: timings
 * mean little without the CPU, core count and ggml backend variant that produced them.
 */
import { availableParallelism, cpus, totalmem } from "node:os";

import { backendInfo, resolveThreads } from "../engine/native.js";

/** The machine a measurement ran on, for benchmark results (`bench/results/*.json`). */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gb: number;
  threads: number;
  /** The ggml CPU library that loaded: libggml-cpu-source-<isa>.so when compiled for this machine, else the prebuilt variant (zen4, haswell, ...). */
  cpu_variant: string;
  node: string;
  date: string;
}

/** `threads`: what the measurement asked for (default all cores). */
export function machineInfo(threads?: number): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    threads: resolveThreads(threads),
    cpu_variant: backendInfo().cpuVariant,
    node: process.version,
    date: new Date().toISOString(),
  };
}
