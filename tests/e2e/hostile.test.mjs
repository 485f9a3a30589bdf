// What a hostile model answer can do in the page, in real Chromium against a real `wrangler dev` and the
// mock provider: script URLs spelled every way a browser still reads one (HOSTILE_MARKDOWN in
// tests/src/mock_provider.rs) must not become live links, and the served page carries its
// Content-Security-Policy, within which the whole app runs (the harness counts violations as errors).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startMock, startWorker, launchBrowser, openPage, screenshot } from "./harness.mjs";

let mock, worker, browser;
before(async () => {
  mock = await startMock();
  worker = await startWorker("hostile", {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    PROVIDER_ORDER: "openai",
    OPENAI_API_KEY: "sk-e2e",
    OPENAI_BASE_URL: mock.base,
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  worker?.stop();
  mock?.stop();
});

test("the page is served with a Content-Security-Policy that forbids inline script and framing", async () => {
  const response = await fetch(worker.base);
  const csp = response.headers.get("content-security-policy") ?? "";
  for (const directive of ["script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'none'",
    "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  }
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(response.headers.get("referrer-policy"), "no-referrer");
  assert.doesNotMatch(await response.text(), /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script in the page");
});

test("script links in a model's answer are dead and clicking them runs nothing", async () => {
  const { page, context, errors } = await openPage(browser, worker.base);
  const dialogs = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.getByLabel("Your question").fill("Show me the links [mock:answer=hostile]");
  await page.keyboard.press("Enter");
  const answer = page.locator(".message.assistant .markdown").last();
  await page.locator(".badge").waitFor({ timeout: 20_000 });
  assert.match(await answer.innerText(), /Hostile links:/);

  const links = await answer.locator("a").evaluateAll((as) =>
    as.map((a) => ({ text: a.textContent, href: a.getAttribute("href"), protocol: a.href ? a.protocol : "" })));
  assert.ok(links.length >= 8, `the links are still there as text: ${JSON.stringify(links)}`);
  for (const link of links) {
    assert.ok(["", "http:", "https:"].includes(link.protocol), `a live ${link.protocol} link: ${JSON.stringify(link)}`);
  }
  assert.deepEqual(links.filter((l) => l.href).map((l) => l.href), ["https://example.com/ok"]);
  assert.equal(await answer.locator("img, script, iframe, [onerror]").count(), 0);
  for (const link of await answer.locator("a:not([href])").all()) await link.click();
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, [], "no script ran");

  await screenshot(page, "hostile-links-answer");
  assert.deepEqual(errors, []);
  await context.close();
});
