// The guard's view of an answer it relays (worker/events.mjs): however the chunks cut the events, it knows
// how many went out, the answer's ids and whether the last was final — so a broken stream ends with an
// `error` numbered right after what the client has, and a finished one is never given an extra `error`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Events } from "../../worker/events.mjs";

const frame = (type, seq, data = {}) =>
  `data: ${JSON.stringify({ type, data, session_id: "s-1", stream_id: "st-9", seq })}\n\n`;

/** An answer's body: a status, `n` pieces of text, then `end` ("complete", "error" or none). */
function answer(n, end = "complete", big = 0) {
  let body = frame("status", 1, { status: "analyzing", message: "Analyzing query…" });
  for (let i = 0; i < n; i++) body += frame("content", i + 2, { content: `word${i} é 😀 ` });
  if (end) body += frame(end, n + 2, { message: "x".repeat(big) });
  return new TextEncoder().encode(body);
}

/** `bytes` relayed in chunks cut at `cuts`. */
function relay(bytes, cuts) {
  const events = new Events("s-fallback");
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    if (at > from) events.push(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  return events;
}

test("a finished answer is final and numbered, whichever byte the chunks are cut at", () => {
  const bytes = answer(3);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const events = relay(bytes, [cut]);
    assert.deepEqual(events.last, ["s-1", "st-9", 5], `cut at ${cut}`);
    assert.equal(events.final, true, `cut at ${cut}`);
  }
});

test("an answer cut off mid-event counts only its complete events and is not final", () => {
  const bytes = answer(3, "complete");
  const cutOff = bytes.subarray(0, bytes.length - 10);
  for (let cut = 0; cut <= cutOff.length; cut += 7) {
    const events = relay(cutOff, [cut]);
    assert.deepEqual(events.last, ["s-1", "st-9", 4], `cut at ${cut}`);
    assert.equal(events.final, false, `cut at ${cut}`);
  }
});

test("a blank line split between two chunks still ends its event", () => {
  const bytes = answer(2, null);
  const firstEnd = new TextDecoder().decode(bytes).indexOf("\n\n");
  const events = relay(bytes, [firstEnd + 1]);
  assert.deepEqual(events.last, ["s-1", "st-9", 3]);
  assert.equal(events.final, false, "content is not final");
});

test("a final error is final too, and a final event of 100 KB in 1 KB chunks is read from its start", () => {
  assert.equal(relay(answer(1, "error"), []).final, true);
  const bytes = answer(2, "complete", 100_000);
  const cuts = Array.from({ length: Math.ceil(bytes.length / 1024) }, (_, i) => i * 1024);
  const events = relay(bytes, cuts);
  assert.deepEqual(events.last, ["s-1", "st-9", 4]);
  assert.equal(events.final, true);
});

test("a stream broken before its first event keeps the question's conversation and numbers from 0", () => {
  const events = relay(answer(0, null).subarray(0, 20), []);
  assert.deepEqual(events.last, ["s-fallback", "", 0]);
  assert.equal(events.final, false);
  assert.deepEqual(new Events("s-none").last, ["s-none", "", 0]);
});

test("every chunking of a short answer, byte by byte, agrees", () => {
  const bytes = answer(1);
  const events = relay(bytes, Array.from({ length: bytes.length }, (_, i) => i));
  assert.deepEqual(events.last, ["s-1", "st-9", 3]);
  assert.equal(events.final, true);
});
