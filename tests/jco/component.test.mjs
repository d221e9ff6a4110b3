// The tlswire component transpiled by jco, in Node, against openssl s_server on 127.0.0.1. The
// host side is preview2-shim: its wasi:sockets TCP socket gives the streams handed to the
// component, exactly as a wasmtime host hands over a socket's streams.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { sockets } from "@bytecodealliance/preview2-shim";

import { connections, types } from "./dist/tlswire.js";

const root = path.resolve(import.meta.dirname, "../..");
const pki = mkdtempSync(path.join(tmpdir(), "tlswire-jco-pki-"));
execFileSync("bash", [path.join(root, "tests/scripts/gen-certs.sh"), pki]);
const pem = (name) => readFileSync(path.join(pki, name));

const servers = [];
after(() => servers.forEach((s) => s.kill("SIGKILL")));

/** `openssl s_server -rev` on a free port. */
async function opensslServer(extra) {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const cert = [path.join(pki, "server-ecdsa.pem"), path.join(pki, "server-ecdsa.key")];
  const child = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", cert[0], "-key", cert[1], "-rev", "-quiet", ...extra], { stdio: ["pipe", "ignore", "ignore"] });
  servers.push(child);
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true))).on("error", () => resolve(false));
    });
    if (up) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("openssl s_server did not start");
}

/** A TCP connection made with preview2-shim's wasi:sockets: its [input, output] streams. */
function tcp(port) {
  const socket = sockets.tcpCreateSocket.createTcpSocket("ipv4");
  const network = sockets.instanceNetwork.instanceNetwork();
  socket.startConnect(network, { tag: "ipv4", val: { address: [127, 0, 0, 1], port } });
  socket.subscribe().block();
  return socket.finishConnect();
}

const config = (ca, extra = {}) => ({
  caCertificates: [pem(ca)],
  pins: [],
  crls: [],
  alpn: [],
  clientCertificate: undefined,
  minVersion: undefined,
  maxVersion: undefined,
  cipherSuites: [],
  groups: [],
  observe: false,
  keyLog: false,
  maxSendFragment: undefined,
  keepSessions: false,
  sessionCache: undefined,
  earlyData: false,
  signatureSchemes: [],
  echConfigList: undefined,
  echGrease: false,
  dangerouslyDisableVerification: false,
  ...extra,
});

for (const [flag, version] of [["-tls1_3", "tls13"], ["-tls1_2", "tls12"]]) {
  test(`jco: ${version} with a custom CA and ALPN, 1 MiB echo, protocol messages`, async () => {
    const port = await opensslServer([flag, "-alpn", "h2"]);
    const ctx = connections.ClientContext.build(config("ca.pem", { alpn: ["h2"], observe: true, keyLog: true }));
    const [input, output] = tcp(port);
    const conn = connections.Connection.client(ctx, "localhost", input, output);
    conn.handshake();
    const info = conn.info();
    assert.equal(info.version, version);
    assert.equal(info.alpn, "h2");
    // The key log drain: TLS 1.3's five secrets, TLS 1.2's one master secret.
    const keyLog = conn.takeKeyLog();
    assert.deepEqual(keyLog.map((l) => l.split(" ")[0]).sort(), version === "tls13"
      ? ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"]
      : ["CLIENT_RANDOM"]);
    const lines = conn.takeMessages().map((m) => m.line);
    assert.ok(lines.some((l) => l.startsWith(">>> ") && l.endsWith("ClientHello")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("<<< ") && l.endsWith("Finished")), lines.join("\n"));

    // Lines that read the same reversed: `-rev` answers with identical bytes.
    const line = (i) => {
      const half = Array.from({ length: 63 }, (_, j) => String.fromCharCode(97 + ((i * 7 + j * 13) % 26))).join("");
      return `${half}${i % 10}${[...half].reverse().join("")}\n`;
    };
    const data = new TextEncoder().encode(Array.from({ length: 8192 }, (_, i) => line(i)).join(""));
    conn.write(data);
    const echoed = new Uint8Array(data.length);
    for (let at = 0; at < data.length; ) {
      const chunk = conn.read(65536);
      assert.ok(chunk.length > 0, "close_notify before the echo was complete");
      echoed.set(chunk, at);
      at += chunk.length;
    }
    assert.deepEqual(echoed, data);
    conn.close();
  });
}

test("jco: unknown CA and host-name mismatch are typed errors with their codes", async () => {
  const port = await opensslServer([]);
  for (const [ca, name, kind, code] of [
    ["other-ca.pem", "localhost", "unknown-issuer", "CERT_UNKNOWN_ISSUER"],
    ["ca.pem", "wrong.example", "hostname-mismatch", "CERT_HOSTNAME_MISMATCH"],
  ]) {
    const ctx = connections.ClientContext.build(config(ca));
    const [input, output] = tcp(port);
    const conn = connections.Connection.client(ctx, name, input, output);
    assert.throws(() => conn.handshake(), (e) => {
      assert.equal(e.payload?.tag, "certificate", String(e));
      assert.equal(e.payload.val.kind, kind);
      assert.equal(types.errorCode(e.payload), code);
      return true;
    });
  }
});

test("jco wit: the component exports tlswire:tls types, connections and handshakes, and imports only WASI", () => {
  const component = path.join(path.resolve(root, process.env.CARGO_TARGET_DIR ?? "target"), "wasm32-wasip2/wasm-size/tlswire_component.wasm");
  const wit = execFileSync(path.join(import.meta.dirname, "node_modules/.bin/jco"), ["wit", component], { encoding: "utf8" });
  const exports = wit.match(/^\s*export .*;$/gm).map((l) => l.trim());
  assert.deepEqual(exports, ["export tlswire:tls/types@0.1.0;", "export tlswire:tls/connections@0.1.0;", "export tlswire:tls/handshakes@0.1.0;"]);
  const imports = wit.match(/^\s*import (\S+);$/gm).map((l) => l.trim().split(" ")[1]);
  assert.ok(imports.every((i) => /^wasi:(io|clocks|random|cli)\//.test(i)), imports.join("\n"));
  assert.ok(!imports.some((i) => i.startsWith("wasi:sockets") || i.startsWith("wasi:filesystem")), "no network or files");
});
