import assert from "node:assert/strict";
import { test } from "node:test";
import { MinHeap } from "../../src/tokenizer/heap.js";

test("pops items in the order of the comparator", () => {
  const heap = new MinHeap<number>((a, b) => a < b);
  for (const x of [5, 3, 9, 1, 7, 3, 0, 8]) heap.push(x);
  assert.equal(heap.size, 8);
  const out: number[] = [];
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x);
  assert.deepEqual(out, [0, 1, 3, 3, 5, 7, 8, 9]);
  assert.equal(heap.pop(), undefined);
});

test("orders compound keys: larger count first, then smaller key", () => {
  const heap = new MinHeap<{ count: number; key: number }>((x, y) => x.count > y.count || (x.count === y.count && x.key < y.key));
  heap.push({ count: 2, key: 9 });
  heap.push({ count: 5, key: 4 });
  heap.push({ count: 5, key: 1 });
  heap.push({ count: 1, key: 0 });
  assert.deepEqual([heap.pop(), heap.pop(), heap.pop(), heap.pop()].map((e) => e?.key), [1, 4, 9, 0]);
});
