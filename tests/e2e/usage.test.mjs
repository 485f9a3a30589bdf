// Usage and budgets in real Chromium against a real `wrangler dev` and the mock provider: the question's
// estimated cost before asking, the 80 % banner, the budget-reached note (the built-in analyst answers),
// the Usage page with its charts, breakdowns and costliest conversations — light and dark, desktop and
// phone, scanned by axe-core — and the CSV export downloaded and read back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startMock, startWorker, launchBrowser, openPage, screenshot, root } from "./harness.mjs";

const SECRET = "e2e-secret";
const AXE = join(root, "node_modules", "axe-core", "axe.min.js");
let mock, worker, browser;

before(async () => {
  mock = await startMock();
  worker = await startWorker("usage", {
    DEV_AUTH: "true",
    JWT_SECRET: SECRET,
    PROVIDER_ORDER: "openai,builtin",
    OPENAI_API_KEY: "sk-e2e",
    OPENAI_BASE_URL: mock.base,
    OPENAI_MODEL: "gpt-4o-mini",
    // Dear input, cheap output: what a call holds (mostly a whole answer's output) stays near what it costs.
    MODEL_PRICES: JSON.stringify({ "gpt-4o-mini": { input: 50, output: 5 } }),
    RETRY_MAX_ATTEMPTS: "1",
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  worker?.stop();
  mock?.stop();
});

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
/** An admin token, minted the way the README says an operator does. */
function adminToken() {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "ops", role: "admin", iat: now, exp: now + 600 })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

/** The page's own user: the subject of the token it keeps. */
async function pageUser(page) {
  const token = await page.evaluate(() => localStorage.getItem("datasage.token"));
  return { token, id: JSON.parse(Buffer.from(token.split(".")[1], "base64url")).sub };
}

async function api(path, token, init = {}) {
  const r = await fetch(`${worker.base}${path}`, {
    ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
  return { status: r.status, body: await r.json() };
}

async function ask(page, question) {
  const answers = page.locator(".message.assistant .badge");
  const before = await answers.count();
  await page.getByLabel("Your question").fill(question);
  await page.keyboard.press("Enter");
  await answers.nth(before).waitFor({ timeout: 20_000 });
}

/** Waits until the month's spending stops changing (answers are logged after they stream). */
async function settledSpend(token) {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const { body } = await api("/api/v1/usage/summary", token);
    if (body.spent_usd === last && body.calls > 0) return body.spent_usd;
    last = body.spent_usd;
  }
  return last;
}

async function violations(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(AXE, "utf8"));
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

test("a budget warns at 80 %, hands questions to the analyst when spent, and the Usage page shows and exports it", async () => {
  const { page, context, errors } = await openPage(browser, worker.base);
  const admin = adminToken();

  // Before asking: what the question may cost, from the model's price and the prompt's size.
  await page.getByLabel("Your question").fill("How many rows are there?");
  await page.locator(".cost-hint", { hasText: /This question: about \$[\d.]+–\$[\d.]+ \(gpt-4o-mini\)/ }).waitFor();
  await ask(page, "How many rows are there? [mock:prompt-tokens=1500]");
  await ask(page, "And the columns? [mock:prompt-tokens=1500]");
  const user = await pageUser(page);
  const spent = await settledSpend(user.token);
  assert.ok(spent > 0, `the provider's answers cost something: ${spent}`);

  // A budget the next call just fits in (what it holds: its prompt with half again, and a whole answer),
  // and a reply whose reported prompt takes the month past 80 %: that answer says so, in a banner that stays.
  const estimate = (await api("/api/v1/usage/estimate", user.token)).body;
  const hold = ((estimate.prompt_tokens * 1.5 + 200) * 50 + 1500 * 5) / 1e6;
  const budget = spent + hold + 0.005;
  const reported = Math.ceil(((0.85 * budget - spent) * 1e6) / 50);
  let set = await api(`/api/v1/admin/users/${user.id}/budget`, admin, { method: "PUT", body: JSON.stringify({ budget_usd: budget }) });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  await ask(page, `Which region leads? [mock:prompt-tokens=${reported}]`);
  const banner = page.locator(".budget-banner");
  await banner.getByText(/You have used (8[5-9]|9\d) % of this month's budget/).waitFor();
  assert.match(await page.locator(".message.assistant .facts").last().innerText(), /gpt-4o-mini/, "the provider answered");
  await screenshot(page, "usage-80-percent-banner");
  await banner.getByRole("button", { name: "Dismiss the budget note" }).click();

  // Spent: the built-in analyst answers, at no cost, and says until when.
  const now = await settledSpend(user.token);
  set = await api(`/api/v1/admin/users/${user.id}/budget`, admin, { method: "PUT", body: JSON.stringify({ budget_usd: now }) });
  assert.equal(set.status, 200);
  await ask(page, "How many rows are there?");
  await banner.getByText(/is spent — the built-in analyst answers from the data, at no cost, until it starts over on \d{4}-\d\d-01/).waitFor();
  assert.match(await page.locator(".message.assistant .markdown").last().innerText(), /3,000 rows/);
  await screenshot(page, "usage-budget-spent-note");

  // The Usage page: budget bar, charts, breakdowns, costliest conversations.
  await banner.getByRole("link", { name: "See usage" }).click();
  const usage = page.locator("section.usage");
  await usage.locator(".budget-bar").waitFor();
  assert.equal(await page.locator(".conversation").isVisible(), false, "the chat steps aside");
  assert.match(await usage.locator(".budget").innerText(), /\(100 %\)/);
  assert.equal(await usage.locator("figure.chart").count(), 2, "cost and tokens by day");
  const byProvider = usage.locator(".breakdown", { hasText: "By provider" });
  assert.match(await byProvider.innerText(), /openai\s+3\b/);
  assert.match(await byProvider.innerText(), /builtin\s+1\b/);
  assert.match(await usage.locator(".usage-facts").innerText(), /Median latency \d+ ms/);
  const costliest = usage.locator(".costliest li");
  assert.ok((await costliest.count()) >= 1);
  for (const [scheme, viewport, name] of [
    ["light", { width: 1280, height: 900 }, "desktop"],
    ["dark", { width: 1280, height: 900 }, "desktop"],
    ["light", { width: 390, height: 844 }, "phone"],
    ["dark", { width: 390, height: 844 }, "phone"],
  ]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize(viewport);
    const close = page.getByRole("button", { name: "Close the side panel" });
    if (name === "phone" && (await close.isVisible())) await close.click();
    assert.deepEqual(await violations(page), [], `the Usage page, ${scheme} ${name}`);
    await screenshot(page, `usage-page-${scheme}-${name}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // The export: every call of the month, downloaded and read back.
  const [download] = await Promise.all([page.waitForEvent("download"), usage.getByRole("button", { name: "Export CSV" }).click()]);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\r\n");
  assert.equal(csv[0], "id,created_at,session_id,provider,model,call_type,status,input_tokens,output_tokens,cost_usd,latency_ms,usage_source,fallback,unpriced");
  const summary = (await api("/api/v1/usage/summary", user.token)).body;
  assert.equal(csv.length - 1, summary.calls, "one line per logged call");
  assert.match(download.suggestedFilename(), /^datasage-usage-\d{4}-\d\d-01-to-\d{4}-\d\d-\d\d\.csv$/);

  // A conversation opens from the costliest list, back in the chat.
  await costliest.first().getByRole("button").click();
  await page.locator(".conversation").waitFor({ state: "visible" });
  assert.ok((await page.locator(".message.user").count()) >= 1);

  assert.deepEqual(errors, []);
  await context.close();
});
