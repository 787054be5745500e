// Label building spread over worker threads: the same labels as building them in the caller, in the
// caller's order, and a bad input fails with the caller's typed error.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { InputError } from "../../../src/errors.js";
import { LabelWorkers } from "../../../src/unlearn/whp/label-workers.js";
import { buildLabels, type LabelInputs } from "../../../src/unlearn/whp/labels.js";
import { SeededRandom } from "../../../src/util/random.js";

const workers = LabelWorkers.start(3);
after(() => workers.close());

function block(seed: number, n = 40, vocab = 300): LabelInputs {
  const random = new SeededRandom(seed);
  const original = Array.from({ length: n }, () => Math.floor(random.nextFloat() * vocab));
  const baseLogits = Float32Array.from({ length: n * vocab }, () => random.nextFloat() * 6 - 3);
  const reinforcedLogits = Float32Array.from(baseLogits, (x) => x + (random.nextFloat() < 0.05 ? 2 : 0));
  const alignment = { original, translated: original, anchors: [], map: Int32Array.from(original, (_, i) => i), translatedText: "" };
  return { alignment, baseLogits, reinforcedLogits, vocab, alpha: 5, topK: 4, rules: { tail: 4 }, seed };
}

test("workers build the same labels as the calling thread, in order", async () => {
  const expected = Array.from({ length: 7 }, (_, i) => buildLabels(block(i + 1)));
  const built = await workers.build(Array.from({ length: 7 }, (_, i) => block(i + 1)));
  assert.equal(built.length, 7);
  built.forEach((b, i) => {
    assert.deepEqual(b.target, expected[i]!.target);
    assert.deepEqual(b.weight, expected[i]!.weight);
    assert.deepEqual(b.stats.entropy, expected[i]!.stats.entropy);
    assert.equal(b.k, 8);
  });
});

test("a bad input handed to a worker fails with the same typed error", async () => {
  const inputs = [block(1), { ...block(2), alpha: -1 }, block(3)];
  await assert.rejects(workers.build(inputs), (e: unknown) => e instanceof InputError && /alpha/.test(e.message));
  // The pool still works afterwards.
  assert.equal((await workers.build([block(4), block(5)])).length, 2);
});
