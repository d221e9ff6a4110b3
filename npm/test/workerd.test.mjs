// The package inside Cloudflare's workerd: the example worker (examples/workerd) speaks TLS over a
// plain connect() socket to openssl s_server, which requires a client certificate, on 127.0.0.1.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";

import { connect } from "../src/index.js";
import { opensslServer, pem, pki, root, workerd, ws } from "./peers.mjs";

const peers = [];
const track = (p) => (peers.push(p), p);
after(() => peers.forEach((p) => p.stop()));

const example = path.join(root, "npm/examples/workerd/config.capnp");

/** The example worker in a fresh workerd, pointed at `server` with these settings. */
async function worker(server, { ca = "ca.pem", clientCertificate = true } = {}) {
  const env = { TLS_ADDRESS: `127.0.0.1:${server.port}`, TLS_SERVER_NAME: "localhost", TLS_CA: pem(ca) };
  if (clientCertificate) Object.assign(env, { TLS_CLIENT_CERT: pem("client.pem"), TLS_CLIENT_KEY: pem("client.key") });
  return track(await workerd(example, env));
}

/** s_server -www (answers GET with a page describing the session), client certificate required. */
const server = () => opensslServer(["-www", "-Verify", "1", "-CAfile", pki("ca.pem"), "-alpn", "http/1.1"]).then(track);

/** A trace line without its length, e.g. `>>> TLS 1.3, Handshake, ClientHello`. */
const summary = (line) => line.replace(/ \[length [0-9a-f]+\]/, "");

test("workerd: mutual TLS 1.3 through connect() with a private CA and ALPN; trace and peer subject", async () => {
  const w = await worker(await server());
  const response = await fetch(`${w.url}/`);
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.version, "TLSv1.3");
  assert.equal(body.alpn, "http/1.1");
  assert.equal(body.peerSubject, "CN=localhost");
  // s_server -www describes the session it had with us, including the client certificate it verified.
  assert.match(body.response, /^HTTP\/1\.0 200 ok\r\n/);
  assert.match(body.response, /New, TLSv1\.3, Cipher is TLS_AES_128_GCM_SHA256/);
  assert.match(body.response, /Subject: CN=tlswire test client\n/);
  const messages = body.trace.filter((l) => !/RecordHeader|InnerContent/.test(l)).map(summary);
  assert.deepEqual(messages, [
    ">>> TLS 1.3, Handshake, ClientHello",
    "<<< TLS 1.3, Handshake, ServerHello",
    ">>> TLS 1.3, ChangeCipherSpec",
    "<<< TLS 1.3, Handshake, EncryptedExtensions",
    "<<< TLS 1.3, Handshake, CertificateRequest",
    "<<< TLS 1.3, Handshake, Certificate",
    "<<< TLS 1.3, Handshake, CertificateVerify",
    "<<< TLS 1.3, Handshake, Finished",
    ">>> TLS 1.3, Handshake, Certificate",
    ">>> TLS 1.3, Handshake, CertificateVerify",
    ">>> TLS 1.3, Handshake, Finished",
    "<<< TLS 1.3, Handshake, NewSessionTicket",
    "<<< TLS 1.3, Handshake, NewSessionTicket",
    "<<< TLS 1.3, Alert, warning close_notify",
    ">>> TLS 1.3, Alert, warning close_notify",
  ]);
  assert.equal(body.trace[0], ">>> TLS 1.0, RecordHeader [length 0005]");
});

test("workerd: an unknown CA gives the worker a typed error, answered as 502 with the code", async () => {
  const w = await worker(await server(), { ca: "other-ca.pem" });
  const response = await fetch(`${w.url}/`);
  const body = await response.json();
  assert.equal(response.status, 502);
  assert.equal(body.error, "CERT_UNKNOWN_ISSUER");
  assert.equal(body.alertSent, "unknown_ca");
  assert.equal(summary(body.trace.at(-1)), ">>> TLS 1.3, Alert, fatal unknown_ca");
});

test("workerd: without the client certificate the server refuses: 502 with certificate_required", async () => {
  const w = await worker(await server(), { clientCertificate: false });
  const response = await fetch(`${w.url}/`);
  const body = await response.json();
  assert.equal(response.status, 502);
  assert.equal(body.error, "ALERT_RECEIVED");
  assert.match(body.message, /certificate_required/);
  assert.ok(body.trace.some((l) => summary(l) === "<<< TLS 1.3, Alert, fatal certificate_required"));
});

test("the README's Cloudflare Workers section shows the example worker as it is", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const worker = readFileSync(path.join(root, "npm/examples/workerd/worker.js"), "utf8");
  assert.ok(readme.includes("<!-- workerd-example: npm/examples/workerd/worker.js, checked by npm/test/workerd.test.mjs -->\n```js\n" + worker + "```"));
});

test("workerd: a Worker serves TLS with accept() over a WebSocket, the server engine given to initServerWasm; tlswire's client connects through it", async () => {
  const w = track(await workerd(path.join(root, "npm/test/workerd-server/config.capnp"), { TLS_CERT: pem("server-ecdsa.pem"), TLS_KEY: pem("server-ecdsa.key") }));
  const url = new URL(w.url);
  const conn = await connect({ transport: ws(url.port), serverName: "localhost", ca: pem("ca.pem"), alpn: ["echo"] });
  assert.deepEqual([conn.info.version, conn.info.alpn], ["TLSv1.3", "echo"]);
  await conn.write("from the edge\n");
  assert.equal(new TextDecoder().decode(await conn.read()), "from the edge\n");
  await conn.close();
});
