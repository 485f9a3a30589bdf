// The worker's `queueMicrotask` (worker/microtasks.mjs), which wakes every Rust future: tasks run in the
// order they were queued, before any timer, in turn with promise reactions — and one that throws is
// reported without stopping the ones after it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { queueMicrotask } from "../../worker/microtasks.mjs";

test("tasks run in the order queued, in turn with promise reactions and before timers", async () => {
  const ran = [];
  setTimeout(() => ran.push("timer"), 0);
  queueMicrotask(() => ran.push("a"));
  Promise.resolve().then(() => ran.push("reaction"));
  queueMicrotask(() => {
    ran.push("b");
    queueMicrotask(() => ran.push("queued by b"));
  });
  await new Promise((done) => setTimeout(done, 5));
  assert.deepEqual(ran, ["a", "reaction", "b", "queued by b", "timer"]);
});

test("a task that throws is reported, and the tasks after it still run", async () => {
  const reported = [];
  const ran = [];
  const report = (error) => reported.push(error.message);
  queueMicrotask(() => {
    throw new Error("a trap");
  }, report);
  queueMicrotask(() => ran.push("after"), report);
  await new Promise((done) => setTimeout(done, 5));
  assert.deepEqual(reported, ["a trap"]);
  assert.deepEqual(ran, ["after"]);
});
