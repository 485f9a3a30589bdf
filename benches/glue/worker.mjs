// Each path makes one runtime call `n` times (a query parameter), so benches/glue.mjs can time it from
// outside: inside workerd the clock stands still while JavaScript runs. `/baseline` makes none.
// - `queueMicrotask`, `then`: how a wasm future is woken — workerd's queueMicrotask, or a resolved
//   promise's reaction (worker/microtasks.mjs);
// - `release`, `keep`: a finished stream's reader unlocked from 60 frames deep (the stack trace of the
//   TypeError it makes is capped at 100 frames, as in the worker's glue), or let go (worker/src/body.rs);
// - `date`, `now`: a `Date` object made to read the clock, or `Date.now()` (worker/src/util.rs).
const resolved = Promise.resolve();
const deep = (depth, f) => (depth === 0 ? f() : deep(depth - 1, f));

async function closedReaders(n) {
  const readers = [];
  for (let i = 0; i < n; i++) {
    const reader = new ReadableStream({ start: (c) => c.close() }).getReader();
    await reader.read();
    readers.push(reader);
  }
  return readers;
}

const CALLS = {
  baseline: () => {},
  queueMicrotask: (n, task) => { for (let i = 0; i < n; i++) queueMicrotask(task); },
  then: (n, task) => { for (let i = 0; i < n; i++) resolved.then(task).catch(reportError); },
  date: (n) => { for (let i = 0; i < n; i++) new Date().getTime(); },
  now: (n) => { for (let i = 0; i < n; i++) Date.now(); },
  release: (n, _, readers) => deep(60, () => readers.forEach((r) => r.releaseLock())),
  keep: () => {},
};

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const what = url.pathname.slice(1);
    const n = Number(url.searchParams.get("n") ?? 1000);
    if (!(what in CALLS)) return new Response(`no call ${what}`, { status: 404 });
    Error.stackTraceLimit = 100;
    // Readers are made for every path that takes them, so both pay for making them.
    const readers = what === "release" || what === "keep" ? await closedReaders(n) : [];
    let ran = 0;
    CALLS[what](n, () => ran++, readers);
    await new Promise((done) => setTimeout(done, 0));
    return new Response(String(ran));
  },
};
