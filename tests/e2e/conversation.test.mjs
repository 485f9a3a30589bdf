// What a person does with answers, in real Chromium against a real `wrangler dev`: stop one and have it
// regenerated, edit a question and ask it again, copy an answer, read a chart's values by hovering, fold
// the execution tree — and what they see when every AI provider is down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useWorkers, screenshot } from "./harness.mjs";

const app = useWorkers({
  conversation: {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "",
    // Slow enough to stop an answer half-way.
    BUILTIN_CHUNK_DELAY_MS: "40",
  },
  // The only provider refuses connections, and the built-in analyst is not allowed to stand in.
  "providers-down": {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "sk-e2e",
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    PROVIDER_ORDER: "openai",
    RETRY_MAX_ATTEMPTS: "1",
  },
});
const openPage = (...args) => app.open("conversation", ...args);

async function ask(page, question) {
  const answers = await page.locator(".badge").count();
  await page.getByLabel("Your question").fill(question);
  await page.keyboard.press("Enter");
  await page.locator(".badge").nth(answers).waitFor({ timeout: 20_000 });
}

const questions = (page) => page.locator(".message.user .bubble").allInnerTexts();

test("an answer stopped mid-way is regenerated whole, and only the new one is kept", async () => {
  const { page, context, errors } = await openPage();
  await page.getByLabel("Your question").fill("Describe the columns");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 20;
  }, null, { timeout: 10_000 });
  await page.getByRole("button", { name: "Stop" }).click();
  await page.locator(".failed", { hasText: "Stopped." }).waitFor({ timeout: 5_000 });
  const partial = await page.locator(".message.assistant .markdown").innerText();

  await page.getByRole("button", { name: "Regenerate" }).click();
  await page.locator(".badge").waitFor({ timeout: 20_000 });
  const whole = await page.locator(".message.assistant .markdown").innerText();
  assert.ok(whole.length > partial.length, `the new answer is complete: ${whole.length} > ${partial.length}`);
  assert.equal(await page.locator(".failed").count(), 0, "no trace of the stopped answer");
  assert.deepEqual(await questions(page), ["Describe the columns"]);
  await screenshot(page, "conversation-regenerated-light-desktop");

  await page.reload();
  await page.locator(".badge").waitFor({ timeout: 10_000 });
  assert.deepEqual(await questions(page), ["Describe the columns"], "stored: one question…");
  assert.equal(await page.locator(".message.assistant").count(), 1, "…with its one, whole answer");
  assert.equal(await page.locator(".message.assistant .markdown").innerText(), whole);
  assert.deepEqual(errors, []);
  await context.close();
});

test("an edited question replaces it and everything after it, also after a reload", async () => {
  const { page, context, errors } = await openPage();
  await ask(page, "How many rows are there?");
  await ask(page, "Top 3 regions by revenue");
  const first = page.locator(".message.user").first();
  await first.hover();
  await first.getByRole("button", { name: "Edit" }).click();
  const editor = first.getByLabel("Edit your question");
  assert.equal(await editor.inputValue(), "How many rows are there?");
  await editor.fill("How many columns are there?");
  await screenshot(page, "conversation-editing-light-desktop");
  await editor.press("Enter");
  await page.locator(".badge").waitFor({ timeout: 20_000 });
  assert.deepEqual(await questions(page), ["How many columns are there?"]);
  assert.match(await page.locator(".message.assistant .markdown").innerText(), /12 columns/);

  await page.reload();
  await page.locator(".badge").waitFor({ timeout: 10_000 });
  assert.deepEqual(await questions(page), ["How many columns are there?"]);
  assert.equal(await page.locator(".message.assistant").count(), 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a new conversation started while the last one is still loading stays empty", async () => {
  const { page, context, errors } = await openPage();
  await ask(page, "How many rows are there?");
  // After the reload, the stored conversation's answer is held back until the person has clicked New.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const one = /\/api\/v1\/sessions\/[^/]+$/;
  await page.route(one, async (route) => {
    await held;
    await route.continue();
  });
  await page.reload();
  await page.getByRole("button", { name: "+ New" }).click();
  // The app lists the conversations once the held one has been read.
  const listed = page.waitForResponse((r) => r.url().endsWith("/api/v1/sessions"));
  release();
  await listed;
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
  assert.equal(await page.locator(".message").count(), 0, "none of the old conversation came back");
  await page.getByText("Ask your data anything").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("Copy puts the answer's markdown on the clipboard", async () => {
  const { page, context } = await openPage();
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await ask(page, "How many rows are there?");
  const copy = page.locator(".message.assistant").getByRole("button", { name: "Copy" });
  await copy.click();
  await page.locator(".message.assistant").getByRole("button", { name: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, "The **sample_sales** dataset has **3,000 rows** and 12 columns.");
  await context.close();
});

test("hovering a bar shows its label and value; the execution tree folds", async () => {
  const { page, context, errors } = await openPage();
  await ask(page, "Top 5 categories by revenue");
  const bars = page.locator(".chart .hover .hit");
  assert.equal(await bars.count(), 5);
  const tip = bars.first().locator("text");
  assert.equal(await tip.evaluate((t) => getComputedStyle(t).visibility), "hidden");
  await bars.first().locator("rect").hover();
  assert.equal(await tip.evaluate((t) => getComputedStyle(t).visibility), "visible");
  const shown = await tip.textContent();
  assert.match(shown, /^[^:]+: [\d,.]+$/);
  // The first bar is the biggest category, which the answer names with the same figure.
  const [category, value] = shown.split(": ");
  assert.match(await page.locator(".message.assistant .markdown").innerText(), new RegExp(`${category}[^]*${value}`));
  await screenshot(page, "chart-hover-light-desktop");

  await page.locator(".tree-panel > summary").click();
  const root = page.locator(".tree-panel > details.tree-node").first();
  const child = root.locator(":scope > .tree-children > .tree-node").first();
  await child.waitFor();
  await root.locator(":scope > summary").click();
  assert.equal(await child.isVisible(), false, "folding a node hides its steps");
  await root.locator(":scope > summary").click();
  assert.equal(await child.isVisible(), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test("when every AI provider is down the person is told so, and Retry asks again", async () => {
  const { page, context } = await app.open("providers-down");
  await page.getByLabel("Your question").fill("How many rows are there?");
  await page.keyboard.press("Enter");
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 20_000 });
  assert.match(await alert.innerText(), /AI providers? .*unavailable|could not be reached/i);
  assert.deepEqual(await questions(page), ["How many rows are there?"], "the question stays on screen");
  await screenshot(page, "chat-providers-down-light-desktop");
  await alert.getByRole("button", { name: "Retry" }).click();
  await alert.waitFor({ timeout: 20_000 });
  assert.deepEqual(await questions(page), ["How many rows are there?"], "asked again, not twice");
  await context.close();
});
