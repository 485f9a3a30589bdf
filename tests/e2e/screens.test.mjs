// Every screen, light and dark, desktop and phone: each is scanned with axe-core (no serious or critical
// accessibility violations) and saved as a screenshot in tests/artifacts/ to be looked at.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { useWorkers, screenshot, root, cuttableSockets } from "./harness.mjs";

const AXE = join(root, "node_modules", "axe-core", "axe.min.js");

const app = useWorkers({
  screens: {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "",
    BUILTIN_CHUNK_DELAY_MS: "5",
  },
});

/** The serious and critical violations axe-core finds on the page as it is now. */
async function violations(page) {
  // Evaluated through the browser's debugging protocol: the page's CSP (rightly) refuses a script tag.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(AXE, "utf8"));
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const variants = [
  ["light", "desktop", { width: 1280, height: 860 }],
  ["dark", "desktop", { width: 1280, height: 860 }],
  ["light", "phone", { width: 390, height: 844 }],
  ["dark", "phone", { width: 390, height: 844 }],
];

for (const [scheme, device, viewport] of variants) {
  test(`every screen is accessible and looks right: ${scheme}, ${device}`, async () => {
    let network;
    const { page, context, errors } = await app.open("screens", scheme, viewport,
      async (context) => (network = await cuttableSockets(context)));
    const found = {};
    const shoot = async (screen) => {
      found[screen] = await violations(page);
      await screenshot(page, `screen-${screen}-${scheme}-${device}`);
    };
    const panel = page.locator("#datasets-panel");
    if (device === "phone") {
      assert.equal(await panel.isVisible(), false, "on a phone the side panel starts closed");
    }
    await shoot("welcome");

    await page.getByLabel("Your question").fill("Top 5 categories by revenue");
    await page.keyboard.press("Enter");
    await page.locator(".badge").waitFor({ timeout: 20_000 });
    await page.locator(".tree-panel > summary").click();
    await page.locator(".chart").scrollIntoViewIfNeeded();
    await shoot("answer-chart");
    await page.locator(".tree-panel").scrollIntoViewIfNeeded();
    await shoot("answer-tree");

    if (device === "phone") await page.getByRole("button", { name: /Dataset:/ }).click();
    await panel.locator("details.profile").waitFor();
    await shoot("side-panel");
    if (device === "phone") await page.getByRole("button", { name: "Close the side panel" }).click();

    // The network goes: the socket drops ("Reconnecting…") and the question, sent over SSE, fails.
    await network.cut();
    await page.locator('[data-link="reconnecting"]').waitFor();
    await page.route("**/api/v1/chat/stream", (route) => route.abort("internetdisconnected"));
    await page.getByLabel("Your question").fill("How many rows are there?");
    await page.keyboard.press("Enter");
    await page.getByRole("alert").waitFor({ timeout: 10_000 });
    await shoot("error");

    for (const [screen, list] of Object.entries(found)) {
      assert.deepEqual(list, [], `${screen}: ${JSON.stringify(list, null, 1)}`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}
