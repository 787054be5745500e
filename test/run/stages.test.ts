import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RunDir, describeStageEvent, pendingStages, runStages, staleReason, STAGING_DIR, LOCK_FILE, type Stage, type StageEvent, type StageRecord } from "../../src/run/index.js";
import { B_LINES, stages as slowStages } from "./fixtures/slow-stages.js";
import { withTempDir } from "../helpers/temp.js";

/** A three-stage pipeline where each stage appends its tag to the previous output; counts runs. */
function pipeline(dir: string, config: { a: number; b: number; c: number }, input: string) {
  const runs: string[] = [];
  const stage = (name: "a" | "b" | "c", from: string | undefined): Stage => ({
    name,
    config: { value: config[name] },
    inputs: from === undefined ? { source: input } : { previous: join(dir, "run", from) },
    outputs: [`${name}.txt`],
    async run(ctx) {
      runs.push(name);
      const before = readFileSync(from === undefined ? input : join(dir, "run", from), "utf8");
      writeFileSync(ctx.tmpPath(`${name}.txt`), `${before}${name}${config[name]}\n`);
      return { length: before.length };
    },
  });
  return { runs, stages: [stage("a", undefined), stage("b", "a.txt"), stage("c", "b.txt")] };
}

async function runPipeline(dir: string, config = { a: 1, b: 1, c: 1 }, opts: { rerunFrom?: string } = {}) {
  const input = join(dir, "input.txt");
  if (!existsSync(input)) writeFileSync(input, "in\n");
  const { runs, stages } = pipeline(dir, config, input);
  const events: StageEvent[] = [];
  const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
  try {
    const outcomes = await runStages(runDir, stages, { ...opts, onEvent: (e) => events.push(e) });
    return { runs, outcomes, events, reasons: events.flatMap((e) => (e.type === "start" ? [`${e.stage}: ${e.reason}`] : [])) };
  } finally {
    await runDir.close();
  }
}

test(
  "a first run runs every stage; a second run skips them all and keeps their stats",
  withTempDir("stages", async (dir) => {
    const first = await runPipeline(dir);
    assert.deepEqual(first.runs, ["a", "b", "c"]);
    assert.deepEqual(first.reasons, ["a: not run yet", 'b: the earlier stage "a" ran again', 'c: the earlier stage "a" ran again']);
    assert.equal(readFileSync(join(dir, "run", "c.txt"), "utf8"), "in\na1\nb1\nc1\n");
    const record = first.outcomes[2].record;
    assert.equal(record.status, "done");
    assert.deepEqual(record.outputs, ["c.txt"]);
    assert.deepEqual(record.stats, { length: 9 });
    assert.ok(typeof record.wallS === "number" && record.wallS >= 0);
    assert.ok(record.finishedAt !== undefined && record.finishedAt >= record.startedAt);

    const second = await runPipeline(dir);
    assert.deepEqual(second.runs, []);
    assert.deepEqual(second.events.map((e) => e.type), ["skip", "skip", "skip"]);
    assert.deepEqual(second.outcomes.map((o) => o.ran), [false, false, false]);
    assert.deepEqual(second.outcomes[2].record.stats, { length: 9 });
  }),
);

test(
  "a changed config re-runs that stage and every later one",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    const changed = await runPipeline(dir, { a: 1, b: 2, c: 1 });
    assert.deepEqual(changed.runs, ["b", "c"]);
    assert.deepEqual(changed.reasons, ["b: its configuration changed", 'c: the earlier stage "b" ran again']);
    assert.equal(readFileSync(join(dir, "run", "c.txt"), "utf8"), "in\na1\nb2\nc1\n");
  }),
);

test(
  "a changed input re-runs from the stage that reads it",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    writeFileSync(join(dir, "input.txt"), "other\n");
    const changed = await runPipeline(dir);
    assert.deepEqual(changed.runs, ["a", "b", "c"]);
    assert.equal(changed.reasons[0], 'a: its input "source" changed');
    assert.equal(readFileSync(join(dir, "run", "c.txt"), "utf8"), "other\na1\nb1\nc1\n");
  }),
);

test(
  "a deleted output re-runs its stage, and later stages see the new content",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    rmSync(join(dir, "run", "b.txt"));
    const again = await runPipeline(dir);
    assert.deepEqual(again.runs, ["b", "c"]);
    assert.equal(again.reasons[0], 'b: its output "b.txt" is missing');
  }),
);

test(
  "rerunFrom forces a stage and those after it",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    const forced = await runPipeline(dir, undefined, { rerunFrom: "c" });
    assert.deepEqual(forced.runs, ["c"]);
    assert.deepEqual(forced.reasons, ["c: a re-run was requested"]);
  }),
);

test(
  "a failing stage is recorded as failed, leaves no output, and runs again next time",
  withTempDir("stages", async (dir) => {
    const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
    let fail = true;
    const stage: Stage = {
      name: "flaky",
      config: {},
      outputs: ["out.txt"],
      async run(ctx) {
        writeFileSync(ctx.tmpPath("out.txt"), "partial");
        if (fail) throw new Error("boom");
      },
    };
    try {
      await assert.rejects(runStages(runDir, [stage]), /boom/);
      const record = runDir.record("flaky");
      assert.equal(record?.status, "failed");
      assert.equal(record?.error, "boom");
      assert.equal(existsSync(join(dir, "run", "out.txt")), false);
      assert.equal(existsSync(join(dir, "run", STAGING_DIR, "out.txt")), false);
      fail = false;
      const events: StageEvent[] = [];
      await runStages(runDir, [stage], { onEvent: (e) => events.push(e) });
      assert.deepEqual(events[0], { type: "start", stage: "flaky", index: 0, count: 1, reason: "the previous attempt failed (boom)" });
      assert.equal(readFileSync(join(dir, "run", "out.txt"), "utf8"), "partial");
    } finally {
      await runDir.close();
    }
  }),
);

test(
  "a stage must write what it declares, and only that",
  withTempDir("stages", async (dir) => {
    const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
    try {
      const lazy: Stage = { name: "lazy", config: {}, outputs: ["x"], async run() {} };
      await assert.rejects(runStages(runDir, [lazy]), /output "x" was never written/);
      const sneaky: Stage = { name: "sneaky", config: {}, outputs: ["x"], async run(ctx) { ctx.tmpPath("y"); } };
      await assert.rejects(runStages(runDir, [sneaky]), /stage "sneaky" writes "y", which it does not declare/);
      const twice: Stage[] = [lazy, { ...lazy, name: "other" }];
      await assert.rejects(runStages(runDir, twice), /stages "lazy" and "other" both declare output "x"/);
      await assert.rejects(runStages(runDir, [lazy, lazy]), /stage name "lazy" is empty or used twice/);
      await assert.rejects(runStages(runDir, [lazy], { rerunFrom: "nope" }), /there is no stage "nope"/);
    } finally {
      await runDir.close();
    }
  }),
);

test(
  "an aborted signal stops before the next stage",
  withTempDir("stages", async (dir) => {
    const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
    const controller = new AbortController();
    const ran: string[] = [];
    const make = (name: string): Stage => ({
      name,
      config: {},
      outputs: [name],
      async run(ctx) {
        ran.push(name);
        writeFileSync(ctx.tmpPath(name), name);
        controller.abort(new Error("stop please"));
      },
    });
    try {
      await assert.rejects(runStages(runDir, [make("one"), make("two")], { signal: controller.signal }), /stop please/);
      assert.deepEqual(ran, ["one"]);
      assert.equal(runDir.record("one")?.status, "done", "the stage that finished is kept");
    } finally {
      await runDir.close();
    }
  }),
);

test("staleReason compares the record with the stage's current facts", () => {
  const record: StageRecord = {
    name: "s",
    status: "done",
    configHash: "c1",
    inputHashes: { model: "m1", corpus: "k1" },
    outputs: ["o"],
    startedAt: "t",
  };
  const facts = { configHash: "c1", inputHashes: { model: "m1", corpus: "k1" }, missingOutputs: [] };
  assert.equal(staleReason(record, facts), undefined);
  assert.equal(staleReason(record, facts, "forced"), "forced");
  assert.equal(staleReason(undefined, facts), "not run yet");
  assert.equal(staleReason({ ...record, status: "running" }, facts), "the previous attempt did not finish");
  assert.equal(staleReason({ ...record, status: "failed" }, facts), "the previous attempt failed");
  assert.equal(staleReason(record, { ...facts, configHash: "c2" }), "its configuration changed");
  assert.equal(staleReason(record, { ...facts, inputHashes: { model: "m2", corpus: "k1" } }), 'its input "model" changed');
  assert.equal(staleReason(record, { ...facts, inputHashes: { model: "m1" } }), 'its input "corpus" was removed');
  assert.equal(staleReason(record, { ...facts, inputHashes: { ...facts.inputHashes, extra: "e" } }), 'it has a new input "extra"');
  assert.equal(staleReason(record, { ...facts, missingOutputs: ["o"] }), 'its output "o" is missing');
});

test(
  "kill -9 in the middle of a stage: no half output under its final name, and a rerun finishes it",
  withTempDir("stages", async (dir) => {
    const runPath = join(dir, "run");
    const fixture = fileURLToPath(new URL("./fixtures/slow-stages.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, runPath, "200"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("writing\n")) resolve();
      });
      child.on("exit", () => reject(new Error(`the child exited before writing: ${stdout}\n${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    assert.deepEqual(stdout.split("\n").filter((l) => l !== ""), ["start a", "done a", "start b", "writing"]);

    // The killed stage left its partial output in staging only, a `running` record and a stale lock.
    assert.equal(existsSync(join(runPath, "out", "b.txt")), false);
    assert.ok(readFileSync(join(runPath, STAGING_DIR, "out", "b.txt"), "utf8").startsWith("line 0\n"));
    const manifest = JSON.parse(readFileSync(join(runPath, "manifest.json"), "utf8")) as { stages: StageRecord[] };
    assert.deepEqual(manifest.stages.map((s) => [s.name, s.status]), [["a", "done"], ["b", "running"]]);
    assert.ok(existsSync(join(runPath, LOCK_FILE)));

    const runDir = await RunDir.open(runPath, { kind: "test" });
    const events: string[] = [];
    try {
      await runStages(runDir, slowStages(runPath, 0), { onEvent: (e) => events.push(`${e.type} ${e.stage}${e.type === "start" ? `: ${e.reason}` : ""}`) });
    } finally {
      await runDir.close();
    }
    assert.deepEqual(events, ["skip a", "start b: the previous attempt did not finish", "done b"]);
    const expected = Array.from({ length: B_LINES }, (_, i) => `line ${i}\n`).join("");
    assert.equal(readFileSync(join(runPath, "out", "b.txt"), "utf8"), expected);
    assert.deepEqual(readdirSync(runPath).sort(), ["a.txt", "manifest.json", "out"]);
    assert.deepEqual(readdirSync(join(runPath, "out")), ["b.txt"]);
  }),
);

test(
  "stage outputs can be directories",
  withTempDir("stages", async (dir) => {
    const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
    try {
      const stage: Stage = {
        name: "shards",
        config: { n: 2 },
        outputs: ["shards"],
        async run(ctx) {
          const out = ctx.tmpPath("shards");
          mkdirSync(out);
          for (const i of [0, 1]) writeFileSync(join(out, `${i}.bin`), String(i));
        },
      };
      await runStages(runDir, [stage]);
      assert.deepEqual(readdirSync(join(dir, "run", "shards")).sort(), ["0.bin", "1.bin"]);
    } finally {
      await runDir.close();
    }
  }),
);

test("describeStageEvent gives one readable line per event", () => {
  const record: StageRecord = { name: "labels", status: "done", configHash: "", inputHashes: {}, outputs: [], startedAt: "t", wallS: 12.34 };
  const at = { stage: "labels", index: 2, count: 4 };
  assert.equal(describeStageEvent({ type: "skip", ...at, record }), "stage 3/4 labels: skipped (up to date)");
  assert.equal(describeStageEvent({ type: "start", ...at, reason: "its configuration changed" }), "stage 3/4 labels: running (its configuration changed)");
  assert.equal(describeStageEvent({ type: "done", ...at, record }), "stage 3/4 labels: done in 12.3 s");
  assert.equal(describeStageEvent({ type: "fail", ...at, error: new Error("out of memory") }), "stage 3/4 labels: failed: out of memory");
});

test(
  "pendingStages names the stages a run would run, without running any",
  withTempDir("stages", async (dir) => {
    const pending = async (config: { a: number; b: number; c: number }, rerunFrom?: string) => {
      const { runs, stages } = pipeline(dir, config, join(dir, "input.txt"));
      const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
      try {
        return await pendingStages(runDir, stages, rerunFrom);
      } finally {
        await runDir.close();
        assert.deepEqual(runs, [], "nothing ran");
      }
    };
    writeFileSync(join(dir, "input.txt"), "in\n");
    assert.deepEqual(await pending({ a: 1, b: 1, c: 1 }), ["a", "b", "c"]);
    await runPipeline(dir);
    assert.deepEqual(await pending({ a: 1, b: 1, c: 1 }), []);
    assert.deepEqual(await pending({ a: 1, b: 2, c: 1 }), ["b", "c"]);
    assert.deepEqual(await pending({ a: 1, b: 1, c: 1 }, "c"), ["c"]);
  }),
);

// Integrity of finished work: a finished stage is trusted only while its outputs still hash the same.

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "run", "manifest.json"), "utf8")) as { stages: StageRecord[] };

test(
  "an output rewritten in place after its stage finished re-runs that stage instead of passing as up to date",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    const b = join(dir, "run", "b.txt");
    const { atime, mtime } = statSync(b);
    // Same size, other bytes, and the modification time put back: only the content tells.
    writeFileSync(b, readFileSync(b, "utf8").replace("b1", "XX"));
    utimesSync(b, atime, mtime);
    const again = await runPipeline(dir);
    assert.deepEqual(again.runs, ["b", "c"]);
    assert.equal(again.reasons[0], `b: ${b} changed since the stage finished`);
    assert.equal(readFileSync(join(dir, "run", "c.txt"), "utf8"), "in\na1\nb1\nc1\n");
    const record = manifestOf(dir).stages.find((s) => s.name === "b")!;
    assert.match(record.outputHashes?.["b.txt"]?.sha256 ?? "", /^[0-9a-f]{64}$/);
  }),
);

test(
  "an output touched but not changed keeps its stage, and the new file times are recorded",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    const before = manifestOf(dir).stages.find((s) => s.name === "a")!.outputHashes!["a.txt"];
    const future = new Date(Date.now() + 3600_000);
    utimesSync(join(dir, "run", "a.txt"), future, future);
    const again = await runPipeline(dir);
    assert.deepEqual(again.runs, []);
    const after = manifestOf(dir).stages.find((s) => s.name === "a")!.outputHashes!["a.txt"];
    assert.equal(after.sha256, before.sha256);
    assert.notEqual(after.stat, before.stat);
    assert.deepEqual(manifestOf(dir).stages.map((s) => s.name), ["a", "b", "c"], "records keep their order");
  }),
);

test(
  "pendingStages counts a stage whose output changed as pending",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    writeFileSync(join(dir, "run", "c.txt"), "damaged\n");
    const { stages } = pipeline(dir, { a: 1, b: 1, c: 1 }, join(dir, "input.txt"));
    const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
    try {
      assert.deepEqual(await pendingStages(runDir, stages), ["c"]);
    } finally {
      await runDir.close();
    }
  }),
);

test(
  "a manifest without output hashes (older lethe): outputs untouched since the stage finished are adopted, later-written ones re-run",
  withTempDir("stages", async (dir) => {
    await runPipeline(dir);
    const path = join(dir, "run", "manifest.json");
    const old = manifestOf(dir);
    for (const s of old.stages) delete s.outputHashes;
    writeFileSync(path, JSON.stringify(old));
    // Written into after the stage finished, as through the hard link older lethe published.
    const b = join(dir, "run", "b.txt");
    const later = new Date(Date.parse(old.stages[1].finishedAt!) + 60_000);
    utimesSync(b, later, later);
    const again = await runPipeline(dir);
    assert.deepEqual(again.runs, ["b", "c"]);
    assert.match(again.reasons[0], /^b: .*b\.txt was modified after the stage finished/);
    const adopted = manifestOf(dir).stages.find((s) => s.name === "a")!;
    assert.match(adopted.outputHashes?.["a.txt"]?.sha256 ?? "", /^[0-9a-f]{64}$/, "the untouched output's hash is recorded");
    assert.deepEqual((await runPipeline(dir)).runs, []);
  }),
);

test(
  "a directory output is checked file by file",
  withTempDir("stages", async (dir) => {
    let runs = 0;
    const stage: Stage = {
      name: "shards",
      config: {},
      outputs: ["shards"],
      async run(ctx) {
        runs++;
        mkdirSync(join(ctx.tmpPath("shards"), "deep"), { recursive: true });
        writeFileSync(join(ctx.tmpPath("shards"), "one.bin"), "1111");
        writeFileSync(join(ctx.tmpPath("shards"), "deep", "two.bin"), "2222");
      },
    };
    const run = async () => {
      const runDir = await RunDir.open(join(dir, "run"), { kind: "test" });
      try {
        return await runStages(runDir, [stage]);
      } finally {
        await runDir.close();
      }
    };
    await run();
    await run();
    assert.equal(runs, 1);
    writeFileSync(join(dir, "run", "shards", "deep", "two.bin"), "2223");
    await run();
    assert.equal(runs, 2);
    assert.equal(readFileSync(join(dir, "run", "shards", "deep", "two.bin"), "utf8"), "2222");
  }),
);
