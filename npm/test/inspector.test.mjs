// The inspector page (www/) in headless Chromium: served with the package by websockify, which
// also bridges to a local openssl s_server, as scripts/demo.sh starts it.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { freePort, opensslServer, pem, root, start, targetDir, wispServer } from "./peers.mjs";

const shots = path.join(targetDir, "inspector");
let context, page, url, tlsPort, wispUrl;
const errors = [];
const peers = [];

before(async () => {
  const server = await opensslServer(["-tls1_3"]);
  peers.push(server);
  tlsPort = server.port;
  const wisp = await wispServer();
  peers.push(wisp);
  wispUrl = wisp.url;
  const port = await freePort();
  peers.push(await start("websockify", ["--web", root, `127.0.0.1:${port}`, `127.0.0.1:${server.port}`], port));
  url = `http://127.0.0.1:${port}/www/?server=localhost`;
  context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-inspector-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 900, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await context?.close();
  peers.forEach((p) => p.stop());
});

/** Connects with `ca` trusted; resolves to the final state and the ladder's labels. */
async function connectWith(ca) {
  await page.fill("textarea[name=ca]", ca);
  await page.click("form#connect button[type=submit]");
  await page.waitForFunction(() => ["connected", "failed"].includes(document.body.dataset.state) && !document.querySelector("form#connect button").disabled, null, { timeout: 30000 });
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    ladder: [...document.querySelectorAll("#ladder li:not(.record)")].map((li) => `${li.classList.contains("sent") ? ">>>" : "<<<"} ${li.dataset.label}`),
    records: document.querySelectorAll("#ladder li.record").length,
    error: document.querySelector("#error").hidden ? null : { code: document.querySelector("#error").dataset.code, text: document.querySelector("#error").textContent },
    chain: document.querySelector("#chain").textContent,
    params: document.querySelector("#params").textContent,
    msgText: document.querySelector("#msg-text").textContent,
  }));
}

test("inspector: a TLS 1.3 handshake through websockify, message by message, with the chain, the -msg text and a reply", async () => {
  const r = await connectWith(pem("ca.pem"));
  assert.equal(r.state, "connected");
  assert.deepEqual(r.ladder, [">>> ClientHello", "<<< ServerHello", ">>> ChangeCipherSpec", "<<< EncryptedExtensions", "<<< Certificate",
    "<<< CertificateVerify", "<<< Finished", ">>> Finished"]);
  assert.ok(r.records > 8, "record headers and inner content types are there, folded away");
  assert.match(r.params, /TLSv1\.3/);
  assert.match(r.chain, /CN=localhost/);
  assert.match(r.chain, /CN=tlswire test CA/);
  assert.match(r.chain, /DNS:localhost, IP:127\.0\.0\.1/);
  assert.match(r.msgText, /^>>> TLS 1\.3, Handshake \[length [0-9a-f]{4}\], ClientHello$/m);

  // The decoded ClientHello: offered suites, groups and key shares by name.
  await page.click("#ladder li[data-label=ClientHello] summary");
  const hello = await page.textContent("#ladder li[data-label=ClientHello] .detail");
  assert.match(hello, /TLS_AES_128_GCM_SHA256/);
  assert.match(hello, /key_share.*X25519MLKEM768 \(1216 bytes\), X25519 \(32 bytes\)/s);
  assert.match(hello, /server_name\s*localhost/);

  // Keyboard: a message opens with Enter.
  await page.focus("#ladder li[data-label=Certificate] summary");
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute("#ladder li[data-label=Certificate] details", "open"), "");

  await page.fill("#send input[name=text]", "hello from the inspector");
  await page.click("#send button");
  await page.waitForFunction(() => document.querySelector("#replies").textContent.includes("\n"));
  assert.equal(await page.textContent("#replies"), "rotcepsni eht morf olleh\n");
  await page.screenshot({ path: path.join(shots, "inspector.png"), fullPage: true });

  // Readable at 360 px: nothing wider than the viewport.
  await page.setViewportSize({ width: 360, height: 800 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), "no horizontal scrolling at 360 px");
  await page.screenshot({ path: path.join(shots, "inspector-360.png"), fullPage: true });
  await page.setViewportSize({ width: 900, height: 1000 });
  assert.deepEqual(errors, []);
});

test("inspector: an unknown CA shows the typed error and the alert we sent, in red", async () => {
  const r = await connectWith(pem("other-ca.pem"));
  assert.equal(r.state, "failed");
  assert.equal(r.error.code, "CERT_UNKNOWN_ISSUER");
  assert.match(r.error.text, /alert sent: unknown_ca/);
  assert.equal(r.ladder.at(-1), ">>> Alert: fatal unknown_ca");
  assert.ok(await page.$eval("#ladder li.alert", (li) => getComputedStyle(li.querySelector(".arrow")).color === "rgb(179, 38, 30)"));
  await page.screenshot({ path: path.join(shots, "inspector-unknown-ca.png"), fullPage: true });
  assert.deepEqual(errors, []);
});

test("inspector: through a Wisp server to host:port", async () => {
  await page.selectOption("select[name=kind]", "wisp");
  await page.fill("input[name=bridge]", wispUrl);
  await page.fill("input[name=target]", `127.0.0.1:${tlsPort}`);
  const r = await connectWith(pem("ca.pem"));
  assert.equal(r.state, "connected");
  assert.deepEqual(r.ladder.slice(0, 2), [">>> ClientHello", "<<< ServerHello"]);
  assert.equal(r.ladder.at(-1), ">>> Finished");
  assert.deepEqual(errors, []);
});
