// CPU profile of a running `wrangler dev` under load, from its inspector (the Chrome DevTools protocol):
// what the one local runtime thread spends its time on while `--streams` questions run at once over SSE
// for `--seconds`, each from a new user (or, with `--returning`, each stream's questions from one user).
// Prints where the time went — each sample charged to the innermost DataSage function on its stack, so
// SQLite, D1 and JSON work count against what asked for it — and writes the whole profile (open it in
// Chrome's DevTools) to `--out`.
//
//   node benches/profile.mjs --base http://127.0.0.1:8799 --inspector ws://127.0.0.1:9331/ws \
//     --secret <JWT_SECRET> --streams 10 --seconds 10 --question "How many rows are there?"
//
// Build the worker with DATASAGE_WORKER_NAMES=1 first, or wasm functions have no names.
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string" },
    inspector: { type: "string" },
    secret: { type: "string" },
    streams: { type: "string", default: "10" },
    seconds: { type: "string", default: "10" },
    question: { type: "string", default: "How many rows are there?" },
    out: { type: "string", default: "/tmp/datasage.cpuprofile" },
    top: { type: "string", default: "40" },
    returning: { type: "boolean", default: false },
  },
});

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, iat: now, exp: now + 3600 })}`;
  return `${body}.${createHmac("sha256", opt.secret).update(body).digest("base64url")}`;
}

/** One question of `user` (a new one when none) over SSE, in a new conversation, read to its end. */
async function ask(user = `profile-${randomUUID()}`) {
  const resp = await fetch(`${opt.base}/api/v1/chat/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${token(user)}`, "content-type": "application/json" },
    body: JSON.stringify({ message: opt.question, session_id: randomUUID() }),
  });
  for await (const _ of resp.body) { /* read to the end */ }
}

/** The inspector session: `call(method, params)` → result. */
async function inspector(url) {
  // The inspector takes local origins only (Node sends none of its own).
  const ws = new WebSocket(url, { headers: { origin: "http://localhost" } });
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  let next = 1;
  const waiting = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && waiting.has(msg.id)) waiting.get(msg.id)(msg);
  };
  return {
    call: (method, params = {}) => new Promise((ok) => {
      const id = next++;
      waiting.set(id, ok);
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

/** Each sample's time, charged to the innermost DataSage function on its stack (the work it caused:
 * SQLite, D1's client, JSON, the JS glue…), or to the leaf when no DataSage code is on the stack. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ours = (f) => /datasage_(worker|shared)::/.test(f.functionName);
  const label = (f) => (ours(f) ? f.functionName.replace(/::h[0-9a-f]{16}$/, "") :
    `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() : ""}`.trim());
  const charged = new Map();
  profile.samples.forEach((id, i) => {
    let node = byId.get(id);
    let at = node;
    while (at && !ours(at.callFrame)) at = byId.get(parent.get(at.id));
    const name = label((at ?? node).callFrame);
    charged.set(name, (charged.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...charged.values()].reduce((a, b) => a + b, 0);
  return { total, rows: [...charged.entries()].sort((a, b) => b[1] - a[1]) };
}

const session = await inspector(opt.inspector);
await session.call("Profiler.enable");
await session.call("Profiler.setSamplingInterval", { interval: 200 });
await session.call("Profiler.start");
const until = Date.now() + Number(opt.seconds) * 1000;
let answered = 0;
await Promise.all(Array.from({ length: Number(opt.streams) }, async () => {
  const user = opt.returning ? `profile-${randomUUID()}` : undefined;
  while (Date.now() < until) {
    await ask(user);
    answered++;
  }
}));
const { result } = await session.call("Profiler.stop");
session.close();
writeFileSync(opt.out, JSON.stringify(result.profile));
const { total, rows } = summarize(result.profile);
const idle = rows.filter(([n]) => n.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
console.log(`${answered} answers in ${opt.seconds} s at ${opt.streams} at once; ${(total - idle).toFixed(0)} ms busy of ` +
  `${total.toFixed(0)} ms sampled (${(((total - idle) / answered) || 0).toFixed(2)} ms per answer)`);
for (const [name, ms] of rows.slice(0, Number(opt.top))) {
  console.log(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${name.slice(0, 110)}`);
}
console.log(`whole profile: ${opt.out}`);
