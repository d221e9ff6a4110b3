// The npm package in Node, end to end through websockify to real TLS servers on 127.0.0.1.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createHash, X509Certificate } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { Duplex } from "node:stream";
import { after, test } from "node:test";

import WebSocket from "ws";

import { connect, createContext, formatMessage, memoryUsage, platformCrypto, startTls, TlsError, webSocket, wisp } from "../src/index.js";
import { bridge, cuttingRelay, echServer, freePort, gnutlsServer, opensslServer, pem, pki, start, tcp, tlsliteServer, tlswireServer, wispServer, ws } from "./peers.mjs";

const peers = [];
const track = (p) => (peers.push(p), p);
after(() => peers.forEach((p) => p.stop()));

async function readLine(conn) {
  let text = "";
  while (!text.endsWith("\n")) {
    const chunk = await conn.read();
    assert.notEqual(chunk, null, "stream ended early");
    text += new TextDecoder().decode(chunk);
  }
  return text;
}

/** Reads exactly `length` bytes of plaintext. */
async function readBytes(conn, length) {
  const received = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const chunk = await conn.read();
    assert.notEqual(chunk, null, "stream ended early");
    received.set(chunk, at);
    at += chunk.length;
  }
  return received;
}

for (const [flag, version] of [["-tls1_3", "TLSv1.3"], ["-tls1_2", "TLSv1.2"]]) {
  test(`${version} through websockify to openssl s_server`, async () => {
    const server = track(await opensslServer([flag]));
    const b = track(await bridge(server.port));
    const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
    assert.equal(conn.info.version, version);
    await conn.write("ping\n");
    assert.equal(await readLine(conn), "gnip\n");
    await conn.close();
  });
}

test("message events equal openssl s_client -msg's lines for the same handshake", async () => {
  const server = track(await opensslServer([]));
  const bridgeProc = track(await bridge(server.port));
  const events = [];
  const conn = await connect({ transport: ws(bridgeProc.port), serverName: "localhost", ca: pem("ca.pem"), groups: ["X25519"], onMessage: (e) => events.push(e) });
  assert.ok(events.length > 10);
  assert.ok(events.every((e) => e.bytes instanceof Uint8Array && e.contentType !== 23));
  await conn.close();

  // OpenSSL's own client against the same server (stdin ends at once: it closes after the
  // handshake). Its -msg trace goes to stdout. X25519 on both sides: OpenSSL 3.0 has no ML-KEM.
  const cli = spawnSync("openssl",
    ["s_client", "-connect", `127.0.0.1:${server.port}`, "-CAfile", pki("ca.pem"), "-servername", "localhost", "-groups", "X25519", "-msg"],
    { input: "", encoding: "utf8", timeout: 10000 }).stdout;
  // Handshake lines only (up to our Finished): both directions, without lengths.
  const summary = (line) => line.split("\n")[0].replace(/ \[length [0-9a-f]+\]/, "");
  const ours = events.map((e) => summary(formatMessage(e)));
  const finished = ours.indexOf(">>> TLS 1.3, Handshake, Finished");
  assert.ok(finished > 0, ours.join("\n"));
  const cliLines = cli.split("\n").filter((l) => l.startsWith(">>>") || l.startsWith("<<<")).map(summary);
  for (const dir of [">>>", "<<<"]) {
    const pick = (lines) => lines.slice(0, lines.indexOf(">>> TLS 1.3, Handshake, Finished") + 1).filter((l) => l.startsWith(dir));
    assert.deepEqual(pick(ours), pick(cliLines));
  }
});

test("onKeylog: the key log lines equal openssl s_server -keylogfile's for the same handshake, TLS 1.3 and 1.2", async () => {
  for (const [version, count] of [["TLSv1.3", 5], ["TLSv1.2", 1]]) {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "tlswire-keylog-")), "openssl.log");
    const server = track(await opensslServer(["-keylogfile", file]));
    const lines = [];
    const events = [];
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version, onKeylog: (e) => lines.push(e.line) });
    conn.addEventListener("keylog", (e) => events.push(e.line));
    await conn.write("k\n");
    assert.equal(await readLine(conn), "k\n");
    await conn.close();
    server.stop();
    const theirs = readFileSync(file, "utf8").split("\n").filter((l) => l && !l.startsWith("#")).sort();
    assert.equal(lines.length, count, lines.join("\n"));
    assert.deepEqual([...lines].sort(), theirs);
  }
  // Without onKeylog, no keylog event: the secrets stay in the engine.
  const server = track(await opensslServer([]));
  const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
  let seen = 0;
  conn.addEventListener("keylog", () => seen++);
  await conn.write("q\n");
  await readLine(conn);
  await conn.close();
  assert.equal(seen, 0);
});

test("maxSendFragment: the records this client sends carry at most that much data", async () => {
  const server = track(await opensslServer([]));
  const headers = [];
  const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), maxSendFragment: 512, onMessage: (e) => e.direction === "sent" && e.contentType === 256 && headers.push(e.bytes) });
  const line = "m".repeat(3000) + "\n";
  await conn.write(line);
  let got = "";
  while (!got.endsWith("\n")) got += new TextDecoder().decode(await conn.read());
  assert.equal(got, line);
  await conn.close();
  const data = headers.filter((h) => h[0] === 23).map((h) => (h[3] << 8) | h[4]);
  assert.ok(data.length >= 6, String(data));
  assert.ok(data.every((len) => len <= 512 + 17), String(data));
  await assert.rejects(createContext({ ca: pem("ca.pem"), maxSendFragment: 9 }), (e) => e.code === "CONFIG");
});

test("1 MiB echo is byte-identical and a slow reader loses nothing", async () => {
  const server = track(await tlswireServer());
  const b = track(await bridge(server.port));
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 7 + (i >> 9)) & 0xff);
  const sent = conn.write(data);
  const received = new Uint8Array(data.length);
  let at = 0;
  while (at < data.length) {
    const chunk = await conn.read();
    assert.notEqual(chunk, null);
    received.set(chunk, at);
    at += chunk.length;
    if (at % (1 << 18) < chunk.length) await new Promise((r) => setTimeout(r, 20)); // slow reader
  }
  await sent;
  assert.deepEqual(received, data);
  await conn.close();
});

test("a 16 MiB write keeps wasm memory bounded (it does not grow with the size of a write)", async () => {
  const server = track(await tlswireServer());
  const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
  const data = new Uint8Array(16 << 20).map((_, i) => (i * 13 + (i >> 11)) & 0xff);
  const before = memoryUsage().wasmBytes;
  const sent = conn.write(data);
  const received = await readBytes(conn, data.length);
  await sent;
  assert.deepEqual(received, data);
  // A few records in flight each way; before, the whole write was copied in and encrypted at once (+32 MiB).
  assert.ok(memoryUsage().wasmBytes - before <= 1 << 20, `wasm memory grew ${memoryUsage().wasmBytes - before} bytes`);
  await conn.close();
});

test("the client's last handshake flight and its first write leave in one channel write (no Nagle stall)", async () => {
  const server = track(await opensslServer());
  const writes = [];
  const recording = (transport) => {
    const writer = transport.writable.getWriter();
    const writable = new WritableStream({ write: (chunk) => (writes.push(chunk.length), writer.write(chunk)), close: () => writer.close() });
    return { readable: transport.readable, writable };
  };
  // TLS 1.3, no HelloRetryRequest, no client certificate: ClientHello, then CCS + Finished.
  const conn = await connect({ transport: recording(await tcp(server.port)), serverName: "localhost", ca: pem("ca.pem"), groups: ["X25519"] });
  assert.equal(writes.length, 1, "the Finished waits for the caller's first write in this turn");
  await conn.write("ping\n");
  assert.equal(writes.length, 2, "Finished and the request in one channel write");
  assert.equal(await readLine(conn), "gnip\n");
  await conn.close();

  // Without a write, the Finished goes out on its own right after this turn.
  writes.length = 0;
  const idle = await connect({ transport: recording(await tcp(server.port)), serverName: "localhost", ca: pem("ca.pem"), groups: ["X25519"] });
  for (const deadline = Date.now() + 5000; writes.length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  assert.equal(writes.length, 2);
  await idle.close();
});

test("SPKI pin: the server's key hash connects", async () => {
  const server = track(await opensslServer([]));
  const b = track(await bridge(server.port));
  const spki = new X509Certificate(pem("server-ecdsa.pem")).publicKey.export({ type: "spki", format: "der" });
  const pin = createHash("sha256").update(spki).digest("base64");
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem"), pins: [btoa("x".repeat(32)), pin] });
  await conn.write("pin\n");
  assert.equal(await readLine(conn), "nip\n");
  await conn.close();
});

test("certificate failures reject with typed codes", async () => {
  const server = track(await opensslServer([]));
  const b = track(await bridge(server.port));
  const cases = [
    [{ ca: pem("other-ca.pem"), serverName: "localhost" }, "CERT_UNKNOWN_ISSUER"],
    [{ ca: pem("ca.pem"), serverName: "wrong.example" }, "CERT_HOSTNAME_MISMATCH"],
    [{ ca: pem("ca.pem"), serverName: "localhost", pins: [btoa("x".repeat(32))] }, "CERT_PIN_MISMATCH"],
  ];
  for (const [options, code] of cases) {
    await assert.rejects(connect({ transport: ws(b.port), ...options }), (e) => {
      assert.ok(e instanceof TlsError, String(e));
      assert.equal(e.name, "TlsError");
      assert.equal(e.code, code);
      return true;
    });
  }
});

test("each class of certificate rejection has its code from the engine; CRLs revoke", async () => {
  const cases = [
    ["bad-key-usage", {}, "CERT_KEY_USAGE"],
    ["bad-weak-key", {}, "CERT_WEAK_KEY"],
    ["bad-purpose", {}, "CERT_PURPOSE"],
    ["bad-ca-as-leaf", {}, "CERT_CA_AS_END_ENTITY"],
    ["bad-sha1", {}, "CERT_UNSUPPORTED_ALGORITHM"],
    ["bad-name-constraints", {}, "CERT_NAME_CONSTRAINTS"],
    ["bad-revoked", { crls: pem("ca.crl") }, "CERT_REVOKED"],
    ["server-ecdsa", { crls: [pem("other.crl")] }, "CERT_REVOCATION_UNKNOWN"],
  ];
  for (const [identity, options, code] of cases) {
    const chain = existsSync(pki(`${identity}.chain`)) ? ["-cert_chain", pki(`${identity}.chain`)] : [];
    // SECLEVEL=0: OpenSSL itself refuses to serve the SHA-1 and 1024-bit certificates.
    const server = track(await opensslServer(["-tls1_3", "-cipher", "DEFAULT@SECLEVEL=0", ...chain], identity));
    await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), ...options }), (e) => {
      assert.equal(e.name, "TlsError", String(e));
      assert.equal(e.code, code, `${identity}: ${e.message}`);
      assert.ok(e.alertSent, `${identity}: an alert went to the server`);
      assert.doesNotMatch(e.message, /Other\(|\{ /, "a readable message, not a debug dump");
      return true;
    });
    server.stop();
  }
  // The revoked server is accepted without the CRL, and a good one with it.
  for (const [identity, crls] of [["bad-revoked", undefined], ["server-ecdsa", pem("ca.crl")]]) {
    const server = track(await opensslServer(["-tls1_3"], identity));
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), crls });
    await conn.write("crl\n");
    assert.equal(await readLine(conn), "lrc\n");
    await conn.close();
    server.stop();
  }
  await assert.rejects(createContext({ ca: pem("ca.pem"), crls: "not a CRL" }), (e) => e.code === "CONFIG" && /CRL/.test(e.message));
});

test("a server dropping TCP without close_notify is truncation, not a clean end", async () => {
  const server = track(await opensslServer([]));
  const b = track(await bridge(server.port));
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
  await conn.write("one\n");
  assert.equal(await readLine(conn), "eno\n");
  server.stop(); // SIGKILL: no close_notify
  await assert.rejects(conn.read(), (e) => e instanceof TlsError && e.code === "TRUNCATED");
  await assert.rejects(conn.closed, (e) => e.code === "TRUNCATED");
});

test("the bridge closing mid-handshake (inside the first record, or before any reply) rejects", async () => {
  for (const [reply, code] of [
    [Buffer.from([0x16, 3, 3, 0, 0x7a, 2, 0]), "CLOSED_DURING_HANDSHAKE"],
    [Buffer.alloc(0), "CLOSED_DURING_HANDSHAKE"],
  ]) {
    const port = await freePort();
    const raw = net.createServer((s) => s.once("data", () => s.end(reply)));
    await new Promise((r) => raw.listen(port, "127.0.0.1", r));
    const b = track(await bridge(port));
    await assert.rejects(connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") }), (e) => e.code === code);
    raw.close();
  }
});

for (const [priority, version] of [["NORMAL:-VERS-ALL:+VERS-TLS1.3", "TLSv1.3"], ["NORMAL:-VERS-ALL:+VERS-TLS1.2", "TLSv1.2"]]) {
  test(`${version} with ALPN through websockify to gnutls-serv`, async () => {
    const server = track(await gnutlsServer(["--priority", priority, "--alpn", "http/1.1"]));
    const b = track(await bridge(server.port));
    const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem"), alpn: ["h2", "http/1.1"] });
    assert.equal(conn.info.version, version);
    assert.equal(conn.info.alpn, "http/1.1");
    await conn.write("ping\n");
    assert.equal(await readLine(conn), "ping\n");
    await conn.close();
  });
}

test("X25519MLKEM768 to tlslite-ng, without HelloRetryRequest", async () => {
  const server = track(await tlsliteServer(["--groups", "x25519mlkem768"]));
  const b = track(await bridge(server.port));
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
  assert.equal(conn.info.group, "X25519MLKEM768");
  assert.equal(conn.info.helloRetryRequest, false);
  await conn.write("ping\n");
  assert.equal(await readLine(conn), "ping\n");
  await conn.close();
});

test("client certificate: accepted when sent, certificate_required when not", async () => {
  const server = track(await opensslServer(["-Verify", "1", "-CAfile", pki("ca.pem")]));
  const b = track(await bridge(server.port));
  const base = { serverName: "localhost", ca: pem("ca.pem") };
  const conn = await connect({ ...base, transport: ws(b.port), certificate: pem("client.pem"), privateKey: pem("client.key") });
  await conn.write("auth\n");
  assert.equal(await readLine(conn), "htua\n");
  await conn.close();

  // TLS 1.3: the server checks the client's flight after our Finished, so the alert arrives on read.
  const anon = await connect({ ...base, transport: ws(b.port) });
  await assert.rejects(anon.read(), (e) => {
    assert.equal(e.code, "ALERT_RECEIVED");
    assert.equal(e.alert, "certificate_required");
    return true;
  });
});

test("the bridge's TCP cut after the handshake: at a record boundary TRUNCATED, inside a record CLOSED_MID_RECORD", async () => {
  const server = track(await opensslServer([]));
  for (const [mode, code] of [["boundary", "TRUNCATED"], ["mid-record", "CLOSED_MID_RECORD"]]) {
    const relay = track(await cuttingRelay(server.port));
    const b = track(await bridge(relay.port));
    const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
    await conn.write("before\n");
    assert.equal(await readLine(conn), "erofeb\n"); // data before the cut arrives intact
    relay.cut(mode);
    await conn.write("after\n");
    await assert.rejects(conn.read(), (e) => e instanceof TlsError && e.code === code);
    await assert.rejects(conn.closed, (e) => e.code === code);
  }
});

test("streams: writable in, async iteration out, asyncDispose sends close_notify", async () => {
  const server = track(await tlswireServer());
  const b = track(await bridge(server.port));
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
  const writer = conn.writable.getWriter();
  const parts = ["alpha ", "beta ", "gamma\n"];
  for (const p of parts) await writer.write(new TextEncoder().encode(p));
  let text = "";
  for await (const chunk of conn) {
    text += new TextDecoder().decode(chunk);
    if (text.endsWith("\n")) break;
  }
  assert.equal(text, parts.join(""));
  await conn[Symbol.asyncDispose](); // what `await using` calls: close_notify
  await conn.closed;
});

test("tlswire/roots: Mozilla's roots load, do not trust the test CA, and combine with it", async () => {
  const { default: roots } = await import("tlswire/roots");
  assert.ok(roots.count > 100, `${roots.count} roots`);
  const server = track(await opensslServer([]));
  const b = track(await bridge(server.port));
  await assert.rejects(connect({ transport: ws(b.port), serverName: "localhost", ca: roots }), (e) => e.code === "CERT_UNKNOWN_ISSUER");
  const conn = await connect({ transport: ws(b.port), serverName: "localhost", ca: [roots, pem("ca.pem")] });
  await conn.close();
  // Nothing is trusted by default: no `ca` is a configuration error, not a silent pass.
  await assert.rejects(connect({ transport: ws(b.port), serverName: "localhost" }), (e) => e.code === "CONFIG");
});

test("Wisp: two TLS connections multiplexed over one WebSocket (wisp-js server), flow-controlled echo, refused port", async () => {
  const echo = track(await tlswireServer());
  const rev = track(await opensslServer([]));
  const server = track(await wispServer());
  const options = { WebSocket };
  const [a, b] = await Promise.all([
    connect({ transport: wisp(server.url, "127.0.0.1", echo.port, options), serverName: "localhost", ca: pem("ca.pem") }),
    connect({ transport: wisp(server.url, "127.0.0.1", rev.port, options), serverName: "localhost", ca: pem("ca.pem") }),
  ]);
  await b.write("wisp\n");
  assert.equal(await readLine(b), "psiw\n");
  // 300 writes = 300 DATA packets, more than the server's budget (128): the sender must wait for
  // its CONTINUE packets and lose nothing.
  const data = new Uint8Array(300 * 3500).map((_, i) => (i * 13) & 0xff);
  const sent = (async () => {
    for (let at = 0; at < data.length; at += 3500) await a.write(data.subarray(at, at + 3500));
  })();
  const received = await readBytes(a, data.length);
  await sent;
  assert.deepEqual(received, data);
  await Promise.all([a.close(), b.close()]);

  const closed = await freePort();
  await assert.rejects(connect({ transport: wisp(server.url, "127.0.0.1", closed, options), serverName: "localhost", ca: pem("ca.pem") }),
    (e) => e instanceof TlsError && e.code === "CHANNEL_ERROR" && typeof e.wispReason === "number");
});

test("a finished connection frees its engine: 60 connections after warm-up do not grow the wasm memory", async () => {
  const server = track(await opensslServer(["-Verify", "1", "-CAfile", pki("ca.pem")]));
  const once = async () => {
    const options = { serverName: "localhost", ca: pem("ca.pem"), certificate: pem("client.pem"), privateKey: pem("client.key") };
    const conn = await startTls(await tcp(server.port), { ...options, onMessage: () => {} });
    await conn.write("ping\n");
    assert.equal(await readLine(conn), "gnip\n");
    await conn.close();
  };
  for (let i = 0; i < 5; i++) await once();
  const before = memoryUsage().wasmBytes;
  for (let i = 0; i < 60; i++) await once();
  // Each connection holds ~40 KB of engine state; a leak of one per connection would show here.
  assert.equal(memoryUsage().wasmBytes, before);
});

test("startTls on a Socket-shaped pair: opened carries the socket's info, close() closes the socket", async () => {
  const server = track(await opensslServer());
  const raw = net.connect(server.port, "127.0.0.1");
  const { readable, writable } = Duplex.toWeb(raw);
  let socketClosed = 0;
  const socket = {
    readable,
    writable,
    opened: new Promise((resolve) => raw.once("connect", () => resolve({ remoteAddress: `127.0.0.1:${server.port}` }))),
    close: async () => void socketClosed++,
  };
  const conn = await startTls(socket, { expectedServerHostname: "localhost", ca: pem("ca.pem") });
  assert.deepEqual(await conn.opened, { remoteAddress: `127.0.0.1:${server.port}` });
  await conn.write("ping\n");
  assert.equal(await readLine(conn), "gnip\n");
  await conn.close();
  await conn.closed;
  assert.equal(socketClosed, 1);
  assert.equal(await conn.read(), null); // close() ended readable too
  await assert.rejects(conn.write("late\n"), (e) => e instanceof TlsError && e.code === "MISUSE");
});

test("createContext: one parsed configuration for many connections; misuse is typed", async () => {
  const server = track(await opensslServer(["-Verify", "1", "-CAfile", pki("ca.pem")]));
  const context = await createContext({ ca: pem("ca.pem"), certificate: pem("client.pem"), privateKey: pem("client.key") });
  const transport = () => tcp(server.port);
  for (let i = 0; i < 3; i++) {
    const conn = await connect({ transport: await transport(), serverName: "localhost", context });
    await conn.write("ping\n");
    assert.equal(await readLine(conn), "gnip\n");
    await conn.close();
  }
  await assert.rejects(connect({ transport: await transport(), serverName: "localhost", context, ca: pem("ca.pem") }),
    (e) => e instanceof TlsError && e.code === "MISUSE" && /options\.ca/.test(e.message));
  context.free();
  await assert.rejects(connect({ transport: await transport(), serverName: "localhost", context }),
    (e) => e instanceof TlsError && e.code === "MISUSE");
  await assert.rejects(createContext({ privateKey: "not a key" }), (e) => e instanceof TlsError && e.code === "CONFIG");
});

test("bulk data through the runtime's own ciphers (node:crypto) is byte-identical to the engine's, every AEAD suite, TLS 1.3 and 1.2, both ways", async () => {
  (await createContext({ ca: pem("ca.pem") })).free(); // instantiates the engine
  assert.equal(platformCrypto(), "node:crypto");
  // Node's own TLS server (OpenSSL) echoing, one listener per suite.
  const suites = [
    ["TLS_AES_128_GCM_SHA256", "TLSv1.3"],
    ["TLS_AES_256_GCM_SHA384", "TLSv1.3"],
    ["TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3"],
    ["ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2"],
    ["ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2"],
  ];
  const data = new Uint8Array(300_000).map((_, i) => (i * 13 + (i >> 11)) & 0xff);
  for (const [suite, version] of suites) {
    const tls13 = version === "TLSv1.3";
    const sockets = new Set();
    const server = tls.createServer(
      { cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key"), minVersion: version, maxVersion: version, ciphers: suite },
      (socket) => (sockets.add(socket), socket.on("error", () => {}), socket.pipe(socket)),
    );
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      for (const platform of [true, false]) {
        platformCrypto(platform);
        const conn = await connect({ transport: await tcp(server.address().port), serverName: "localhost", ca: pem("ca.pem") });
        assert.equal(conn.info.version, version);
        // Deno's `node:tls` server (rustls) ignores `ciphers`, Bun's (BoringSSL) ignores it for
        // TLS 1.3: there those rows run with the suite the server chooses (Node runs each suite).
        if (!process.versions.deno && !(tls13 && process.versions.bun)) {
          assert.match(conn.info.cipherSuite, tls13 ? new RegExp(`^${suite}$`) : suite.includes("CHACHA") ? /CHACHA20/ : /AES_128_GCM/);
        }
        const [, received] = await Promise.all([conn.write(data), readBytes(conn, data.length)]);
        assert.deepEqual(received, data, `${suite}, platform ciphers ${platform}`);
        await conn.close();
      }
    } finally {
      platformCrypto(true);
      server.close();
      sockets.forEach((socket) => socket.destroy());
    }
  }
});

/**
 * `inner` ({readable, writable}) with its writing side watched: `beforeWrite()` may return a
 * rejected promise to fail a write (a channel that died); `onClose()` hears close and abort.
 */
function watched(inner, { beforeWrite = () => null, onClose = () => {} }) {
  const writer = inner.writable.getWriter();
  return {
    readable: inner.readable,
    writable: new WritableStream({
      write: (chunk) => beforeWrite() || writer.write(chunk),
      close: () => (onClose(), writer.close()),
      abort: () => (onClose(), writer.abort()),
    }),
  };
}

/** A Node TLS server on 127.0.0.1 (OpenSSL underneath); `onSocket` gets each TLS socket. */
async function nodeTlsServer(options, onSocket) {
  const sockets = new Set();
  const server = tls.createServer({ cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key"), ...options }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, stop: () => (server.close(), sockets.forEach((s) => s.destroy())) };
}

/** Everything `socket` receives until its peer ends. */
const received = (socket) => new Promise((resolve) => {
  let text = "";
  socket.on("data", (d) => (text += d));
  socket.on("end", () => resolve(text));
});

test("the peer's close_notify is answered with ours and the channel closed; allowHalfOpen keeps writing", async () => {
  // openssl s_server -www serves one connection at a time: the second gets its page only if the
  // first was closed properly.
  const www = track(await opensslServer(["-www"]));
  for (let i = 0; i < 2; i++) {
    const conn = await connect({ transport: await tcp(www.port), serverName: "localhost", ca: pem("ca.pem") });
    await conn.write("GET / HTTP/1.0\r\n\r\n");
    let page = "";
    for await (const chunk of conn) page += new TextDecoder().decode(chunk);
    assert.match(page, /^HTTP\/1\.0 200 ok/);
    await conn.closed;
  }

  // Node's TLS server ends its side after the first line, and reports what came after.
  let after;
  const server = await nodeTlsServer({ allowHalfOpen: true }, (socket) => {
    socket.once("data", () => {
      after = received(socket);
      socket.end("bye\n");
    });
  });
  try {
    for (const allowHalfOpen of [false, true]) {
      const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), allowHalfOpen });
      await conn.write("hello\n");
      assert.equal(await readLine(conn), "bye\n");
      assert.equal(await conn.read(), null);
      if (allowHalfOpen) {
        await conn.write("after the peer's close_notify\n");
        await conn.close();
        assert.equal(await after, "after the peer's close_notify\n");
      } else {
        await conn.closed;
        assert.equal(await after, "", "our close_notify and the channel's end reach the server");
        await assert.rejects(conn.write("too late"), { code: "MISUSE" });
      }
    }
  } finally {
    server.stop();
  }
});

test("a channel that dies while a read flushes pending output fails the connection, with no unhandled rejection", async () => {
  const server = track(await opensslServer(["-tls1_3"]));
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    let dead = false;
    const transport = watched(await tcp(server.port), { beforeWrite: () => dead && Promise.reject(new Error("the channel died")) });
    const conn = await connect({ transport, serverName: "localhost", ca: pem("ca.pem") });
    // Our last handshake flight waits for the first write or the next task; a read in this turn
    // flushes it, into a channel that has died.
    dead = true;
    await assert.rejects(conn.read(), { code: "CHANNEL_ERROR" });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a refused call (write after writable.close()) is a MISUSE rejection; reading goes on", async () => {
  const server = track(await opensslServer(["-tls1_3"]));
  const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
  await conn.write("hello\n");
  await conn.writable.close();
  await assert.rejects(conn.write("x"), { code: "MISUSE" });
  assert.equal(await readLine(conn), "olleh\n");
});

test("an onMessage handler that throws is reported; the failure it interrupted still sends its alert and closes the channel", async () => {
  const server = track(await opensslServer(["-tls1_3"]));
  let channelClosed = false;
  const transport = watched(await tcp(server.port), { onClose: () => (channelClosed = true) });
  const reported = [];
  const reportError = globalThis.reportError;
  globalThis.reportError = (e) => reported.push(e);
  try {
    const sent = [];
    await assert.rejects(
      connect({ transport, serverName: "localhost", ca: pem("other-ca.pem"), onMessage: (e) => {
        sent.push(e.direction);
        throw new Error("handler bug");
      } }),
      { code: "CERT_UNKNOWN_ISSUER", alertSent: "unknown_ca" },
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(channelClosed, "the channel is closed");
    assert.ok(reported.length >= sent.length && reported.every((e) => e.message === "handler bug"));
    assert.ok(sent.length > 2, "every message reached the handler");
  } finally {
    globalThis.reportError = reportError;
  }
});

test("through a WebSocket, a large write waits for the socket to send (bufferedAmount stays bounded) and arrives whole", async () => {
  // Node's TLS server counts what it receives and answers with the count at the end.
  const server = await nodeTlsServer({ allowHalfOpen: true }, (socket) => {
    let n = 0;
    socket.on("data", (d) => (n += d.length));
    socket.on("end", () => socket.end(`${n}\n`));
  });
  try {
    const b = track(await bridge(server.port));
    const socket = new WebSocket(`ws://127.0.0.1:${b.port}/`);
    let most = 0;
    const conn = await connect({ transport: webSocket(socket), serverName: "localhost", ca: pem("ca.pem"), allowHalfOpen: true });
    const sampler = setInterval(() => (most = Math.max(most, socket.bufferedAmount)), 1);
    const size = 16 << 20;
    await conn.write(new Uint8Array(size).fill(0x61));
    clearInterval(sampler);
    await conn.writable.close(); // close_notify: the server's "end"
    assert.equal(await readLine(conn), `${size}\n`);
    assert.ok(most <= 256 * 1024 + 4 * 16384 + 1024, `the WebSocket held at most ${most} bytes unsent`);
  } finally {
    server.stop();
  }
});

test("exportKeyingMaterial equals what openssl s_server -keymatexport exports for the same handshake, TLS 1.3 and 1.2; contexts count", async () => {
  const { connect: nodeConnect } = await import("../src/node.js");
  const { openSync, closeSync } = await import("node:fs");
  for (const version of ["TLSv1.3", "TLSv1.2"]) {
    // openssl s_server prints the material (plain mode, stdout to a file) once per connection.
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), "tlswire-keymat-")), "openssl.txt");
    const fd = openSync(out, "w");
    const port = await freePort();
    const flag = version === "TLSv1.3" ? "-tls1_3" : "-tls1_2";
    const server = track(await start("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki("server-ecdsa.pem"), "-key", pki("server-ecdsa.key"), flag, "-keymatexport", "EXPERIMENTAL tlswire", "-keymatexportlen", "48"], port, process.env, { stdio: ["pipe", fd, "pipe"] }));
    closeSync(fd);
    const material = async (n) => {
      for (let i = 0; i < 200; i++) {
        const found = [...readFileSync(out, "utf8").matchAll(/Keying material: ([0-9A-F]+)/g)].map((m) => m[1].toLowerCase());
        if (found.length > n) return found[n];
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`openssl printed no keying material #${n}`);
    };
    const conn = await connect({ transport: await tcp(port), serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version });
    const hex = (bytes) => Buffer.from(bytes).toString("hex");
    const ours = hex(conn.exportKeyingMaterial(48, "EXPERIMENTAL tlswire"));
    assert.equal(ours, await material(0), version);
    // No context and an empty one are the same in TLS 1.3 only (RFC 8446 7.5, RFC 5705); other
    // contexts and labels give other bytes.
    const empty = hex(conn.exportKeyingMaterial(48, "EXPERIMENTAL tlswire", new Uint8Array(0)));
    assert.equal(ours === empty, version === "TLSv1.3");
    assert.notEqual(ours, hex(conn.exportKeyingMaterial(48, "EXPERIMENTAL tlswire", "context")));
    assert.notEqual(ours, hex(conn.exportKeyingMaterial(48, "EXPERIMENTAL other")));
    assert.throws(() => conn.exportKeyingMaterial(0, "x"), RangeError);
    if (version === "TLSv1.2") assert.throws(() => conn.exportKeyingMaterial(16, "key expansion"), (e) => e.code === "MISUSE");
    await conn.close();
    assert.throws(() => conn.exportKeyingMaterial(16, "x"), (e) => e.code === "MISUSE");

    // tlswire/node's TLSSocket: Node's signature, a Buffer, the same bytes as openssl's.
    const socket = nodeConnect({ host: "127.0.0.1", port, servername: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version });
    assert.throws(() => socket.exportKeyingMaterial(16, "x"), (e) => e.code === "MISUSE");
    await new Promise((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
    const mine = socket.exportKeyingMaterial(48, "EXPERIMENTAL tlswire");
    assert.ok(Buffer.isBuffer(mine));
    assert.equal(mine.toString("hex"), await material(1), `${version}: tlswire/node`);
    socket.destroy();
    server.stop();
  }
});

test("sessions: onSession's bytes resume in another context (another isolate), only where they belong; sessionCache sizes the context's own", async () => {
  const server = track(await opensslServer([]));
  for (const version of ["TLSv1.3", "TLSv1.2"]) {
    const base = { serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version };
    const sessions = [];
    const events = [];
    const first = await connect({ ...base, transport: await tcp(server.port), onSession: (e) => sessions.push(e.session) });
    first.addEventListener("session", (e) => events.push(e.session));
    await first.write("a\n");
    assert.equal(await readLine(first), "a\n");
    assert.equal(first.info.resumed, false);
    await first.close();
    assert.ok(sessions.length >= 1 && sessions.every((s) => s instanceof Uint8Array), version);
    // A TLS 1.2 session is stored as the handshake ends, before a listener can be added: only
    // onSession sees it. TLS 1.3 tickets come after, to both.
    assert.equal(events.length, version === "TLSv1.3" ? sessions.length : 0, version);

    // A fresh context, as in another isolate: the server resumes the session.
    const session = sessions.at(-1);
    const again = await connect({ ...base, transport: await tcp(server.port), session, onSession: (e) => sessions.push(e.session) });
    await again.write("b\n");
    assert.equal(await readLine(again), "b\n");
    assert.equal(again.info.resumed, true, version);
    assert.equal(again.info.peerCertificates.length, 1, "a resumed session still reports the server's chain");
    await again.close();

    // Not for another name (the certificate is valid for 127.0.0.1 too), nor another server.
    const elsewhere = await connect({ ...base, serverName: "127.0.0.1", transport: await tcp(server.port), session: sessions.at(-1) });
    assert.equal(elsewhere.info.resumed, false);
    await elsewhere.close();
    const other = track(await opensslServer([]));
    const foreign = await connect({ ...base, transport: await tcp(other.port), session: sessions.at(-1) });
    await foreign.write("c\n");
    assert.equal(await readLine(foreign), "c\n");
    assert.equal(foreign.info.resumed, false, `${version}: a foreign session gives a full handshake`);
    await foreign.close();
    other.stop();
  }
  await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), session: new Uint8Array([1, 2, 3]) }), (e) => e.code === "CONFIG");

  // The context's own memory: on by default, off with sessionCache: 0.
  for (const [sessionCache, resumes] of [[undefined, true], [0, false]]) {
    const context = await createContext({ ca: pem("ca.pem"), sessionCache });
    const resumed = [];
    for (let i = 0; i < 2; i++) {
      const conn = await connect({ context, transport: await tcp(server.port), serverName: "localhost" });
      await conn.write("d\n");
      await readLine(conn);
      resumed.push(conn.info.resumed);
      await conn.close();
    }
    assert.deepEqual(resumed, [false, resumes], `sessionCache ${sessionCache}`);
    context.free?.();
  }
});

test("tlswire/node: Node's session event, getSession() and the session option resume", async () => {
  const { connect: nodeConnect } = await import("../src/node.js");
  const server = track(await opensslServer([]));
  const open = (session) => new Promise((resolve, reject) => {
    const socket = nodeConnect({ host: "127.0.0.1", port: server.port, servername: "localhost", ca: pem("ca.pem"), session });
    const seen = [];
    socket.on("session", (s) => seen.push(s));
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      socket.write("e\n");
      socket.once("data", () => resolve({ socket, seen }));
    });
  });
  const { socket, seen } = await open(undefined);
  assert.equal(socket.isSessionReused(), false);
  assert.ok(seen.length >= 1 && Buffer.isBuffer(seen[0]));
  assert.deepEqual(socket.getSession(), seen.at(-1));
  socket.destroy();
  const { socket: second } = await open(seen.at(-1));
  assert.equal(second.isSessionReused(), true);
  second.destroy();
});

test("keyUpdate: openssl s_server and gnutls-serv answer our KeyUpdate with theirs (in the trace), and data flows under the new keys; MISUSE where there is none", async () => {
  for (const [name, start, answer] of [["openssl", () => opensslServer([]), (l) => [...l.trimEnd()].reverse().join("") + "\n"], ["gnutls", () => gnutlsServer([]), (l) => l]]) {
    const server = track(await start());
    const trace = [];
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), onMessage: (e) => e.contentType === 22 && trace.push(`${e.direction} ${e.handshakeType}`) });
    await conn.write("before\n");
    assert.equal(await readLine(conn), answer("before\n"));
    trace.length = 0;
    await conn.keyUpdate();
    await conn.write("after\n");
    assert.equal(await readLine(conn), answer("after\n"), name);
    const KEY_UPDATE = 24;
    assert.deepEqual(trace.filter((t) => t.endsWith(` ${KEY_UPDATE}`)), [`sent ${KEY_UPDATE}`, `received ${KEY_UPDATE}`], `${name}: ${trace}`);
    await assert.rejects(conn.keyUpdate(false), (e) => e.code === "MISUSE");
    await conn.close();
    await assert.rejects(conn.keyUpdate(), (e) => e.code === "MISUSE");
    server.stop();
  }
  const server = track(await opensslServer([]));
  const tls12 = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), maxVersion: "TLSv1.2" });
  await assert.rejects(tls12.keyUpdate(), (e) => e.code === "MISUSE" && /TLS 1.2/.test(e.message));
  await tls12.write("still\n");
  assert.equal(await readLine(tls12), "llits\n");
  await tls12.close();
});

test("OCSP stapling: info.ocspResponse and tlswire/node's OCSPResponse event carry what openssl s_server -status_file staples", async () => {
  const { connect: nodeConnect } = await import("../src/node.js");
  const response = new Uint8Array(readFileSync(pki("server-ecdsa.ocsp")));
  for (const version of ["TLSv1.3", "TLSv1.2"]) {
    const server = track(await opensslServer(["-status_file", pki("server-ecdsa.ocsp")]));
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version });
    assert.deepEqual(conn.info.ocspResponse, response, version);
    await conn.close();
    const socket = nodeConnect({ host: "127.0.0.1", port: server.port, servername: "localhost", ca: pem("ca.pem"), requestOCSP: true, minVersion: version, maxVersion: version });
    const got = await new Promise((resolve, reject) => (socket.once("OCSPResponse", resolve), socket.once("error", reject)));
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual(new Uint8Array(got), response);
    socket.destroy();
    server.stop();
  }
  const plain = track(await opensslServer([]));
  const conn = await connect({ transport: await tcp(plain.port), serverName: "localhost", ca: pem("ca.pem") });
  assert.equal(conn.info.ocspResponse, null);
  await conn.close();
});

test("checkServerIdentity: called with the name and chain during the handshake, after the built-in checks; an Error refuses with CERT_REJECTED and certificate_unknown", async () => {
  const { connect: nodeConnect } = await import("../src/node.js");
  const server = track(await opensslServer([]));
  const leaf = new Uint8Array(new X509Certificate(pem("server-ecdsa.pem")).raw);
  const calls = [];
  const ok = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), checkServerIdentity: (name, chain) => void calls.push([name, chain]) });
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0], "localhost");
  assert.deepEqual(calls[0][1][0], leaf);
  await ok.close();

  const sent = [];
  await assert.rejects(
    connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), onMessage: (e) => e.contentType === 21 && sent.push(e), checkServerIdentity: () => new Error("not our server") }),
    (e) => e.code === "CERT_REJECTED" && /not our server/.test(e.message),
  );
  assert.deepEqual(sent.map((e) => [e.direction, e.alert.description]), [["sent", 46]], "certificate_unknown");
  // A throw refuses too; and it is not reached when the built-in checks fail first.
  await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), checkServerIdentity: () => { throw new Error("thrown"); } }), (e) => e.code === "CERT_REJECTED" && /thrown/.test(e.message));
  let reached = false;
  await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("other-ca.pem"), checkServerIdentity: () => void (reached = true) }), (e) => e.code === "CERT_UNKNOWN_ISSUER");
  assert.equal(reached, false);

  // tlswire/node: Node's signature, the certificate described as getPeerCertificate(true) does.
  const socket = nodeConnect({ host: "127.0.0.1", port: server.port, servername: "localhost", ca: pem("ca.pem"), checkServerIdentity: (host, cert) => (cert.subject.CN === "localhost" && host === "localhost" ? new Error(`refusing ${cert.fingerprint256}`) : undefined) });
  const error = await new Promise((resolve) => socket.once("error", resolve));
  assert.equal(error.code, "CERT_REJECTED");
  assert.match(error.message, /refusing ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
});

test("signatureSchemes: the server signs with the scheme this client prefers (info.peerSignatureScheme), and one it does not accept fails", async () => {
  const server = track(await opensslServer([], "server-rsa"));
  for (const version of ["TLSv1.3", "TLSv1.2"]) {
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version, signatureSchemes: ["rsa_pss_rsae_sha512", "rsa_pss_rsae_sha256"] });
    assert.equal(conn.info.peerSignatureScheme, "rsa_pss_rsae_sha512", version);
    assert.equal(conn.info.signatureScheme, null);
    await conn.close();
  }
  await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), signatureSchemes: ["ecdsa_secp256r1_sha256"] }), (e) => e.code === "ALERT_RECEIVED" || e.code === "HANDSHAKE_INCOMPATIBLE");
  await assert.rejects(createContext({ ca: pem("ca.pem"), signatureSchemes: ["md5"] }), (e) => e.code === "CONFIG");
  const { connect: nodeConnect } = await import("../src/node.js");
  const socket = nodeConnect({ host: "127.0.0.1", port: server.port, servername: "localhost", ca: pem("ca.pem"), sigalgs: "rsa_pss_rsae_sha384" });
  await new Promise((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
  socket.destroy();
});

test("earlyData: sent as 0-RTT on resumption and accepted by tlswire s_server -early_data; refused by another server, sent again after the handshake: arrives once either way", async () => {
  const server = track(await tlswireServer(["-early_data"]));
  const sessions = [];
  const first = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), onSession: (e) => sessions.push(e.session) });
  await first.write("a\n");
  assert.equal(await readLine(first), "a\n");
  await first.close();
  const session = sessions.at(-1);
  const early = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), session, earlyData: "early\n" });
  assert.equal(await readLine(early), "early\n");
  assert.deepEqual([early.info.resumed, early.info.earlyData, early.info.earlyDataRejected], [true, 6, 0]);
  await early.close();

  // Another server process: it cannot resume the session, refuses the early data, and gets it
  // again right after the handshake.
  const other = track(await tlswireServer(["-early_data"]));
  const refused = await connect({ transport: await tcp(other.port), serverName: "localhost", ca: pem("ca.pem"), session: sessions[0], earlyData: "again\n" });
  assert.equal(await readLine(refused), "again\n");
  assert.deepEqual([refused.info.resumed, refused.info.earlyData, refused.info.earlyDataRejected], [false, 0, 6]);
  await refused.close();

  // Without a session: nothing goes early; the data is sent after the handshake.
  const plain = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), earlyData: "late\n" });
  assert.equal(await readLine(plain), "late\n");
  assert.equal(plain.info.earlyData, 0);
  await plain.close();
});

test("echConfigList: Encrypted Client Hello through a websockify bridge to Go's crypto/tls; the bridge sees only the public name; a refusal carries retryConfigs that then work; GREASE reaches openssl", async () => {
  const server = track(await echServer());
  const through = track(await bridge(server.port));
  const conn = await connect({ transport: ws(through.port), serverName: "secret.test", ca: server.ca, alpn: ["echo"], echConfigList: server.echConfigList });
  assert.deepEqual([conn.info.ech, conn.info.version, conn.info.alpn], ["accepted", "TLSv1.3", "echo"]);
  await conn.write("hello\n");
  assert.equal(await readLine(conn), "hello\n");
  await conn.close();
  const report = await server.report(1);
  assert.deepEqual([report.accepted, report.server_name, report.outer_sni, report.inner_decrypted, report.inner_sni, report.outer_has_real_name], [true, "secret.test", "public.test", true, "secret.test", false], JSON.stringify(report));

  // A list whose key the server does not hold: ECH_REJECTED, with the server's retry list.
  const rejecting = track(await echServer(["-reject"]));
  const base64 = btoa(String.fromCharCode(...rejecting.echConfigList));
  const err = await connect({ transport: await tcp(rejecting.port), serverName: "secret.test", ca: rejecting.ca, echConfigList: base64 }).then(() => null, (e) => e);
  assert.ok(err instanceof TlsError, String(err));
  assert.deepEqual([err.code, err.alertSent], ["ECH_REJECTED", "ech_required"]);
  assert.deepEqual([...err.retryConfigs], [...rejecting.retryConfigList]);
  const retried = await connect({ transport: await tcp(rejecting.port), serverName: "secret.test", ca: rejecting.ca, echConfigList: err.retryConfigs });
  assert.equal(retried.info.ech, "accepted");
  await retried.close();

  // GREASE: openssl s_server (no ECH) completes the handshake.
  const openssl = track(await opensslServer(["-tls1_3"]));
  const grease = await connect({ transport: await tcp(openssl.port), serverName: "localhost", ca: pem("ca.pem"), echGrease: true });
  await grease.write("abc\n");
  assert.equal(await readLine(grease), "cba\n");
  assert.equal(grease.info.ech, "grease");
  await grease.close();
  await assert.rejects(connect({ transport: await tcp(openssl.port), serverName: "localhost", ca: pem("ca.pem"), echConfigList: "AAAA" }), (e) => e.code === "CONFIG");
});

test("record_size_limit (RFC 8449): gnutls-serv --recordsize 512 through websockify; info.peerRecordSizeLimit, and a 4 KiB line echoes whole in records gnutls accepts", async () => {
  for (const [priority, version, limit] of [["NORMAL:-VERS-ALL:+VERS-TLS1.3", "TLSv1.3", 513], ["NORMAL:-VERS-ALL:+VERS-TLS1.2", "TLSv1.2", 512]]) {
    const server = track(await gnutlsServer(["--recordsize", "512", "--priority", priority]));
    const through = track(await bridge(server.port));
    const conn = await connect({ transport: ws(through.port), serverName: "localhost", ca: pem("ca.pem") });
    assert.deepEqual([conn.info.version, conn.info.peerRecordSizeLimit], [version, limit]);
    const line = "s".repeat(4095) + "\n";
    await conn.write(line);
    assert.equal(await readLine(conn), line);
    await conn.close();
  }
  // openssl s_server (3.0) does not send the extension.
  const openssl = track(await opensslServer());
  const plain = await connect({ transport: await tcp(openssl.port), serverName: "localhost", ca: pem("ca.pem") });
  assert.equal(plain.info.peerRecordSizeLimit, null);
  await plain.close();
});
