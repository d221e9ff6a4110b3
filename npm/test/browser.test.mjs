// The npm package in headless Chromium (Debian's chromium, driven by playwright-core): a page
// served by websockify's --web server connects through the same websockify to openssl s_server,
// over WebTransport through an aioquic bridge, and over Wisp through the wisp-js server, to the
// same server.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { freePort, opensslServer, pem, start, webTransportBridge, wispServer } from "./peers.mjs";

const pkgDir = path.resolve(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
let context, page, server, web, wt, wispPeer;

before(async () => {
  server = await opensslServer([]);
  const port = await freePort();
  wt = await webTransportBridge(server.port);
  wispPeer = await wispServer();
  web = await start("websockify", ["--web", pkgDir, `127.0.0.1:${port}`, `127.0.0.1:${server.port}`], port);
  context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/test/browser/page.html`);
  await page.waitForFunction(() => window.ready === true);
});

after(async () => {
  await context?.close();
  web?.stop();
  wt?.stop();
  wispPeer?.stop();
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

test("Chromium: TLS 1.3 over a WebTransport bidirectional stream (aioquic bridge) to openssl s_server", async () => {
  const r = await page.evaluate(([url, hash, ca]) => window.runWebTransport(url, hash, ca, "localhost"),
    [wt.url, wt.certificateHash.toString("base64"), pem("ca.pem")]);
  assert.equal(r.version, "TLSv1.3");
  assert.equal(r.reply, "muimorhc morf olleh\n");
  assert.ok(r.events.some((l) => l.endsWith("ServerHello")));
});

test("Chromium: TLS 1.3 over Wisp (wisp-js server) to openssl s_server", async () => {
  const r = await page.evaluate(([url, port, ca]) => window.runWisp(url, port, ca, "localhost"),
    [wispPeer.url, server.port, pem("ca.pem")]);
  assert.equal(r.version, "TLSv1.3");
  assert.equal(r.reply, "muimorhc morf olleh\n");
});
