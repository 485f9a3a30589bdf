// Resident memory of a running `wrangler dev` round by round: in each round every one of `--users` users
// asks one question at once, read to its end; then the workerd process's memory is printed, split by what
// holds it. DataSage (`--secret`) or the floor (`--floor`, benches/floor/) — run both the same way to tell
// the runtime's cost of the shape from DataSage's own.
//
//   node benches/memory.mjs --base http://127.0.0.1:8799 --secret <JWT_SECRET> \
//     --pid "$(pgrep -f 'workerd serve.*inspector-addr')" --users 50 --rounds 10 [--ws]
//
// DataSage's questions go over SSE, or with `--ws` over each user's own socket, opened before the first
// round and kept open.
//
// `--pid` is the workerd that runs the worker (with one `wrangler dev` running, the one with an inspector
// address; the other serves wrangler's proxy). "native" is tcmalloc's heap (SQLite, streams, the C++ side
// of every request and response…), "V8" its pointer cage (the JS heaps of every isolate). tcmalloc keeps
// what is freed for reuse, so the figures are high-water marks.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string" },
    secret: { type: "string" },
    floor: { type: "boolean", default: false },
    ws: { type: "boolean", default: false },
    pid: { type: "string" },
    users: { type: "string", default: "50" },
    rounds: { type: "string", default: "10" },
    question: { type: "string", default: "How many rows are there?" },
  },
});

if (!opt.base || !opt.pid || !(opt.floor || opt.secret)) {
  console.error("usage: memory.mjs --base <url> --pid <workerd pid> (--secret <JWT_SECRET> [--ws] | --floor) [--users N] [--rounds N]");
  process.exit(2);
}

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, iat: now, exp: now + 3600 })}`;
  return `${body}.${createHmac("sha256", opt.secret).update(body).digest("base64url")}`;
}

/** A socket of `user`'s on DataSage's hub, open. */
async function socket(user) {
  const headers = { authorization: `Bearer ${token(user)}`, "content-type": "application/json", origin: opt.base };
  const grant = await fetch(`${opt.base}/api/v1/ws/ticket`, { method: "POST", headers, body: "{}" });
  if (!grant.ok) throw new Error(`no ticket: ${grant.status} ${await grant.text()}`);
  const { ticket } = await grant.json();
  const ws = new WebSocket(`${opt.base.replace(/^http/, "ws")}/api/v1/ws/chat?ticket=${ticket}`, { headers: { origin: opt.base } });
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  return ws;
}

/** A question over `ws`, waited for to its final event. */
function askOver(ws) {
  const session = randomUUID();
  return new Promise((done, fail) => {
    ws.onmessage = (m) => {
      if (!m.data.includes(session)) return;
      if (m.data.includes('"type":"error"')) fail(new Error(`the question was refused: ${m.data}`));
      if (m.data.includes('"type":"complete"')) done();
    };
    ws.send(JSON.stringify({ type: "chat", data: { request_id: randomUUID(), message: opt.question, session_id: session } }));
  });
}

/** The `k`-th user's question, read to its end: over SSE or a socket to DataSage, or as an OpenAI request to
 * the floor. */
async function ask(run, k) {
  if (opt.ws) return askOver(sockets[k]);
  const resp = opt.floor
    ? await fetch(opt.base, {
      method: "POST",
      headers: { "x-user": `memory-${run}-${k}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: opt.question }] }),
    })
    : await fetch(`${opt.base}/api/v1/chat/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token(`memory-${run}-${k}`)}`, "content-type": "application/json" },
      body: JSON.stringify({ message: opt.question, session_id: randomUUID() }),
    });
  if (!resp.ok) throw new Error(`the question was refused: ${resp.status} ${await resp.text()}`);
  for await (const _ of resp.body) { /* read to the end */ }
}

/** The process's resident memory in MB: in all, V8's pointer cage (the rw mapping that a reservation of
 * 3 GB or more follows) and the largest other anonymous mapping (tcmalloc's heap). */
function memory() {
  const mappings = [];
  for (const line of readFileSync(`/proc/${opt.pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) mappings.push({ size: parseInt(head[2], 16) - parseInt(head[1], 16), perms: head[3], file: head[4], kb: 0 });
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) mappings[mappings.length - 1].kb = Number(rss[1]);
  }
  const cage = mappings.find((m, i) => !m.file && mappings[i + 1]?.perms === "---p" && mappings[i + 1].size >= 3 * 2 ** 30);
  const native = mappings.filter((m) => !m.file && m !== cage).sort((a, b) => b.kb - a.kb)[0];
  const mb = (kb = 0) => kb / 1024;
  const sum = (ms) => mb(ms.reduce((a, m) => a + m.kb, 0));
  return { total: sum(mappings), native: mb(native?.kb), v8: mb(cage?.kb), files: sum(mappings.filter((m) => m.file)) };
}

const show = (label, m) =>
  console.log(`${label.padEnd(9)} ${m.total.toFixed(1).padStart(7)} MB   native ${m.native.toFixed(1).padStart(6)} MB   ` +
    `V8 ${m.v8.toFixed(1).padStart(6)} MB   other ${(m.total - m.native - m.v8 - m.files).toFixed(1).padStart(5)} MB   ` +
    `the binary and files ${m.files.toFixed(1).padStart(5)} MB`);

const run = randomUUID().slice(0, 8);
show("start", memory());
const sockets = opt.ws ? await Promise.all(Array.from({ length: Number(opt.users) }, (_, k) => socket(`memory-${run}-${k}`))) : [];
if (opt.ws) show("sockets", memory());
for (let round = 1; round <= Number(opt.rounds); round++) {
  await Promise.all(Array.from({ length: Number(opt.users) }, (_, k) => ask(run, k)));
  show(`round ${round}`, memory());
}
