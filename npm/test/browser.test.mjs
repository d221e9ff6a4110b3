// The npm package in headless Chromium (Debian's chromium, driven by playwright-core): a page
// served by websockify's --web server connects through the same websockify to openssl s_server,
// over WebTransport through an aioquic bridge, and over Wisp through the wisp-js server, to the
// same server.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { freePort, opensslServer, pem, root, start, webTransportBridge, wispServer } from "./peers.mjs";

const pkgDir = path.resolve(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
let context, page, server, web, wt, wispPeer;
const peers = [];
const track = (p) => (peers.push(p), p);

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
  peers.forEach((p) => p.stop());
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

test("Chromium: bulk data decrypted by WebCrypto arrives whole and in order, AES-128-GCM and AES-256-GCM (Node's TLS server, websockify)", async () => {
  const length = 3_000_000;
  const data = new Uint8Array(length).map((_, i) => (i * 13 + (i >> 11)) & 0xff);
  for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]) {
    const sockets = new Set();
    const source = tls.createServer({ cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key"), ciphers: suite }, (socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.end(data);
    });
    await new Promise((resolve) => source.listen(0, "127.0.0.1", resolve));
    const port = await freePort();
    const relay = await start("websockify", [`127.0.0.1:${port}`, `127.0.0.1:${source.address().port}`], port);
    try {
      const r = await page.evaluate(([url, ca, n]) => window.runBulk(url, ca, "localhost", n), [`ws://127.0.0.1:${port}/`, pem("ca.pem"), length]);
      assert.deepEqual(r, { received: length, wrong: -1, cipherSuite: suite, platform: "webcrypto" });
    } finally {
      relay.stop();
      source.close();
      sockets.forEach((socket) => socket.destroy());
    }
  }
});

/** The README's browser example with the bridge, server name and CA pointed at local peers. */
function readmeExample(bridgePort) {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  let html = readme.match(/<!-- browser-example[^\n]*\n```html\n([\s\S]*?)```/)?.[1];
  assert.ok(html, "README has the browser example");
  assert.ok(html.trim().split("\n").length <= 10, "the example is at most 10 lines");
  for (const [from, to] of [
    ['"wss://bridge.example/"', `"ws://127.0.0.1:${bridgePort}/"`],
    ['serverName: "example.com"', 'serverName: "localhost"'],
    ["ca: roots", `ca: [roots, ${JSON.stringify(pem("ca.pem"))}]`],
  ]) {
    assert.ok(html.includes(from), `README example contains ${from}`);
    html = html.replace(from, to);
  }
  return html;
}

/** A site laid out as an app that ran `npm i tlswire`: index.html + node_modules/tlswire. */
function site(html) {
  const dir = mkdtempSync(path.join(tmpdir(), "tlswire-site-"));
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(pkgDir, path.join(dir, "node_modules/tlswire"));
  writeFileSync(path.join(dir, "index.html"), `<!doctype html>\n<meta charset="utf-8">\n${html}<body></body>\n`);
  return dir;
}

/** Serves `dir` and bridges to `openssl s_server -www` on one port; loads the page; checks it. */
async function runSite(dir, port) {
  const www = track(await opensslServer(["-www"]));
  track(await start("websockify", ["--web", dir, `127.0.0.1:${port}`, `127.0.0.1:${www.port}`], port));
  const tab = await context.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  await tab.goto(`http://127.0.0.1:${port}/index.html`);
  await tab.waitForFunction(() => document.body.textContent.includes("</HTML>"), null, { timeout: 20000 });
  const text = await tab.evaluate(() => document.body.textContent);
  assert.match(text, /^\s*HTTP\/1\.0 200 ok/);
  assert.match(text, /New, TLSv1\.3, Cipher is TLS_AES_128_GCM_SHA256/); // the server saw our handshake
  await new Promise((r) => setTimeout(r, 200)); // let the loop end at close_notify
  assert.deepEqual(errors, []);
  await tab.close();
}

test("Chromium: the README's browser example runs as written (bridge, name and CA pointed at local peers)", async () => {
  const port = await freePort();
  await runSite(site(readmeExample(port)), port);
});

test("Chromium: the same example bundled by Vite (import map dropped, as the README says)", async () => {
  const port = await freePort();
  const html = readmeExample(port).replace(/<script type="importmap">[\s\S]*?<\/script>\n/, "");
  assert.ok(!html.includes("importmap"));
  const dir = site(html);
  const vite = path.join(pkgDir, "node_modules/.bin/vite");
  const build = spawnSync(vite, ["build", "--logLevel", "warn"], { cwd: dir, encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  assert.equal((build.stdout + build.stderr).trim(), "", "vite build prints no warnings");
  await runSite(path.join(dir, "dist"), port);
});
