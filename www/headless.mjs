// Opens the inspector at URL in headless Chromium (Debian's chromium, driven by playwright-core
// from npm/), waits for the connection to finish, saves a screenshot to OUT and prints what the
// page shows. Exits 1 if the handshake failed or the page logged an error.
//   node www/headless.mjs URL OUT.png

import { createRequire } from "node:module";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [url, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(path.join(here, "../npm/package.json"))("playwright-core");
const context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-inspector-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 900, height: 1000 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.waitForFunction(() => ["connected", "failed"].includes(document.body.dataset.state), null, { timeout: 30000 });
  // Open the Certificate message's decoded view for the picture.
  await page.locator("#ladder li[data-label=Certificate] summary").first().click().catch(() => {});
  await page.screenshot({ path: out, fullPage: true });
  const state = await page.evaluate(() => ({
    state: document.body.dataset.state,
    messages: [...document.querySelectorAll("#ladder li:not(.record)")].map((li) => `${li.classList.contains("sent") ? ">>>" : "<<<"} ${li.dataset.label}`),
    error: document.querySelector("#error").hidden ? null : document.querySelector("#error").textContent,
  }));
  console.log(state.messages.join("\n"));
  if (state.error) console.log(state.error);
  console.log(`screenshot: ${out}`);
  if (state.state !== "connected" || errors.length) {
    console.error(errors.join("\n"));
    process.exitCode = 1;
  }
} finally {
  await context.close();
}
