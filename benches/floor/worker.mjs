// The floor: the least a chat service with DataSage's shape does on this runtime before it can stream an
// answer, in plain JavaScript with nothing else — what `bench-routing` measures beside the bare platform,
// to tell the runtime's cost of that shape from DataSage's own. Each question goes to its asker's own
// Durable Object (one hop), which counts it in its SQLite (a rate limit's write), makes one D1 round trip
// (a conversation row written and the user's read back, as a question's claim does), calls the provider and
// pipes its stream back. No sign-in, no parsing, no events, nothing stored after the answer.
import { DurableObject } from "cloudflare:workers";

const SCHEMA = "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL)";

export class Asker extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
  }

  async fetch(request) {
    const user = request.headers.get("x-user");
    this.ctx.storage.sql.exec("INSERT INTO hits (at) VALUES (?)", Date.now());
    await this.env.DB.batch([
      this.env.DB.prepare("INSERT INTO sessions (id, user_id) VALUES (?, ?)").bind(crypto.randomUUID(), user),
      this.env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?").bind(user),
    ]);
    const upstream = await fetch(this.env.PROVIDER_URL, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
      body: request.body,
    });
    return new Response(upstream.body, { status: upstream.status, headers: { "content-type": "text/event-stream" } });
  }
}

export default {
  async fetch(request, env) {
    // The launcher's readiness probe makes the D1 table.
    if (request.method !== "POST") return env.DB.prepare(SCHEMA).run().then(() => new Response("ok"));
    const user = request.headers.get("x-user") ?? "anonymous";
    return env.ASKER.get(env.ASKER.idFromName(user)).fetch(request);
  },
};
