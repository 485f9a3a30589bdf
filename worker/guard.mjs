// The worker's entry point: the Rust worker (built by worker-build into build/) behind a guard that makes
// sure every request still ends properly when the Rust side cannot — a panic (Rust aborts, the wasm
// instance traps and is rebuilt for the next request) or an error thrown out of it.
//
// - A request in flight when the wasm instance dies gets the API's JSON error shape (500, INTERNAL); an
//   answer already streaming gets a final `error` event and ends.
// - For a question, the Rust worker (rebuilt) is then asked to record it: the question and a call-log row
//   saying the answer failed, under the same authentication as the question.
// Nothing else lives here: routing, auth and every rule are in the Rust worker.
import { WorkerEntrypoint } from "cloudflare:workers";
import RustWorker from "./build/index.js";
import { Events } from "./events.mjs";
import { queueMicrotask } from "./microtasks.mjs";

export { DatasetStore, ProviderHealthStore, UserHub } from "./build/index.js";

// Installed before any request, so the wasm futures' queue only ever calls this one.
globalThis.queueMicrotask = queueMicrotask;

const FAILED_ANSWER = "https://guard.internal/__guard/failed-answer";
const CHAT = /^\/api\/v1\/chat(\/stream)?$/;
const INTERNAL = { code: "INTERNAL", message: "something went wrong; please try again" };

// What to do for each request in flight when the wasm instance dies.
const inFlight = new Set();
function instanceDied(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return;
  for (const fail of [...inFlight]) fail();
}
addEventListener("error", (event) => instanceDied(event.error));
addEventListener("unhandledrejection", (event) => instanceDied(event.reason));

const errorResponse = () =>
  new Response(JSON.stringify({ error: INTERNAL }), {
    status: 500,
    headers: { "content-type": "application/json" },
  });

// The final `error` event, numbered after the last event relayed (`last` is `[session_id, stream_id, seq]`).
const errorEvent = ([sessionId, streamId, seq]) =>
  new TextEncoder().encode(
    `data: ${JSON.stringify({ type: "error", data: INTERNAL, session_id: sessionId, stream_id: streamId, seq: seq + 1 })}\n\n`,
  );

// The conversation a question is in, for an error sent before any event of its answer.
const sessionOf = async (question) => {
  try {
    return String((await question.clone().json()).session_id ?? "");
  } catch {
    return "";
  }
};

export default class Guard extends WorkerEntrypoint {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__guard/")) return new Response(null, { status: 404 });
    const question = request.method === "POST" && CHAT.test(url.pathname) ? request.clone() : null;
    const rust = new RustWorker(this.ctx, this.env);
    let died;
    const dead = new Promise((resolve) => (died = resolve));
    const fail = () => died();
    inFlight.add(fail);
    const recordFailure = () => question && this.ctx.waitUntil(this.record(question));
    let response;
    try {
      response = await Promise.race([rust.fetch(request), dead.then(() => null)]);
    } catch (error) {
      console.error("the worker failed:", error);
      response = null;
    }
    const streaming = response?.body && (response.headers.get("content-type") || "").startsWith("text/event-stream");
    if (streaming) return this.guardStream(response, new Events(await sessionOf(question)), dead, fail, recordFailure);
    inFlight.delete(fail);
    if (response) return response;
    recordFailure();
    return errorResponse();
  }

  // Relays an answer's events; if the stream breaks or the instance dies before a final event, the client
  // gets an `error` event instead of a stream that just stops.
  guardStream(response, events, dead, fail, recordFailure) {
    const reader = response.body.getReader();
    let ended = false;
    const end = (controller) => {
      inFlight.delete(fail);
      if (!ended) {
        ended = true;
        controller.enqueue(errorEvent(events.last));
        controller.close();
        recordFailure();
      }
    };
    const body = new ReadableStream({
      start: (controller) => {
        dead.then(() => end(controller));
      },
      pull: async (controller) => {
        if (ended) return;
        try {
          const { done, value } = await reader.read();
          if (ended) return;
          if (done) return end(controller);
          controller.enqueue(value);
          events.push(value);
          if (events.final) {
            ended = true;
            inFlight.delete(fail);
            controller.close();
          }
        } catch (error) {
          console.error("the answer stream broke:", error);
          end(controller);
        }
      },
      cancel: (reason) => {
        inFlight.delete(fail);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }

  // Asks the (rebuilt) Rust worker to record a question whose answer failed.
  async record(question) {
    try {
      const headers = new Headers({ "content-type": "application/json" });
      const auth = question.headers.get("authorization");
      if (auth) headers.set("authorization", auth);
      const body = await question.text();
      const rust = new RustWorker(this.ctx, this.env);
      const response = await rust.fetch(new Request(FAILED_ANSWER, { method: "POST", headers, body }));
      if (!response.ok) console.error("recording a failed answer:", response.status, await response.text());
    } catch (error) {
      console.error("recording a failed answer:", error);
    }
  }
}
