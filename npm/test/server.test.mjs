// tlswire's server in JavaScript (`accept()`): against openssl s_client over TCP and through a
// websockify bridge, and against tlswire's own client over an in-memory channel.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { Duplex } from "node:stream";
import { after, test } from "node:test";

import { accept, connect, createServerContext } from "../src/index.js";
import { bridge, pem, pki, ws } from "./peers.mjs";

const stops = [];
after(() => stops.forEach((s) => s()));

/** A Node TCP server on 127.0.0.1 whose connections go to `onTransport({readable, writable})`. */
async function tcpServer(onTransport) {
  const server = net.createServer((socket) => onTransport(Duplex.toWeb(socket)));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(() => server.close());
  return server.address().port;
}

/** Echoes each chunk until the client closes. */
async function echo(conn) {
  for await (const chunk of conn) await conn.write(chunk);
  await conn.close();
}

/** `openssl s_client args`, `input` on stdin; resolves with its stdout once it has `until`. */
function opensslClient(args, input, until) {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", ["s_client", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => (child.kill(), reject(new Error(`openssl timed out: ${out} ${err}`))), 20000);
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes(until)) child.stdin.end();
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", () => (clearTimeout(timer), resolve({ out, err })));
    child.stdin.write(input);
  });
}

/** Two connected in-memory channels, like a socket pair (buffered, as a socket is). */
function pipePair() {
  const buffered = () => new TransformStream(undefined, { highWaterMark: 64 }, { highWaterMark: 64 });
  const a = buffered();
  const b = buffered();
  return [{ readable: a.readable, writable: b.writable }, { readable: b.readable, writable: a.writable }];
}

test("accept(): openssl s_client verifies the JS server, TLS 1.3 and 1.2, and gets its data echoed", async () => {
  const accepted = [];
  const port = await tcpServer(async (transport) => {
    const conn = await accept({ transport, certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key"), alpn: ["echo"] });
    accepted.push(conn.info);
    await echo(conn);
  });
  for (const flag of ["-tls1_3", "-tls1_2"]) {
    const { out, err } = await opensslClient(["-connect", `127.0.0.1:${port}`, "-CAfile", pki("ca.pem"), "-verify_return_error", "-alpn", "echo", flag], "ping\n", "ping\n");
    assert.match(out, /ping\n/, err);
    assert.match(out, /Verification: OK/, out);
    assert.match(out, /ALPN protocol: echo/, out);
  }
  assert.deepEqual(accepted.map((i) => i.version), ["TLSv1.3", "TLSv1.2"]);
});

test("accept() behind a websockify bridge: tlswire's client connects through it to the JS server", async () => {
  // websockify forwards each WebSocket to a TCP port: here the JS server's.
  const port = await tcpServer(async (transport) => echo(await accept({ transport, certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key") })));
  const b = await bridge(port);
  stops.push(() => b.stop());
  const client = await connect({ transport: ws(b.port), serverName: "localhost", ca: pem("ca.pem") });
  await client.write("through the bridge\n");
  const got = new TextDecoder().decode(await client.read());
  assert.equal(got, "through the bridge\n");
  await client.close();
});

test("accept() with a server context: client certificates required, sessions resumed, the right certificate chosen", async () => {
  const context = await createServerContext({
    certificate: pem("server-ecdsa.pem"),
    privateKey: pem("server-ecdsa.key"),
    moreCertificates: [{ certificate: pem("server-rsa.pem"), privateKey: pem("server-rsa.key") }],
    requestCert: "required",
    ca: pem("ca.pem"),
  });
  const run = async (clientOptions, serverContext = context) => {
    const [c, s] = pipePair();
    const serving = accept({ transport: s, context: serverContext });
    const client = connect({ transport: c, serverName: "localhost", ca: pem("ca.pem"), ...clientOptions });
    const [server, conn] = await Promise.all([serving, client]);
    await conn.write("hi");
    assert.equal(new TextDecoder().decode(await server.read()), "hi");
    await server.write("there");
    assert.equal(new TextDecoder().decode(await conn.read()), "there");
    const infos = [conn.info, server.info];
    await Promise.all([conn.close(), server.close()]);
    return infos;
  };
  const auth = { certificate: pem("client.pem"), privateKey: pem("client.key") };
  const sessions = [];
  const [client, server] = await run({ ...auth, onSession: (e) => sessions.push(e.session) });
  assert.equal(server.peerCertificates.length, 1, "the client's certificate");
  assert.equal(server.certificate, 0);
  assert.equal(client.peerSignatureScheme, "ecdsa_secp256r1_sha256");
  // A client that takes RSA signatures only gets the RSA certificate (signatureSchemes limits the
  // client's own signatures too: no client certificate here).
  const open = await createServerContext({ certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key"), moreCertificates: [{ certificate: pem("server-rsa.pem"), privateKey: pem("server-rsa.key") }] });
  const [rsa, rsaServer] = await run({ signatureSchemes: ["rsa_pss_rsae_sha256"] }, open);
  assert.equal(rsaServer.certificate, 1);
  assert.equal(rsa.peerSignatureScheme, "rsa_pss_rsae_sha256");
  open.free();
  // The session resumes.
  const [resumed] = await run({ ...auth, session: sessions.at(-1) });
  assert.equal(resumed.resumed, true);
  // Without a client certificate: refused, typed, on both sides.
  const [c, s] = pipePair();
  const [serverResult, clientResult] = await Promise.allSettled([accept({ transport: s, context }), connect({ transport: c, serverName: "localhost", ca: pem("ca.pem") }).then((conn) => conn.read())]);
  assert.equal(serverResult.status, "rejected");
  assert.equal(serverResult.reason.code, "CERT_MISSING");
  assert.equal(clientResult.status, "rejected");
  context.free();
});

test("accept() refuses a bad configuration with CONFIG and misplaced options with MISUSE", async () => {
  const [, s] = pipePair();
  await assert.rejects(accept({ transport: s, certificate: "not PEM", privateKey: "nor this" }), (e) => e.code === "CONFIG");
  const context = await createServerContext({ certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key") });
  const [, s2] = pipePair();
  await assert.rejects(accept({ transport: s2, context, alpn: ["h2"] }), (e) => e.code === "MISUSE");
  context.free();
});

test("checkClientCertificate with dangerouslyAcceptAnyClientCertificate: the JS server lets in openssl s_client's certificate by its bytes, from an issuer it does not know, and refuses another with CERT_REJECTED", async () => {
  const { X509Certificate } = await import("node:crypto");
  const registered = new X509Certificate(pem("client.pem")).raw;
  const results = [];
  const port = await tcpServer(async (transport) => {
    try {
      const conn = await accept({
        transport,
        certificate: pem("server-ecdsa.pem"),
        privateKey: pem("server-ecdsa.key"),
        requestCert: "required",
        dangerouslyAcceptAnyClientCertificate: true,
        checkClientCertificate: (chain) => (Buffer.compare(Buffer.from(chain[0]), registered) === 0 ? undefined : new Error("not a registered device")),
      });
      results.push(["accepted", Buffer.compare(Buffer.from(conn.info.peerCertificates[0]), registered) === 0]);
      await echo(conn);
    } catch (e) {
      results.push([e.code, e.alertSent]);
    }
  });
  const args = (name) => ["-connect", `127.0.0.1:${port}`, "-CAfile", pki("ca.pem"), "-cert", pki(`${name}.pem`), "-key", pki(`${name}.key`), "-tls1_3"];
  const { out } = await opensslClient(args("client"), "device\n", "device\n");
  assert.match(out, /device\n/);
  const refused = await opensslClient(args("server-rsa"), "intruder\n", "never");
  assert.doesNotMatch(refused.out, /intruder\n.*intruder/s);
  assert.deepEqual(results, [["accepted", true], ["CERT_REJECTED", "certificate_unknown"]]);
});

test("a hook on client certificates, or dangerouslyAcceptAnyClientCertificate, without requestCert is refused: no certificate would be asked for and every client let in", async () => {
  const channel = () => {
    const pipe = new TransformStream();
    return { readable: pipe.readable, writable: pipe.writable };
  };
  const identity = { certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key") };
  const refuse = () => new Error("no device is registered");
  await assert.rejects(accept({ transport: channel(), ...identity, checkClientCertificate: refuse }), { code: "MISUSE", message: /requestCert/ });
  const context = await createServerContext(identity);
  await assert.rejects(accept({ transport: channel(), context, checkClientCertificate: refuse }), { code: "MISUSE", message: /requestCert/ });
  context.free();
  await assert.rejects(createServerContext({ ...identity, dangerouslyAcceptAnyClientCertificate: true }), { code: "CONFIG", message: /requestCert/ });
  await assert.rejects(accept({ transport: channel(), ...identity, dangerouslyAcceptAnyClientCertificate: true, checkClientCertificate: refuse }), { message: /requestCert/ });
});
