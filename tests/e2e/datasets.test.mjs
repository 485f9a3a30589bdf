// Datasets end to end in real Chromium against a real `wrangler dev`: a person uploads their own CSV,
// sees its profile and preview, asks for the top products and gets the exact figures, a bar chart of them
// and the SQL in the execution tree; a broken file is refused with the reason and the line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useWorkers, screenshot } from "./harness.mjs";

const app = useWorkers({
  datasets: {
    DEV_AUTH: "true",
    JWT_SECRET: "e2e-secret",
    OPENAI_API_KEY: "",
    BUILTIN_CHUNK_DELAY_MS: "5",
  },
});
const openPage = (...args) => app.open("datasets", ...args);

// Desk 1,000 + 250.50; Lamp 600; Chair 3 × 150; Rug 300; Vase 120; Mug 15.
const SHOP = `order,product,revenue,day
1,Desk,1000,2024-01-05
2,Lamp,600,2024-01-09
3,Chair,150,2024-02-01
4,Chair,150,2024-02-02
5,Chair,150,2024-02-03
6,Rug,300,2024-02-20
7,Desk,250.50,2024-03-01
8,Vase,120,2024-03-02
9,Mug,15,2024-03-03
`;


async function upload(page, name, text) {
  await page.locator('.dropzone input[type="file"]').setInputFiles({
    name, mimeType: "text/csv", buffer: Buffer.from(text),
  });
}

test("an uploaded CSV answers the top 5 products with exact figures, a bar chart and its SQL", async () => {
  const { page, context, errors } = await openPage("light", { width: 1280, height: 900 });
  await page.locator(".dataset.selected .dataset-name", { hasText: "sample_sales" }).waitFor();
  await upload(page, "shop.csv", SHOP);
  await page.locator(".dataset.selected .dataset-name", { hasText: "shop.csv" }).waitFor({ timeout: 15_000 });
  assert.match(await page.locator(".dataset.selected .dataset-facts").innerText(), /9 rows · 4 columns/);
  const profile = page.locator("details.profile");
  await profile.getByText("Profile of shop.csv").waitFor();
  assert.match(await profile.innerText(), /revenue\s+decimal\s+min 15, max 1,000/);
  assert.match(await page.getByRole("button", { name: /Dataset: shop\.csv/ }).innerText(), /shop\.csv/);
  await page.locator("details.preview summary").click();
  assert.match(await page.locator("details.preview").innerText(), /Desk\s+1,000\s+2024-01-05/);
  await screenshot(page, "datasets-uploaded-profile-light-desktop");

  await page.getByLabel("Your question").fill("What are the top 5 products by revenue?");
  await page.keyboard.press("Enter");
  await page.getByRole("status").getByText("Running SQL…").or(page.locator(".badge")).first().waitFor({ timeout: 15_000 });
  await page.locator(".badge").waitFor({ timeout: 15_000 });
  const answer = page.locator(".message.assistant .markdown").last();
  const text = await answer.innerText();
  assert.match(text, /^Desk leads with a total revenue of 1,250\.50 \(45\.7% of the total\)\./);
  for (const row of ["Desk\t1,250.50", "Lamp\t600", "Chair\t450", "Rug\t300", "Vase\t120"]) {
    assert.ok(text.includes(row), `${row} in ${text}`);
  }
  const chart = page.locator(".message.assistant figure.chart").last();
  assert.equal(await chart.getAttribute("aria-label"), "Total revenue by product (5 points)");
  const drawn = (await chart.locator("svg text").allTextContents()).map((t) => t.trim());
  for (const label of ["Desk", "Lamp", "Chair", "Rug", "Vase", "product", "total revenue"]) {
    assert.ok(drawn.includes(label), `${label} drawn in the chart: ${drawn}`);
  }

  await page.locator(".tree-panel > summary").last().click();
  const sql = page.locator(".tree-sql").last();
  await sql.waitFor();
  assert.match(await sql.innerText(), /SUM\("revenue"\)[\s\S]*LIMIT 5/);
  await chart.scrollIntoViewIfNeeded();
  await screenshot(page, "datasets-top5-chart-light-desktop");
  await page.locator(".tree-sql").last().scrollIntoViewIfNeeded();
  await screenshot(page, "datasets-top5-sql-light-desktop");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a broken CSV is refused with the reason and the line, and nothing is added", async () => {
  const { page, context, errors } = await openPage("dark", { width: 390, height: 844 });
  await page.getByRole("button", { name: /Dataset:/ }).click();
  await page.locator(".dataset-name", { hasText: "sample_sales" }).waitFor();
  await upload(page, "ragged.csv", "a,b\n1,2\n3\n");
  const error = page.locator(".upload-error");
  await error.waitFor({ timeout: 15_000 });
  assert.match(await error.innerText(), /ragged\.csv was not uploaded\. line 3: expected 2 fields like the header, found 1/);
  assert.equal(await page.locator(".dataset").count(), 1, "only the sample is listed");
  await screenshot(page, "datasets-upload-refused-dark-phone");
  assert.deepEqual(errors, []);
  await context.close();
});

test("conversations are listed, opened, renamed and deleted from the side panel", async () => {
  const { page, context, errors } = await openPage("light", { width: 1280, height: 900 });
  const box = page.getByLabel("Your question");
  const ask = async (q, n) => {
    await box.fill(q);
    await page.keyboard.press("Enter");
    await page.locator(".badge").nth(n).waitFor({ timeout: 15_000 });
  };
  await ask("How many rows are there?", 0);
  await page.getByRole("button", { name: "+ New" }).click();
  assert.equal(await page.locator(".message").count(), 0, "a new, empty conversation");
  await ask("Describe the columns", 0);
  const titles = page.locator(".session-list .session-open");
  await page.waitForFunction(() => document.querySelectorAll(".session-list .session-open").length === 2);
  assert.deepEqual(await titles.allInnerTexts(), ["Describe the columns", "How many rows are there?"]);

  await titles.filter({ hasText: "How many rows are there?" }).click();
  await page.locator(".message.assistant .markdown", { hasText: "3,000 rows" }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator(".message.user .bubble").allInnerTexts(), ["How many rows are there?"]);

  await page.getByRole("button", { name: "Rename How many rows are there?" }).click();
  const title = page.getByLabel("Conversation title");
  await title.fill("Row count");
  await title.press("Enter");
  await titles.filter({ hasText: "Row count" }).waitFor();

  await page.getByRole("button", { name: "Delete Describe the columns" }).click();
  await page.waitForFunction(() => document.querySelectorAll(".session-list .session-open").length === 1);
  assert.deepEqual(await titles.allInnerTexts(), ["Row count"]);
  await screenshot(page, "conversations-panel-light-desktop");
  assert.deepEqual(errors, []);
  await context.close();
});
