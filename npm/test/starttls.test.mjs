// tlswire/node and tlswire/sockets against a STARTTLS server made of Node's own TLS (OpenSSL):
// plaintext first, then TLS on the same TCP connection. No byte is lost or read twice across
// the upgrade; tlswire/node's TLSSocket answers the getters client libraries read.

import assert from "node:assert/strict";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { after, before, test } from "node:test";

import * as tlsNode from "../src/node.js";
import { connect as socketsConnect, setTlsDefaults, setTransport } from "../src/sockets.js";
import { freePort, pem } from "./peers.mjs";

let server;
let port;
/**
 * Greets with "220 ready\r\n"; on "STARTTLS\r\n" answers "220 go\r\n" and starts TLS (Node's own,
 * server certificate from the test CA, ALPN "smtp"), then echoes every line upper-cased.
 */
before(async () => {
  port = await freePort();
  server = net.createServer((socket) => {
    socket.write("220 ready\r\n");
    let text = "";
    const onData = (d) => {
      text += d.toString("latin1");
      if (!text.includes("STARTTLS\r\n")) return;
      socket.off("data", onData);
      socket.write("220 go\r\n");
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        cert: pem("server-ecdsa.pem"),
        key: pem("server-ecdsa.key"),
        ALPNProtocols: ["smtp"],
      });
      secure.on("data", (line) => secure.write(line.toString().toUpperCase()));
      secure.on("end", () => secure.end());
      secure.on("error", () => {});
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
});
after(() => server?.close());

/** A plaintext connection past the STARTTLS exchange: resolves to the socket, its reply read. */
async function plaintextUpgrade() {
  const socket = net.connect(port, "127.0.0.1");
  const lines = [];
  let text = "";
  await new Promise((resolve, reject) => {
    socket.on("error", reject);
    const onData = (d) => {
      text += d.toString("latin1");
      while (text.includes("\r\n")) {
        const at = text.indexOf("\r\n");
        lines.push(text.slice(0, at));
        text = text.slice(at + 2);
        if (lines.at(-1) === "220 ready") socket.write("STARTTLS\r\n");
        if (lines.at(-1) === "220 go") {
          socket.off("data", onData);
          socket.off("error", reject);
          resolve();
        }
      }
    };
    socket.on("data", onData);
  });
  assert.equal(text, "", "nothing after the go-ahead in the plaintext phase");
  return { socket, lines };
}

test("tlswire/node: STARTTLS on a socket that carried plaintext; the TLSSocket getters", async () => {
  const { socket, lines } = await plaintextUpgrade();
  assert.deepEqual(lines, ["220 ready", "220 go"]);
  const secure = tlsNode.connect({ socket, host: "127.0.0.1", servername: "localhost", ca: pem("ca.pem"), ALPNProtocols: ["smtp"] });
  await new Promise((resolve, reject) => (secure.once("secureConnect", resolve), secure.once("error", reject)));
  assert.equal(secure.authorized, true);
  assert.equal(secure.authorizationError, null);
  assert.equal(secure.encrypted, true);
  assert.equal(secure.alpnProtocol, "smtp");
  assert.equal(secure.getProtocol(), "TLSv1.3");
  assert.deepEqual(secure.getCipher(), { name: "TLS_AES_128_GCM_SHA256", standardName: "TLS_AES_128_GCM_SHA256", version: "TLSv1.3" });
  assert.equal(secure.isSessionReused(), false);
  assert.equal(secure.remoteAddress, "127.0.0.1");
  assert.equal(secure.remotePort, port);
  const cert = secure.getPeerCertificate();
  assert.deepEqual(cert.subject, { CN: "localhost" });
  assert.deepEqual(cert.issuer, { CN: "tlswire test CA" });
  assert.equal(cert.subjectaltname, "DNS:localhost, IP Address:127.0.0.1");
  assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(cert.valid_to, /GMT$/);
  assert.ok(Buffer.isBuffer(cert.raw));
  assert.equal(cert.issuerCertificate, undefined, "not getPeerCertificate(true)");
  // Node's own parse of the same certificate agrees.
  const own = new (await import("node:crypto")).X509Certificate(cert.raw);
  assert.equal(cert.fingerprint256, own.fingerprint256);

  // TLS data both ways, then a clean close (close_notify each way): 'end' then 'close'.
  secure.write("hello over starttls\n");
  const [reply] = await Promise.all([new Promise((r) => secure.once("data", (d) => r(d.toString())))]);
  assert.equal(reply, "HELLO OVER STARTTLS\n");
  const ended = new Promise((r) => secure.once("end", r));
  const closed = new Promise((r) => secure.once("close", r));
  secure.end();
  await ended;
  await closed;
});

test("tlswire/node: connect(port, host, options, callback) over TCP; a refused TCP connect keeps its ECONNREFUSED", async () => {
  // A TLS server direct (no plaintext first). Node's end() closes TCP without close_notify
  // (`openssl s_client` says "unexpected eof" too): the data arrives, then the truncation error.
  // Deno's and Bun's send close_notify: the data, then a clean end.
  const direct = tls.createServer({ cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key") }, (s) => s.end("hi\n"));
  const directPort = await freePort();
  await new Promise((r) => direct.listen(directPort, "127.0.0.1", r));
  try {
    const secure = await new Promise((resolve, reject) => {
      const s = tlsNode.connect(directPort, "127.0.0.1", { servername: "localhost", ca: pem("ca.pem") }, () => resolve(s));
      s.once("error", reject);
    });
    const chunks = [];
    const error = await (async () => {
      try {
        for await (const chunk of secure) chunks.push(chunk);
      } catch (e) {
        return e;
      }
    })();
    assert.equal(Buffer.concat(chunks).toString(), "hi\n");
    assert.equal(error?.code, process.versions.bun || process.versions.deno ? undefined : "TRUNCATED");
  } finally {
    direct.close();
  }
  const refused = tlsNode.connect({ port: await freePort(), host: "127.0.0.1", servername: "localhost", ca: pem("ca.pem") });
  const error = await new Promise((resolve) => refused.once("error", resolve));
  assert.equal(error.code, "ECONNREFUSED");
});

test("tlswire/node: a wrong CA is a TlsError CERT_UNKNOWN_ISSUER on 'error'; rejectUnauthorized: false connects, unverified", async () => {
  const { socket } = await plaintextUpgrade();
  const secure = tlsNode.connect({ socket, servername: "localhost", ca: pem("other-ca.pem") });
  const error = await new Promise((resolve) => secure.once("error", resolve));
  assert.equal(error.name, "TlsError");
  assert.equal(error.code, "CERT_UNKNOWN_ISSUER");

  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const { socket: again } = await plaintextUpgrade();
    const unverified = tlsNode.connect({ socket: again, servername: "localhost", ca: pem("other-ca.pem"), rejectUnauthorized: false });
    await new Promise((resolve, reject) => (unverified.once("secureConnect", resolve), unverified.once("error", reject)));
    assert.equal(unverified.authorized, false);
    assert.equal(unverified.authorizationError, "VERIFICATION_DISABLED");
    unverified.destroy();
    await new Promise((r) => setImmediate(r));
    assert.ok(warnings.some((w) => w.name === "SecurityWarning" && /rejectUnauthorized: false/.test(w.message)), "a warning says verification is off");
  } finally {
    process.off("warning", onWarning);
  }
});

test("tlswire/sockets: startTls() while a read is in flight: its bytes (the server's first TLS flight) go to TLS", async () => {
  setTransport(async (hostname, p) => {
    const socket = net.connect(p, hostname);
    await new Promise((resolve, reject) => (socket.once("connect", resolve), socket.once("error", reject)));
    return Duplex.toWeb(socket);
  });
  setTlsDefaults({ ca: pem("ca.pem"), alpn: ["smtp"] });
  try {
    const plain = socketsConnect(`127.0.0.1:${port}`, { secureTransport: "starttls" });
    const reader = plain.readable.getReader();
    const writer = plain.writable.getWriter();
    const greeting = await reader.read();
    assert.equal(new TextDecoder().decode(greeting.value), "220 ready\r\n");
    await writer.write(new TextEncoder().encode("STARTTLS\r\n"));
    assert.equal(new TextDecoder().decode((await reader.read()).value), "220 go\r\n");
    // A read left waiting (the next bytes will be the server's TLS), then the upgrade.
    const abandoned = reader.read();
    abandoned.catch(() => {});
    reader.releaseLock();
    writer.releaseLock();
    const secure = plain.startTls({ expectedServerHostname: "localhost" });
    assert.equal(secure.upgraded, true);
    await plain.closed; // the plaintext socket's `closed` resolves on the upgrade, as the platform's
    const w = secure.writable.getWriter();
    await w.write(new TextEncoder().encode("over the upgraded socket\n"));
    const r = secure.readable.getReader();
    const { value } = await r.read();
    assert.equal(new TextDecoder().decode(value), "OVER THE UPGRADED SOCKET\n");
    await secure.close();
  } finally {
    setTransport(null);
    setTlsDefaults({});
  }
});

test("tlswire/node: 'keylog' gives the connection's secrets as Node's TLS server logs them (SSLKEYLOGFILE lines)", async () => {
  const direct = tls.createServer({ cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key") }, (s) => s.end("hi\n"));
  const serverLines = [];
  direct.on("keylog", (line) => serverLines.push(line.toString().trim()));
  const directPort = await freePort();
  await new Promise((r) => direct.listen(directPort, "127.0.0.1", r));
  try {
    const ours = [];
    const secure = tlsNode.connect({ port: directPort, host: "127.0.0.1", servername: "localhost", ca: pem("ca.pem") });
    secure.on("keylog", (line) => {
      assert.ok(Buffer.isBuffer(line) && line.toString().endsWith("\n"), "a Buffer line, newline-terminated, as Node's");
      ours.push(line.toString().trim());
    });
    await new Promise((resolve, reject) => (secure.once("secureConnect", resolve), secure.once("error", reject)));
    for await (const _ of secure.on("error", () => {})) break;
    secure.destroy();
    const labels = ours.map((l) => l.split(" ")[0]).sort();
    assert.deepEqual(labels, ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"]);
    // Node's server logs the same secrets (Deno's and Bun's TLS servers may not emit 'keylog').
    if (serverLines.length) assert.deepEqual([...ours].sort(), [...serverLines].sort());
    else assert.ok(process.versions.bun || process.versions.deno, "Node's server logged nothing");
  } finally {
    direct.close();
  }
});
