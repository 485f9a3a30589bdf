// How the Rust worker's futures are woken. js-sys's task queue calls `queueMicrotask` each time a future
// is woken: about 45 times in a short answer, 1,270 times in a 500-token one. workerd's
// `queueMicrotask` wraps every callback in a new native function to carry the async context along:
// 2.5 µs a call on the 2-core development machine (benches/glue.mjs), where the reaction of a resolved
// promise, V8's own microtask, which carries the context by itself, is 0.1 µs. Plain JavaScript with no
// runtime imports, so Node tests it as it is (tests/js/microtasks.test.mjs).

const resolved = Promise.resolve();

// `queueMicrotask` as a promise reaction: the task runs in V8's one microtask queue, in order with every
// other microtask and promise reaction, and what it throws is reported as `queueMicrotask` reports it.
export function queueMicrotask(task, report = (error) => reportError(error)) {
  resolved.then(task).catch(report);
}
