// Task-vector arithmetic (src/unlearn/maths/task-vector.ts): moving the base away from the reinforced model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { negateTaskVector } from "../../../src/unlearn/maths/task-vector.js";
import { InputError } from "../../../src/errors.js";

test("negateTaskVector: θ_base − β(θ_reinforced − θ_base)", () => {
  const out = negateTaskVector(Float32Array.of(1, 2, -1), Float32Array.of(2, 2, 1), 0.5);
  assert.deepEqual([...out], [0.5, 2, -2]);
  assert.throws(() => negateTaskVector(Float32Array.of(1), Float32Array.of(1, 2), 1), InputError);
});
