// One person, several tabs, in real Chromium against a real `wrangler dev`: every tab of the person is a
// socket on their hub, so an answer asked in one streams in the others, a stop in any tab stops it, a
// reload mid-answer picks the answer up where it was, and a lost network shows "Reconnecting…" and then
// the rest of the answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useWorkers, screenshot, cuttableSockets } from "./harness.mjs";

const app = useWorkers({
  tabs: {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "",
    // Slow enough that an answer is still running while a second tab watches, reloads or drops off.
    BUILTIN_CHUNK_DELAY_MS: "60",
  },
});

const LONG = "Describe the columns";

/** Another tab of the same person (same browser context: the same sign-in), on the app. */
async function tab(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(app.workers.tabs.base);
  await page.getByLabel("Your question").waitFor();
  return { page, errors };
}

/** Resolves once the tab's socket to the hub is open (the app then asks over it). */
const linked = (page) => page.locator('[data-link="open"]').waitFor({ timeout: 15_000 });

async function ask(page, question) {
  await page.getByLabel("Your question").fill(question);
  await page.keyboard.press("Enter");
}

const lastAnswer = (page) => page.locator(".message.assistant .markdown").last();
const answerLength = (page) =>
  page.evaluate(() => [...document.querySelectorAll(".message.assistant .markdown")].pop()?.textContent.length ?? 0);
const questions = (page) => page.locator(".message.user .bubble").allInnerTexts();

/** Two tabs showing one conversation that has one answer already. */
async function twoTabsOnOneConversation() {
  const { page: a, context, errors } = await app.open("tabs");
  await linked(a);
  await ask(a, "How many rows are there?");
  await a.locator(".badge").waitFor({ timeout: 20_000 });
  const { page: b, errors: bErrors } = await tab(context);
  await b.locator(".message.assistant .markdown", { hasText: "3,000 rows" }).waitFor({ timeout: 10_000 });
  await linked(b);
  return { a, b, context, errors: () => [...errors, ...bErrors] };
}

test("an answer asked in one tab streams live in another tab showing that conversation", async () => {
  const { a, b, context, errors } = await twoTabsOnOneConversation();
  await ask(a, LONG);
  await b.locator(".message.user .bubble", { hasText: LONG }).waitFor({ timeout: 10_000 });
  await b.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 40;
  }, null, { timeout: 10_000 });
  assert.equal(await a.locator(".badge").count(), 1, "still streaming in the asking tab while the other shows it");
  await screenshot(b, "tabs-watching-light-desktop");
  await a.locator(".badge").nth(1).waitFor({ timeout: 30_000 });
  await b.locator(".badge").nth(1).waitFor({ timeout: 10_000 });
  assert.equal(await lastAnswer(b).innerText(), await lastAnswer(a).innerText(), "the same answer, whole");
  assert.deepEqual(await questions(b), await questions(a));
  assert.deepEqual(errors(), []);
  await context.close();
});

test("a tab on another conversation marks the one being answered, and sees renames", async () => {
  const { a, b, context, errors } = await twoTabsOnOneConversation();
  await b.getByRole("button", { name: "+ New" }).click();
  await ask(a, LONG);
  const marker = b.locator(".session .answering");
  await marker.waitFor({ timeout: 10_000 });
  await screenshot(b, "tabs-answering-elsewhere-light-desktop");
  await a.locator(".badge").nth(1).waitFor({ timeout: 30_000 });
  await marker.waitFor({ state: "detached", timeout: 10_000 });

  await a.getByRole("button", { name: /^Rename / }).first().click();
  await a.getByLabel("Conversation title").fill("Renamed in tab A");
  await a.keyboard.press("Enter");
  await b.locator(".session-open", { hasText: "Renamed in tab A" }).waitFor({ timeout: 10_000 });
  assert.deepEqual(errors(), []);
  await context.close();
});

test("Stop in the tab that did not ask stops the answer in both, and the partial answer is kept", async () => {
  const { a, b, context, errors } = await twoTabsOnOneConversation();
  await ask(a, LONG);
  await b.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 20;
  }, null, { timeout: 10_000 });
  await b.getByRole("button", { name: "Stop" }).click();
  for (const page of [a, b]) {
    await page.locator(".message.assistant .failed", { hasText: "Stopped." }).waitFor({ timeout: 5_000 });
  }
  const partial = await lastAnswer(a).innerText();
  assert.ok(partial.length > 20, `the partial answer stays: ${partial}`);
  await screenshot(b, "tabs-stopped-elsewhere-light-desktop");

  await a.reload();
  await a.locator(".message.assistant .failed", { hasText: "Stopped." }).waitFor({ timeout: 10_000 });
  assert.equal(await lastAnswer(a).innerText(), partial, "stored as stopped, with the text shown");
  assert.deepEqual(errors(), []);
  await context.close();
});

test("reloading the asking tab mid-answer picks the answer up, nothing repeated or missing", async () => {
  const { a, b, context, errors } = await twoTabsOnOneConversation();
  await ask(a, LONG);
  await a.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 40;
  }, null, { timeout: 10_000 });
  await a.reload();
  await a.locator(".message.user .bubble", { hasText: LONG }).waitFor({ timeout: 10_000 });
  assert.equal(await a.locator(".badge").count(), 1, "the answer is still running after the reload");
  await a.locator(".badge").nth(1).waitFor({ timeout: 30_000 });
  await b.locator(".badge").nth(1).waitFor({ timeout: 10_000 });
  const resumed = await lastAnswer(a).innerText();
  assert.equal(resumed, await lastAnswer(b).innerText(), "the tab that stayed saw the same answer");
  await a.reload();
  await a.locator(".badge").nth(1).waitFor({ timeout: 10_000 });
  assert.equal(await lastAnswer(a).innerText(), resumed, "and it is what was stored");
  assert.deepEqual(await questions(a), ["How many rows are there?", LONG]);
  assert.deepEqual(errors(), []);
  await context.close();
});

test("a lost network shows Reconnecting… and then the rest of the answer", async () => {
  let network;
  const { page: a, context, errors } = await app.open("tabs", "light", { width: 1200, height: 800 },
    async (context) => (network = await cuttableSockets(context)));
  await linked(a);
  await ask(a, LONG);
  await a.waitForFunction(() => {
    const a = [...document.querySelectorAll(".message.assistant .markdown")].pop();
    return a && a.textContent.length > 20;
  }, null, { timeout: 10_000 });
  await context.setOffline(true);
  await network.cut();
  const shownWhenCut = await answerLength(a);
  await a.getByText("Reconnecting…").waitFor({ timeout: 5_000 });
  await screenshot(a, "tabs-reconnecting-light-desktop");
  await a.waitForTimeout(1_500);
  network.restore();
  await context.setOffline(false);
  await a.locator(".badge").waitFor({ timeout: 30_000 });
  assert.equal(await a.getByText("Reconnecting…").count(), 0, "back online");
  const whole = await lastAnswer(a).innerText();
  assert.ok(whole.length > shownWhenCut, "the rest of the answer arrived");
  await a.reload();
  await a.locator(".badge").waitFor({ timeout: 10_000 });
  assert.equal(await lastAnswer(a).innerText(), whole, "nothing repeated or missing: it is what was stored");
  assert.deepEqual(errors, []);
  await context.close();
});
