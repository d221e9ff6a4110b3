// Compiled (not run) by test/types.test.mjs: the hand-written index.d.ts accepts the documented uses.
import { accept, connect, createContext, createServerContext, startTls, memoryUsage, initWasm, TlsError, type TlsContext, type Transport } from "../../src/index.js";
declare const socket: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; opened: Promise<unknown> };
let context: Promise<TlsContext> | undefined;
context ??= createContext({ ca: "pem", certificate: "c", privateKey: "k", alpn: ["h2"] });
const tls = await startTls(socket, { serverName: "db", context });
const info = await tls.opened; console.log(info.remoteAddress, tls.info.peerSubject, memoryUsage()?.wasmBytes);
tls.addEventListener("message", (e) => console.log(e.contentType));
await initWasm();
await connect({ transport: socket, serverName: "x", ca: "pem" }).catch((e: TlsError) => e.code);
// The transports' subpaths, the platform ciphers switch and allowHalfOpen.
import { webSocket } from "../../src/transports/websocket.js";
import { wisp } from "../../src/transports/wisp.js";
import { webTransport } from "../../src/transports/webtransport.js";
import { platformCrypto } from "../../src/index.js";
const which: "node:crypto" | "webcrypto" | null = platformCrypto(false);
await connect({ transport: webSocket("wss://bridge.example/"), serverName: "x", ca: "pem", allowHalfOpen: true });
await connect({ transport: wisp("wss://wisp.example/", "db", 5432), serverName: "db", ca: "pem" });
declare const session: WebTransport;
await connect({ transport: webTransport(session), serverName: "x", ca: "pem" });
console.log(which);
// tlswire/node, as a bundler's alias of `tls` gives it to client libraries, and tlswire/sockets.
import nodeTls, { connect as nodeConnect, type TLSSocket } from "../../src/node.js";
const shaped: TLSSocket = nodeTls.connect({ host: "db.internal", port: 5432, ca: "pem", cert: "c", key: "k", ALPNProtocols: ["postgresql"] });
shaped.once("secureConnect", () => console.log(shaped.getProtocol(), shaped.getCipher()?.name, shaped.getPeerCertificate().fingerprint256, shaped.alpnProtocol));
nodeConnect(6380, "127.0.0.1", { servername: "redis", rejectUnauthorized: false }, () => {});
import { connect as cfConnect, setTlsDefaults, setTransport } from "../../src/sockets.js";
setTlsDefaults({ ca: "pem", certificate: "c", privateKey: "k" });
setTransport((hostname, port) => wisp("wss://wisp.example/", hostname, port));
const plain = cfConnect("db.internal:5432", { secureTransport: "starttls" });
const upgraded = plain.startTls({ expectedServerHostname: "db.internal" });
await upgraded.opened;
setTransport(null);

// Control surface (issue 14): sessions, early data, exporters, KeyUpdate, a server.
async function controlSurface(transport: Transport, serverTransport: Transport) {
  let kept: Uint8Array | undefined;
  const tls = await connect({ transport, serverName: "db.internal", ca: "PEM", onSession: (e) => (kept = e.session), earlyData: "GET /\n", checkServerIdentity: (_name, [leaf]) => (leaf.length > 0 ? undefined : new Error("empty")) });
  const material: Uint8Array = tls.exportKeyingMaterial(32, "EXPERIMENTAL x");
  await tls.keyUpdate();
  const sent: number = tls.info.earlyData + tls.info.earlyDataRejected;
  const ocsp: Uint8Array | null = tls.info.ocspResponse;
  const context = await createServerContext({ certificate: "PEM", privateKey: "PEM", requestCert: "optional", ca: "PEM", maxEarlyData: 16384 });
  const server = await accept({ transport: serverTransport, context });
  const which: number | null = server.info.certificate;
  return [kept, material, sent, ocsp, which];
}
console.log(controlSurface);
