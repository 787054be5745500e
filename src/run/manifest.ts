/**
 * The manifest of a run directory (`manifest.json`): which command made the directory and a record
 * per stage of what ran, with which configuration and inputs, and what it produced.
 */
import { FileFormatError } from "../errors.js";

/** The manifest's file name inside a run directory. */
export const MANIFEST_FILE = "manifest.json";

/** The manifest layout version this code reads and writes. */
export const MANIFEST_VERSION = 1;

/**
 * What a finished stage recorded about one output, to tell later whether it is still what the stage
 * wrote (see `verifyOutputs` in stages.ts).
 */
export interface OutputHash {
  /** Hex SHA-256 of the file; for a directory, of its files' relative paths and hashes. */
  sha256: string;
  /** `statSignature` (hash.ts) when hashed: while it holds, the file was not written since. */
  stat: string;
}

/**
 * What is known about one stage. `running` is written when the stage starts, so a stage that never
 * reached `done` (a crash, kill -9) is recognisably unfinished; `failed` records a thrown error.
 */
export interface StageRecord {
  name: string;
  status: "running" | "done" | "failed";
  /** {@link hashConfig} of the stage's configuration. */
  configHash: string;
  /** Input role -> {@link fingerprintFile} of the file. */
  inputHashes: Record<string, string>;
  /** Output names, relative to the run directory. */
  outputs: string[];
  /**
   * Output name -> its hash, for `done` records. Manifests written before lethe recorded these lack
   * it, and still load (see `verifyOutputs` in stages.ts).
   */
  outputHashes?: Record<string, OutputHash>;
  startedAt: string;
  finishedAt?: string;
  /** Wall-clock seconds the stage took. */
  wallS?: number;
  /** What the stage chose to report (losses, counts); JSON. */
  stats?: Record<string, unknown>;
  /** The failure message, for `failed`. */
  error?: string;
}

/** The whole manifest. */
export interface Manifest {
  version: number;
  /** The command that owns the directory, e.g. `unlearn`; a directory serves one kind only. */
  kind: string;
  createdAt: string;
  updatedAt: string;
  stages: StageRecord[];
}

/** A new, empty manifest of `kind`. */
export function newManifest(kind: string, now = new Date()): Manifest {
  return { version: MANIFEST_VERSION, kind, createdAt: now.toISOString(), updatedAt: now.toISOString(), stages: [] };
}

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");

const isOutputHashes = (v: unknown): v is Record<string, OutputHash> =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((h) => typeof h === "object" && h !== null && typeof h.sha256 === "string" && typeof h.stat === "string");

function checkRecord(r: unknown, where: string): string | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return `${where} is not an object`;
  const s = r as Record<string, unknown>;
  if (typeof s.name !== "string" || s.name === "") return `${where}.name is not a stage name`;
  if (!["running", "done", "failed"].includes(s.status as string)) return `${where}.status is not running, done or failed`;
  if (typeof s.configHash !== "string") return `${where}.configHash is not a string`;
  if (!isStringRecord(s.inputHashes)) return `${where}.inputHashes is not an object of strings`;
  if (!Array.isArray(s.outputs) || !s.outputs.every((o) => typeof o === "string")) return `${where}.outputs is not a list of names`;
  if (s.outputHashes !== undefined && !isOutputHashes(s.outputHashes)) return `${where}.outputHashes is not an object of { sha256, stat }`;
  if (typeof s.startedAt !== "string") return `${where}.startedAt is not a string`;
  if (s.stats !== undefined && (typeof s.stats !== "object" || s.stats === null)) return `${where}.stats is not an object`;
  return undefined;
}

/**
 * Parses and checks manifest text; `path` names the file in errors. Throws FileFormatError for
 * anything but a well-formed manifest of a known version.
 */
export function parseManifest(text: string, path: string): Manifest {
  const fix = `delete ${path} to start the run over (finished stages will be recomputed)`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = text.trim() === "" ? "it is empty" : (err as Error).message;
    throw new FileFormatError(`${path} is not valid JSON: ${why}`, fix, { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FileFormatError(`${path} is not a lethe run manifest (not a JSON object)`, fix);
  }
  const m = value as Record<string, unknown>;
  if (m.version !== MANIFEST_VERSION) {
    throw new FileFormatError(
      `${path} has manifest version ${JSON.stringify(m.version)}; this lethe reads version ${MANIFEST_VERSION}`,
      typeof m.version === "number" && m.version > MANIFEST_VERSION ? "upgrade lethe, or use another --run-dir" : fix,
    );
  }
  const problem =
    typeof m.kind !== "string" || m.kind === ""
      ? "kind is missing"
      : typeof m.createdAt !== "string" || typeof m.updatedAt !== "string"
        ? "createdAt/updatedAt are missing"
        : !Array.isArray(m.stages)
          ? "stages is not a list"
          : m.stages.map((r, i) => checkRecord(r, `stages[${i}]`)).find((p) => p !== undefined);
  if (problem !== undefined) throw new FileFormatError(`${path} is damaged: ${problem}`, fix);
  return value as Manifest;
}
