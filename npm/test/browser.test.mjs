// The npm package in headless Chromium (Debian's chromium, driven by playwright-core): a page
// served by websockify's --web server connects through the same websockify to openssl s_server.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { freePort, opensslServer, pem, start } from "./peers.mjs";

const pkgDir = path.resolve(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
let context, page, server, web;

before(async () => {
  server = await opensslServer([]);
  const port = await freePort();
  web = await start("websockify", ["--web", pkgDir, `127.0.0.1:${port}`, `127.0.0.1:${server.port}`], port);
  context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/test/browser/page.html`);
  await page.waitForFunction(() => window.ready === true);
});

after(async () => {
  await context?.close();
  web?.stop();
  server?.stop();
});

test("Chromium: TLS 1.3 through websockify to openssl s_server, with message events", async () => {
  const r = await page.evaluate(([ca]) => window.runTls(ca, "localhost"), [pem("ca.pem")]);
  assert.equal(r.version, "TLSv1.3");
  assert.equal(r.reply, "muimorhc morf olleh\n");
  assert.ok(r.events.some((l) => l.startsWith(">>> TLS 1.3, Handshake") && l.endsWith("ClientHello")));
  assert.ok(r.events.some((l) => l.startsWith("<<< TLS 1.3, Handshake") && l.endsWith("Finished")));
});

test("Chromium: an unknown CA rejects with TlsError CERT_UNKNOWN_ISSUER", async () => {
  const r = await page.evaluate(([ca]) => window.runTlsError(ca, "localhost"), [pem("other-ca.pem")]);
  assert.deepEqual(r, { name: "TlsError", code: "CERT_UNKNOWN_ISSUER", isTlsError: true });
});
