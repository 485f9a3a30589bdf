// Browser test support: a real `wrangler dev` serving the built app and API (local D1, Durable Objects),
// and Debian's Chromium driven by playwright-core. Screenshots go to tests/artifacts/.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, rmSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const artifacts = join(root, "tests", "artifacts");
const bin = join(root, "node_modules", ".bin");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

const env = {
  ...process.env,
  PATH: `${bin}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  DATASAGE_PREBUILT: "1",
  NO_COLOR: "1",
};

/** Starts `wrangler dev` with fresh state and `vars` overriding wrangler.toml and .dev.vars. */
export async function startWorker(name, vars) {
  const state = join(root, ".wrangler", "test-state", `e2e-${name}`);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  execFileSync(join(bin, "wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: root, env, stdio: "pipe",
  });
  const port = await freePort();
  const inspector = await freePort();
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", state, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const log = openSync(`${state}.log`, "w");
  const child = spawn(join(bin, "wrangler"), args, { cwd: root, env, detached: true, stdio: ["ignore", log, log] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start; see ${state}.log`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    stop() {
      try { process.kill(-child.pid, "SIGTERM"); } catch {}
    },
  };
}

/** Starts the mock provider (`cargo build -p datasage-tests` builds it; `profile` is its target dir). */
export async function startMock(profile = "debug") {
  const child = spawn(join(root, "target", profile, "mock-provider"), ["127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"], detached: true,
  });
  const line = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => resolve(String(d)));
    child.on("error", reject);
  });
  const base = line.match(/OPENAI_BASE_URL=(\S+)/)?.[1];
  if (!base) throw new Error(`the mock provider did not say where it listens: ${line}`);
  return { base, stop: () => { try { process.kill(-child.pid, "SIGTERM"); } catch {} } };
}

/** Headless Debian Chromium with the flags this closed network needs (playwright gives each launch a
 * fresh temporary profile). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/** A fresh browser context on the app, once the question box is there; `errors` collects page errors
 * and Content-Security-Policy violations. `prepare(context)` runs before the page loads (to route
 * requests, say). */
export async function openPage(browser, base, colorScheme = "light", viewport = { width: 1200, height: 800 },
  prepare = async () => {}) {
  const context = await browser.newContext({ colorScheme, viewport });
  await prepare(context);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Content-Security-Policy violations count as errors: the app must run within its policy.
  await page.exposeFunction("__cspViolation", (what) => errors.push(`CSP violation: ${what}`));
  await context.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}: ${e.sample} ${e.target?.outerHTML?.slice(0, 160) ?? ""}`)),
  );
  await page.goto(base);
  await page.getByLabel("Your question").waitFor();
  return { page, context, errors };
}

/** Routes every hub socket of `context` through the test, so it can cut them as a dead network would:
 * after `cut()` open sockets close and new ones are refused, until `restore()`. */
export async function cuttableSockets(context) {
  let down = false;
  const open = [];
  await context.routeWebSocket(/\/api\/v1\/ws\/chat/, (ws) => {
    if (down) return ws.close({ code: 1011, reason: "network down" });
    ws.connectToServer();
    open.push(ws);
  });
  return {
    async cut() {
      down = true;
      for (const ws of open.splice(0)) await ws.close({ code: 1011, reason: "network down" });
    },
    restore() {
      down = false;
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** For a test file: a `wrangler dev` per entry of `workers` (name → vars) and one browser, started before
 * its tests and stopped after them. The returned object fills in: `.workers[name]`, `.browser`, and
 * `.open(name, ...openPage args)`. */
export function useWorkers(workers) {
  const ctx = { workers: {}, browser: null };
  ctx.open = (name, ...args) => openPage(ctx.browser, ctx.workers[name].base, ...args);
  before(async () => {
    const started = await Promise.all(Object.entries(workers).map(([name, vars]) => startWorker(name, vars)));
    Object.keys(workers).forEach((name, i) => (ctx.workers[name] = started[i]));
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await ctx.browser?.close();
    for (const w of Object.values(ctx.workers)) w.stop();
  });
  return ctx;
}
