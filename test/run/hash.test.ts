import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, openSync, statSync, utimesSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { FULL_HASH_LIMIT, fingerprintFile, hashConfig, stableStringify } from "../../src/run/hash.js";
import { InputError } from "../../src/errors.js";
import { withTempDir } from "../helpers/temp.js";

test("stableStringify sorts keys at every depth and keeps array order", () => {
  assert.equal(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
  assert.equal(stableStringify([3, 1, 2]), "[3,1,2]");
});

test("stableStringify follows JSON for undefined and toJSON, writes bigints as strings", () => {
  assert.equal(stableStringify({ a: undefined, b: [undefined], c: 10n }), '{"b":[null],"c":"10"}');
  assert.equal(stableStringify({ when: new Date("2024-01-02T03:04:05.000Z") }), '{"when":"2024-01-02T03:04:05.000Z"}');
  assert.equal(stableStringify(undefined), "null");
});

test("stableStringify refuses what JSON would silently mangle", () => {
  assert.throws(() => stableStringify({ lr: NaN }), /config\.lr is NaN/);
  assert.throws(() => stableStringify({ f: () => 1 }), /config\.f is a function/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => stableStringify(cyclic), /config\.self refers back to itself/);
  const shared = { x: 1 };
  assert.equal(stableStringify({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}', "a shared object is not a cycle");
});

test("hashConfig: SHA-256 of the stable JSON; key order does not matter, values do", () => {
  assert.equal(hashConfig({}), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  assert.equal(hashConfig("abc"), "6cc43f858fbb763301637b5af970e2a46b46f461f27e5a0f41e009c59b827b25");
  assert.equal(hashConfig({ lr: 1e-5, steps: 10 }), hashConfig({ steps: 10, lr: 1e-5 }));
  assert.notEqual(hashConfig({ lr: 1e-5, steps: 10 }), hashConfig({ lr: 1e-5, steps: 11 }));
  assert.notEqual(hashConfig({ a: [1, 2] }), hashConfig({ a: [2, 1] }));
});

test(
  "a small file's fingerprint is the SHA-256 of its content, whatever its mtime",
  withTempDir("hash", async (dir) => {
    const path = join(dir, "small.txt");
    writeFileSync(path, "abc");
    assert.equal(await fingerprintFile(path), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    utimesSync(path, new Date(2000, 0, 1), new Date(2000, 0, 1));
    assert.equal(await fingerprintFile(path), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }),
);

test(
  "a large file is fingerprinted by size, mtime and its first and last MiB",
  withTempDir("hash", async (dir) => {
    const path = join(dir, "big.bin");
    const size = FULL_HASH_LIMIT + 1024 * 1024; // 3 MiB: the middle MiB is not sampled
    writeFileSync(path, Buffer.alloc(size, 7));
    const when = new Date(2020, 5, 1);
    utimesSync(path, when, when);
    const original = await fingerprintFile(path);
    assert.match(original, new RegExp(`^${size}:${when.getTime()}:sha256:[0-9a-f]{64}$`));

    const poke = (position: number) => {
      const fd = openSync(path, "r+");
      writeSync(fd, Buffer.from([9]), 0, 1, position);
      closeSync(fd);
      utimesSync(path, when, when);
    };
    poke(Math.floor(size / 2));
    assert.equal(await fingerprintFile(path), original, "a middle edit with the mtime restored goes unseen (documented)");
    poke(size - 1);
    assert.notEqual(await fingerprintFile(path), original, "the last MiB is sampled");
    const afterTail = await fingerprintFile(path);
    utimesSync(path, new Date(2021, 0, 1), new Date(2021, 0, 1));
    assert.notEqual(await fingerprintFile(path), afterTail, "a new mtime counts as a change");
    assert.equal(statSync(path).size, size);
  }),
);

test(
  "a directory is fingerprinted from its files' names and fingerprints",
  withTempDir("hash", async (dir) => {
    const data = join(dir, "data");
    mkdirSync(join(data, "sub"), { recursive: true });
    writeFileSync(join(data, "a.txt"), "a");
    writeFileSync(join(data, "sub", "b.txt"), "b");
    const first = await fingerprintFile(data);
    assert.match(first, /^dir:sha256:[0-9a-f]{64}$/);
    assert.equal(await fingerprintFile(data + "/"), first, "a trailing slash changes nothing");
    writeFileSync(join(data, "sub", "b.txt"), "B");
    assert.notEqual(await fingerprintFile(data), first);
  }),
);

test(
  "a missing input is an InputError naming the path",
  withTempDir("hash", async (dir) => {
    const path = join(dir, "nope.gguf");
    await assert.rejects(fingerprintFile(path), (err: unknown) => err instanceof InputError && err.message === `input ${path} does not exist`);
  }),
);
