// Times the runtime calls the worker's glue makes per answer (benches/glue/worker.mjs) on a `wrangler dev`
// it starts: each path's request with `n` calls, minus the same request with none, over `--runs` requests,
// as µs per call (p50), and what the cheaper way of each pair saves a call. (`release` and `keep` both
// make their readers, so only their difference is the unlocking.) Run from the repository root:
//   node benches/glue.mjs [--runs 15] [--n 20000]
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    n: { type: "string", default: "20000" },
    port: { type: "string", default: "8796" },
  },
});
const base = `http://127.0.0.1:${opt.port}`;
const args = ["dev", "--config", "benches/glue/wrangler.toml", "--ip", "127.0.0.1", "--port", opt.port,
  "--show-interactive-dev-session=false"];
const wrangler = spawn("node_modules/.bin/wrangler", args, {
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false" },
  stdio: "ignore",
  detached: true,
});
const stop = () => { try { process.kill(-wrangler.pid); } catch { /* gone */ } };
process.on("exit", stop);

async function ready() {
  for (let i = 0; i < 120; i++) {
    try { if ((await fetch(`${base}/baseline`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("wrangler dev did not start");
}

async function ms(path, n) {
  const started = performance.now();
  const resp = await fetch(`${base}/${path}?n=${n}`);
  if (!resp.ok) throw new Error(`${path}: ${resp.status} ${await resp.text()}`);
  await resp.text();
  return performance.now() - started;
}

const p50 = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
await ready();
// Readers are slow to make, so those two paths take fewer calls.
const PAIRS = [["queueMicrotask", "then", 1], ["date", "now", 1], ["release", "keep", 0.1]];
for (const [slow, fast, share] of PAIRS) {
  const n = Math.round(Number(opt.n) * share);
  for (let i = 0; i < 3; i++) await Promise.all([ms(slow, n), ms(fast, n)]);
  const times = { [slow]: [], [fast]: [], baseline: [] };
  for (let i = 0; i < Number(opt.runs); i++) {
    for (const path of [slow, fast, "baseline"]) times[path].push(await ms(path, path === "baseline" ? 0 : n));
  }
  const none = p50(times.baseline);
  const per = (path) => ((p50(times[path]) - none) * 1000) / n;
  const us = (v) => v.toFixed(2).padStart(7);
  console.log(`${slow.padEnd(15)} ${us(per(slow))} µs a call   ${fast.padEnd(5)} ${us(per(fast))} µs a call   ` +
    `saves ${us(per(slow) - per(fast))} µs a call   (${n} calls a request)`);
}
stop();
process.exit(0);
