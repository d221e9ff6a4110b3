// The clients apps use, over tlswire, against the real servers: pg and postgres.js against
// PostgreSQL 15, ioredis against Redis 7, mqtt.js against Mosquitto 2, nodemailer against aiosmtpd
// (STARTTLS), each server with the test CA and client certificates required.
// - Node, Deno, Bun: test/clients/app.mjs bundled as an app would be (esbuild, `tls` aliased to
//   tlswire/node), every client.
// - workerd: the example worker (examples/workerd-postgres) bundled as wrangler would
//   (`cloudflare:sockets` aliased to tlswire/sockets, nodejs_compat), pg and postgres.js over the
//   platform's connect().
// - Chromium: test/clients/browser.mjs, postgres.js through a Wisp server (tlswire/sockets with
//   setTransport).
// Also: the wrong CA and a missing client certificate reach each client as its own error,
// carrying tlswire's code, and nothing hangs.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { build } from "esbuild";
import { chromium } from "playwright-core";

import { bundleWorker } from "../examples/workerd-postgres/bundle.mjs";
import { freePort, pem, pki, root, start, wispServer, workerd } from "./peers.mjs";
import * as servers from "./servers.mjs";

const npm = path.join(root, "npm");
// Beside src/ and dist/ (one level under npm/), so the engine's URL, ../dist/wasm/, holds.
const bundle = path.join(npm, ".bundles/clients.mjs");
const RUNTIMES = {
  node: [process.execPath],
  deno: [path.join(npm, "node_modules/.bin/deno"), "run", "-A"],
  bun: [path.join(npm, "node_modules/.bin/bun")],
};
const CLIENTS = { pg: "postgres", postgres: "postgres", ioredis: "redis", mqtt: "mosquitto", nodemailer: "smtp" };

/** The alias an app's bundler config needs (README: "With your database or broker client"). */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  alias: { tls: "tlswire/node", "node:tls": "tlswire/node" },
  // CommonJS clients (pg, ioredis, mqtt) require() Node's built-ins: give the ES module a require.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  logLevel: "warning",
};

/** A web page's bundle: postgres.js's Workers build with npm's buffer, events and readable-stream. */
const BROWSER_OPTIONS = {
  bundle: true,
  format: "esm",
  platform: "browser",
  alias: {
    "cloudflare:sockets": "tlswire/sockets",
    postgres: path.join(npm, "node_modules/postgres/cf/src/index.js"),
    "node:buffer": "buffer",
    "node:events": "events",
    "node:stream": "readable-stream",
  },
  logLevel: "warning",
};

const running = {};
before(async () => {
  await Promise.all([
    build({ ...ESBUILD_OPTIONS, entryPoints: ["test/clients/app.mjs"], outfile: bundle, absWorkingDir: npm }),
    bundleWorker(),
    build({ ...BROWSER_OPTIONS, entryPoints: ["test/clients/browser.mjs"], outfile: ".bundles/browser.js", absWorkingDir: npm }),
  ]);
  for (const name of new Set(Object.values(CLIENTS))) running[name] = await servers[name]();
});
after(() => Object.values(running).forEach((s) => s.stop()));

/** Runs the bundle in `runtime` for `job`; resolves to its one line of JSON. */
function run(runtime, job) {
  const [program, ...args] = RUNTIMES[runtime];
  return new Promise((resolve, reject) => {
    execFile(program, [...args, bundle, JSON.stringify(job)], { cwd: npm, timeout: 45000, env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (!line) return reject(new Error(`${runtime} ${job.client}: no result (${error?.message}): ${stderr.slice(-3000)}`));
      resolve(JSON.parse(line));
    });
  });
}

const job = (client, extra = {}) => ({ client, port: running[CLIENTS[client]].port, ca: pki("ca.pem"), cert: pki("client.pem"), key: pki("client.key"), ...extra });

for (const runtime of Object.keys(RUNTIMES)) {
  describe(`${runtime}: the clients over tlswire/node`, () => {
    test("pg runs a query over TLS 1.3 with a client certificate (PostgreSQL's SSLRequest, then TLS)", async () => {
      const r = await run(runtime, job("pg"));
      assert.deepEqual(r, { ok: true, tls: "tlswire", ssl: true, version: "TLSv1.3", user: servers.CLIENT_USER });
    });
    test("postgres.js runs a query over TLS 1.3 with a client certificate", async () => {
      const r = await run(runtime, job("postgres"));
      assert.deepEqual(r, { ok: true, tls: "tlswire", ssl: true, version: "TLSv1.3", user: servers.CLIENT_USER });
    });
    test("ioredis SET then GET", async () => {
      const r = await run(runtime, job("ioredis"));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.tls, "tlswire");
      assert.equal(r.read, r.value);
    });
    test("mqtt.js publishes and receives its own message (QoS 1)", async () => {
      const r = await run(runtime, job("mqtt"));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.tls, "tlswire");
      assert.deepEqual([r.topic, r.payload], ["tlswire/test", r.sent]);
    });
    test("nodemailer sends a message after STARTTLS; the server saw the client certificate", async () => {
      const before = running.smtp.messages().length;
      const r = await run(runtime, job("nodemailer"));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.tls, "tlswire");
      assert.match(r.response, /^250 /);
      const deadline = Date.now() + 5000;
      while (running.smtp.messages().length === before && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      const seen = running.smtp.messages().at(-1);
      assert.ok(seen?.data.includes(r.text), "the server has the message");
      assert.equal(seen.peercert.commonName, servers.CLIENT_USER);
    });

    for (const client of Object.keys(CLIENTS)) {
      test(`${client}: an unknown CA is the client's error with tlswire's CERT_UNKNOWN_ISSUER`, async () => {
        const r = await run(runtime, job(client, { ca: pki("other-ca.pem") }));
        assert.equal(r.ok, false);
        assert.equal(r.error.name, "TlsError", JSON.stringify(r));
        // nodemailer puts its own step code in `code` and keeps the one it found in `originalCode`.
        assert.equal(client === "nodemailer" ? r.error.originalCode : r.error.code, "CERT_UNKNOWN_ISSUER", JSON.stringify(r));
      });
      test(`${client}: without a client certificate the server's refusal reaches the client`, async () => {
        const r = await run(runtime, job(client, { cert: undefined, key: undefined }));
        assert.equal(r.ok, false, JSON.stringify(r));
        const expected = {
          // PostgreSQL asks for a certificate without requiring one, then refuses the login.
          pg: (e) => e.code === "28000",
          postgres: (e) => e.code === "28000",
          // Redis, Mosquitto, aiosmtpd require one in the handshake: TLS 1.3 lets the client finish
          // first, then the server's alert (or its close) arrives with the client's first read or write.
          ioredis: (e) => ["ALERT_RECEIVED", "TRUNCATED", "ECONNRESET", "EPIPE"].includes(e.code),
          mqtt: (e) => ["ALERT_RECEIVED", "TRUNCATED", "ECONNRESET", "EPIPE"].includes(e.code),
          nodemailer: (e) => ["ALERT_RECEIVED", "TRUNCATED", "ECONNRESET", "EPIPE"].includes(e.originalCode),
        }[client];
        assert.ok(expected(r.error), JSON.stringify(r));
      });
    }
  });
}

describe("workerd: pg and postgres.js in the example Worker, over the platform's connect(), with mutual TLS", () => {
  const config = path.join(npm, "examples/workerd-postgres/config.capnp");
  const env = (ca) => ({ PG_HOST: "127.0.0.1", PG_PORT: String(running.postgres.port), PG_USER: servers.CLIENT_USER, PG_SERVER_NAME: "localhost", CA: pem(ca), CLIENT_CERT: pem("client.pem"), CLIENT_KEY: pem("client.key") });
  const workers = {};
  before(async () => {
    workers.ca = await workerd(config, env("ca.pem"));
    workers.other = await workerd(config, env("other-ca.pem"));
  });
  after(() => Object.values(workers).forEach((w) => w.stop()));
  const query = (w, client) => fetch(`${w.url}/?client=${client}`, { signal: AbortSignal.timeout(30000) }).then(async (r) => ({ status: r.status, ...(await r.json()) }));

  for (const client of ["pg", "postgres"]) {
    test(`${client}: a query over TLS 1.3 with a private CA and a client certificate`, async () => {
      assert.deepEqual(await query(workers.ca, client), { status: 200, ok: true, ssl: true, version: "TLSv1.3", user: servers.CLIENT_USER });
    });
    test(`${client}: an unknown CA is the client's error with CERT_UNKNOWN_ISSUER`, async () => {
      const r = await query(workers.other, client);
      assert.equal(r.status, 502);
      assert.deepEqual([r.error.name, r.error.code], ["TlsError", "CERT_UNKNOWN_ISSUER"], JSON.stringify(r));
    });
  }
});

describe("Chromium: postgres.js in a page, through Wisp, with mutual TLS end to end", () => {
  let context, page, wispPeer, web;
  before(async () => {
    wispPeer = await wispServer();
    const port = await freePort();
    // websockify --web: a static server for the page (its bridge is not used here).
    web = await start("websockify", ["--web", npm, `127.0.0.1:${port}`, `127.0.0.1:${running.postgres.port}`], port);
    context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-chromium-")), {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/test/clients/browser.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  });
  after(async () => {
    await context?.close();
    web?.stop();
    wispPeer?.stop();
  });
  const query = (ca) => page.evaluate((job) => window.query(job), { wispUrl: wispPeer.url, port: running.postgres.port, ca: pem(ca), certificate: pem("client.pem"), privateKey: pem("client.key") });

  test("postgres.js: a query over TLS 1.3; PostgreSQL saw the client certificate", async () => {
    assert.deepEqual(await query("ca.pem"), { ok: true, ssl: true, version: "TLSv1.3", user: servers.CLIENT_USER });
  });
  test("postgres.js: an unknown CA is its error with CERT_UNKNOWN_ISSUER", async () => {
    const r = await query("other-ca.pem");
    assert.deepEqual([r.ok, r.error.name, r.error.code], [false, "TlsError", "CERT_UNKNOWN_ISSUER"], JSON.stringify(r));
  });
});

test("README: each block of \"With your database or broker client\" is code that these tests run", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/<!-- from (\S+) -->\n```\w*\n([\s\S]*?)```/g)];
  assert.ok(blocks.length >= 5, `the section's blocks are marked (${blocks.length})`);
  for (const [, file, block] of blocks) {
    // Every line of the block is a line of the file, in the file's order.
    const lines = readFileSync(path.join(root, file), "utf8").split("\n").map((l) => l.trim());
    let at = 0;
    for (const line of block.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const found = lines.indexOf(line, at);
      assert.ok(found >= 0, `${file} has, in this order: ${line}`);
      at = found + 1;
    }
  }
});
