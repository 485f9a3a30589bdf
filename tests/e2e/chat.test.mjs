// End to end in real Chromium against a real `wrangler dev`: a person opens the page, asks, and watches the
// answer stream in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useWorkers, screenshot } from "./harness.mjs";

const app = useWorkers({
  chat: {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "",
    // Slow enough that the status line and the growing answer are observable.
    BUILTIN_CHUNK_DELAY_MS: "40",
    RATE_LIMIT_PER_MINUTE: "3",
  },
});
const openPage = (...args) => app.open("chat", ...args);


/** Records, from inside the page, the answer's text length and the status line each time they change —
 * so a fast answer on a busy machine cannot slip between two polls. */
async function watchAnswerGrowth(page) {
  await page.evaluate(() => {
    window.__growth = [];
    window.__statuses = [];
    new MutationObserver(() => {
      const answers = document.querySelectorAll(".message.assistant .markdown");
      const last = answers[answers.length - 1];
      if (last) window.__growth.push(last.textContent.length);
      const status = document.querySelector('[role="status"]')?.textContent.trim();
      if (status && status !== window.__statuses.at(-1)) window.__statuses.push(status);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

test("asking how many rows streams the exact answer in, with a live status line", async () => {
  const { page, context, errors } = await openPage();
  await watchAnswerGrowth(page);
  await page.getByLabel("Your question").fill("How many rows are there?");
  await page.keyboard.press("Enter");

  const status = page.getByRole("status");

  const answer = page.locator(".message.assistant .markdown").last();
  await page.locator(".badge").waitFor({ timeout: 15_000 });
  assert.equal(await answer.innerText(), "The sample_sales dataset has 3,000 rows and 12 columns.");
  assert.equal(await answer.locator("strong").first().innerText(), "sample_sales");

  const growth = await page.evaluate(() => [...new Set(window.__growth)].filter((n) => n > 0));
  assert.ok(growth.length >= 4, `the answer grew in steps, not all at once: ${growth}`);
  assert.ok(growth[0] < growth[growth.length - 1] / 2, `first visible text was partial: ${growth}`);
  assert.equal(await status.innerText(), "", "the status line clears when the answer is complete");
  // Steps that arrive in one network read render once, so only the lasting one is sure to be seen.
  const statuses = await page.evaluate(() => window.__statuses);
  assert.ok(statuses.includes("Writing answer…"), `the status line told what happened: ${statuses}`);
  assert.match(await page.locator(".facts").innerText(), /high confidence/);

  await screenshot(page, "chat-answer-light-desktop");
  assert.deepEqual(errors, []);
  await context.close();
});

test("Shift+Enter makes a new line and Enter sends the multi-line question", async () => {
  const { page, context } = await openPage("dark", { width: 390, height: 844 });
  const box = page.getByLabel("Your question");
  await box.click();
  await page.keyboard.type("Top 3 regions");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("by revenue");
  assert.equal(await box.inputValue(), "Top 3 regions\nby revenue");
  await page.keyboard.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 15_000 });
  assert.equal(await page.locator(".message.user .bubble").innerText(), "Top 3 regions\nby revenue");
  const table = page.locator(".message.assistant table");
  assert.equal(await table.locator("tbody tr").count(), 3);
  assert.equal(await box.inputValue(), "", "the box is cleared after sending");
  await screenshot(page, "chat-table-dark-phone");
  await context.close();
});

test("a stale token is replaced and the question still gets its answer", async () => {
  const { page, context } = await openPage();
  await page.evaluate(() => localStorage.setItem("datasage.token", "expired.or.forged"));
  await page.getByLabel("Your question").fill("How many columns are there?");
  await page.keyboard.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 15_000 });
  assert.match(await page.locator(".message.assistant .markdown").innerText(), /12 columns/);
  await context.close();
});

test("a rate-limited person sees a countdown, then Retry sends the question", async () => {
  const { page, context } = await openPage();
  const box = page.getByLabel("Your question");
  for (let i = 0; i < 3; i++) {
    await box.fill(`How many rows are there? (${i})`);
    await page.keyboard.press("Enter");
    await page.locator(".badge").nth(i).waitFor({ timeout: 15_000 });
  }
  await box.fill("And one more?");
  await page.keyboard.press("Enter");
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 10_000 });
  const first = Number((await alert.innerText()).match(/ask again in (\d+) s/)?.[1]);
  assert.ok(first > 0 && first <= 60, `a countdown in seconds: ${await alert.innerText()}`);
  assert.equal(await box.inputValue(), "And one more?", "the refused question is back in the box");
  assert.equal(await page.locator(".message.user").count(), 3, "and not in the conversation");
  const retry = alert.getByRole("button", { name: "Retry" });
  assert.equal(await retry.isDisabled(), true, "Retry waits for the countdown");
  await screenshot(page, "chat-rate-limited-light-desktop");
  await page.waitForFunction((n) => {
    const m = document.querySelector('[role="alert"]')?.textContent.match(/ask again in (\d+) s/);
    return m && Number(m[1]) < n;
  }, first, { timeout: 5_000 });
  await alert.getByText("You can ask again now.").waitFor({ timeout: (first + 5) * 1000 });
  await retry.click();
  await page.locator(".badge").nth(3).waitFor({ timeout: 15_000 });
  assert.equal(await page.locator(".message.user .bubble").last().innerText(), "And one more?");
  assert.equal(await box.inputValue(), "", "the retried question left the box");
  await context.close();
});

test("Esc stops an answer mid-way, and a reload brings the conversation back", async () => {
  const { page, context, errors } = await openPage();
  const box = page.getByLabel("Your question");
  await box.fill("Describe the columns");
  await page.keyboard.press("Enter");
  const answer = page.locator(".message.assistant .markdown").last();
  await page.getByRole("button", { name: "Stop" }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 20;
  }, null, { timeout: 10_000 });
  await box.press("Escape");
  await page.locator(".message.assistant .failed", { hasText: "Stopped." }).waitFor({ timeout: 5_000 });
  const partial = await answer.innerText();
  assert.ok(partial.length > 20 && !partial.includes("`returned`"), `the partial answer stays: ${partial}`);
  await page.getByRole("button", { name: "Send" }).waitFor();
  await screenshot(page, "chat-stopped-light-desktop");

  await box.fill("How many rows are there?");
  await page.keyboard.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 15_000 });
  await page.reload();
  await page.locator(".badge").waitFor({ timeout: 10_000 });
  const questions = await page.locator(".message.user .bubble").allInnerTexts();
  assert.deepEqual(questions, ["Describe the columns", "How many rows are there?"]);
  assert.match(await answer.innerText(), /3,000 rows/);
  const stopped = page.locator(".message.assistant").first();
  assert.equal(await stopped.locator(".markdown").innerText(), partial, "the stopped answer is kept as shown");
  await stopped.locator(".failed", { hasText: "Stopped." }).waitFor();
  assert.match(await page.locator(".facts").last().innerText(), /high confidence/, "the answer comes back whole");
  assert.deepEqual(errors, []);
  await context.close();
});

test("with no WebSocket a question goes over SSE; a lost network says so, and Retry asks again", async () => {
  // No socket ever opens (a proxy that refuses them): the app asks over SSE.
  const noSockets = (context) => context.routeWebSocket(/\/api\/v1\/ws\/chat/, (ws) => ws.close());
  const { page, context } = await openPage("light", { width: 1200, height: 800 }, noSockets);
  await page.route("**/api/v1/chat/stream", (route) => route.abort("internetdisconnected"));
  await page.getByLabel("Your question").fill("How many rows are there?");
  await page.keyboard.press("Enter");
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 10_000 });
  assert.match(await alert.innerText(), /Network problem/);
  assert.equal(await page.getByLabel("Your question").inputValue(), "How many rows are there?");
  await screenshot(page, "chat-network-lost-light-desktop");
  await page.unroute("**/api/v1/chat/stream");
  await alert.getByRole("button", { name: "Retry" }).click();
  await page.locator(".message.assistant .markdown", { hasText: "3,000 rows" }).waitFor({ timeout: 15_000 });
  assert.equal(await alert.count(), 0, "the banner is gone");
  await context.close();
});

test("revenue by region over time is drawn as a line per region, named in a legend", async () => {
  const { page, context, errors } = await openPage();
  await page.getByLabel("Your question").fill("Revenue by region over time");
  await page.keyboard.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 20_000 });
  const answer = page.locator(".message.assistant").last();
  const text = await answer.locator(".markdown").innerText();
  for (const region of ["Central", "East", "North", "South", "West"]) {
    assert.match(text, new RegExp(`${region} went from`), `a line about ${region}: ${text}`);
  }
  const chart = answer.locator("figure.chart svg");
  await chart.waitFor({ timeout: 10_000 });
  // The axes are black polylines; each region's line and its legend mark are in a colour of the palette.
  const coloured = await chart.locator('polyline:not([stroke="#000000"])').count();
  assert.equal(coloured, 5 * 2, "five lines and five legend marks");
  assert.match(await chart.innerHTML(), /West/, "the legend names the regions");
  await screenshot(page, "chat-trend-by-region-light-desktop");
  assert.deepEqual(errors, []);
  await context.close();
});
