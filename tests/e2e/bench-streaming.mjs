// Benchmark (run by `make bench`, never as a pass/fail test): in real Chromium, a 2,000-token answer
// streams at 200 tokens/s from the mock provider through `wrangler dev`, and the page's main thread is
// watched for long tasks. Prints the longest task (target: none over 50 ms), how many went over, and the
// app's wasm + JS size gzipped (budget: 300 KB).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startWorker, startMock, launchBrowser, openPage, screenshot, root } from "./harness.mjs";

const TOKENS = 2000;
const PER_SECOND = 200;

function gz(path) {
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

/** Durations (ms) of the tasks the page's main thread ran, from a Chromium trace. */
function mainThreadTasks(trace) {
  const events = trace.traceEvents ?? trace;
  const main = events.find((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  if (!main) throw new Error("the trace has no renderer main thread");
  return events
    .filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === "X" && e.name === "RunTask")
    .map((e) => ({ at: e.ts / 1000, ms: e.dur / 1000 }));
}

const mock = await startMock("release");
const worker = await startWorker("bench-streaming", {
  DEV_AUTH: "true",
  JWT_SECRET: "bench-secret",
  OPENAI_API_KEY: "sk-bench",
  OPENAI_BASE_URL: mock.base,
  PROVIDER_ORDER: "openai",
  RATE_LIMIT_PER_MINUTE: "1000",
});
const browser = await launchBrowser();
try {
  const { page, errors } = await openPage(browser, worker.base);
  await page.evaluate(() => {
    window.__firstText = 0;
    new MutationObserver(() => {
      if (!window.__firstText && document.querySelector(".message.assistant .markdown")?.textContent) {
        window.__firstText = performance.now();
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const pace = Math.round(1000 / PER_SECOND);
  await page.getByLabel("Your question").fill(`[mock:long=${TOKENS}][mock:pace=${pace}] Write the full report`);
  // Chromium's own trace of the renderer's main thread: every task it ran, with its duration.
  await browser.startTracing(page, { categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"] });
  await page.waitForTimeout(500); // tracing's own start-up is not the page's work
  const asked = await page.evaluate(() => performance.now());
  await page.keyboard.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 120_000 });
  const done = await page.evaluate(() => performance.now());
  const tasks = mainThreadTasks(JSON.parse(String(await browser.stopTracing())));
  const { firstText, chars } = await page.evaluate(() => ({
    firstText: window.__firstText,
    chars: document.querySelector(".message.assistant .markdown").textContent.length,
  }));
  await screenshot(page, "bench-streaming-long-answer");
  const start = Math.min(...tasks.map((t) => t.at));
  const top = [...tasks].sort((a, b) => b.ms - a.ms).slice(0, 3)
    .map((t) => `${t.ms.toFixed(0)} ms at +${((t.at - start) / 1000).toFixed(1)} s`);
  const longest = tasks.length ? Math.max(...tasks.map((t) => t.ms)) : 0;
  const over = tasks.filter((t) => t.ms > 50).length;
  const blocking = tasks.reduce((sum, t) => sum + Math.max(0, t.ms - 50), 0);
  const streamed = (done - firstText) / 1000;
  const wasm = gz(join(root, "dist", "pkg", "datasage_app_bg.wasm"));
  // wasm-bindgen's glue and the modules it imports (the markdown renderer), each file gzipped on its own.
  const pkg = join(root, "dist", "pkg");
  const js = readdirSync(pkg, { recursive: true })
    .filter((f) => f.endsWith(".js"))
    .reduce((sum, f) => sum + gz(join(pkg, f)), 0);
  console.log(`streaming in Chromium: ${TOKENS} tokens at ${PER_SECOND}/s (${chars} characters rendered)`);
  console.log(`  first text ${Math.round(firstText - asked)} ms after sending; streamed for ${streamed.toFixed(1)} s ` +
    `(${Math.round(TOKENS / streamed)} tokens/s arrived)`);
  console.log(`  main-thread tasks traced: ${tasks.length}; long tasks (>50 ms): ${over}; longest main-thread task ${longest.toFixed(0)} ms ` +
    `(target: none over 50 ms); total blocking ${blocking.toFixed(0)} ms`);
  console.log(`  longest three (into the trace; the question is sent at +0.5 s): ${top.join(", ")}`);
  const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
  console.log(`app size gzip: wasm ${kb(wasm)} + JS ${kb(js)} = ${kb(wasm + js)} (budget: 300 KB)`);
  if (errors.length) console.log(`page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  worker.stop();
  mock.stop();
}
