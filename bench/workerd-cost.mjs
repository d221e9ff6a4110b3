// Per-request cost of tlswire inside Cloudflare's workerd (the npm `workerd` binary), against
// openssl s_server on 127.0.0.1 requiring a client certificate (mutual TLS 1.3, the example
// worker's setting). Run after `npm run build` in npm/:  node bench/workerd-cost.mjs
//
// 1. Instantiation: the engine's WebAssembly instantiation, once per isolate, timed inside the
//    isolate on its first request, in 10 fresh workerd processes; with each one's first handshake.
// 2. Handshake: `startTls` (TCP connect included) timed inside the isolate, median of 60 per
//    server key (ECDSA P-256, RSA 2048) and per way of configuring (the CA, client certificate and
//    key parsed for every connection, or once per isolate with createContext), and the HTTP round
//    trip of the whole request from outside; a bare TCP connect as the baseline.
// 3. Memory: after 10 warm-up connections, then after 100 and 200 more sequential connections:
//    the engine's wasm memory, the isolate's JS heap after a full GC (V8 inspector
//    Runtime.getHeapUsage) and workerd's RSS. Exits 1 if 100 connections grow the wasm memory
//    by more than 64 KiB (one page) or the JS heap by more than 256 KiB: a per-connection leak.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { freePort, opensslServer, pem, pki, workerd } from "../npm/test/peers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const WebSocket = createRequire(path.join(here, "../npm/package.json"))("ws");
const config = path.join(here, "workerd/config.capnp");
const env = { TLS_CA: pem("ca.pem"), TLS_CLIENT_CERT: pem("client.pem"), TLS_CLIENT_KEY: pem("client.key") };
const mtls = ["-Verify", "1", "-CAfile", pki("ca.pem"), "-alpn", "http/1.1"];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

async function get(url) {
  const start = performance.now();
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return { ...body, roundTrip: performance.now() - start };
}

/** The V8 inspector of workerd's `main` isolate. */
async function inspector(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/main`);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const reply = JSON.parse(m);
    pending.get(reply.id)?.(reply.result);
  });
  return {
    call: (method) => new Promise((resolve) => (pending.set(++id, resolve), ws.send(JSON.stringify({ id, method })))),
    close: () => ws.close(),
  };
}

const ecdsa = await opensslServer(mtls, "server-ecdsa");
const rsa = await opensslServer(mtls, "server-rsa");
const servers = { "ECDSA P-256": ecdsa, "RSA 2048": rsa };

// 1. Instantiation, once per isolate.
const instantiate = [];
const firstHandshake = [];
for (let i = 0; i < 10; i++) {
  const w = await workerd(config, env);
  instantiate.push((await get(`${w.url}/instantiate`)).ms);
  firstHandshake.push((await get(`${w.url}/handshake?port=${ecdsa.port}`)).ms);
  w.stop();
}
console.log("workerd", createRequire(path.join(here, "../npm/package.json"))("workerd").version, "| engine",
  readFileSync(path.join(here, "../npm/dist/wasm/tlswire_bg.wasm")).length, "bytes");
console.log(`instantiation per isolate: median ${fmt(median(instantiate))} (10 isolates: ${instantiate.map((x) => x.toFixed(1)).join(" ")})`);
console.log(`first handshake in a fresh isolate (ECDSA): median ${fmt(median(firstHandshake))}`);

// 2 and 3 in one long-lived isolate, with its inspector.
const port = await freePort();
const w = await workerd(config, env, [`--inspector-addr=127.0.0.1:${port}`]);
const v8 = await inspector(port);
await get(`${w.url}/instantiate`);

async function memory() {
  const { wasmBytes } = await get(`${w.url}/memory`);
  const { usedSize } = await v8.call("Runtime.getHeapUsage");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${w.child.pid}/status`, "utf8"))[1]) * 1024;
  return { wasmBytes, heap: usedSize, rss };
}
const connections = async (n) => {
  for (let i = 0; i < n; i++) await get(`${w.url}/handshake?port=${ecdsa.port}`);
};

await connections(10);
const m0 = await memory();
await connections(100);
const m100 = await memory();
await connections(100);
const m200 = await memory();
console.log("memory (after GC)        after warm-up   +100 conns     +200 conns");
for (const [label, key] of [["engine wasm memory", "wasmBytes"], ["isolate JS heap", "heap"], ["workerd RSS", "rss"]]) {
  console.log(`${label.padEnd(24)} ${kib(m0[key]).padStart(12)} ${kib(m100[key]).padStart(14)} ${kib(m200[key]).padStart(14)}`);
}

for (const [name, server] of Object.entries(servers)) {
  for (const context of ["per-request", "shared"]) {
    const inside = [];
    const outside = [];
    for (let i = 0; i < 65; i++) {
      const r = await get(`${w.url}/handshake?port=${server.port}&context=${context}`);
      if (i < 5) continue; // warm-up
      inside.push(r.ms);
      outside.push(r.roundTrip);
    }
    console.log(`handshake, ${name} server, settings ${context.padEnd(11)} (mutual TLS 1.3, n=60): startTls median ` +
      `${fmt(median(inside))}, p90 ${fmt(p90(inside))}; request round trip median ${fmt(median(outside))}`);
  }
}
const tcp = [];
for (let i = 0; i < 60; i++) tcp.push((await get(`${w.url}/tcp?port=${ecdsa.port}`)).ms);
console.log(`baseline: TCP connect alone (n=60): median ${fmt(median(tcp))}`);

v8.close();
w.stop();
ecdsa.stop();
rsa.stop();

const wasmGrowth = m100.wasmBytes - m0.wasmBytes;
const heapGrowth = m100.heap - m0.heap;
if (wasmGrowth > 65536 || heapGrowth > 256 * 1024) {
  console.log(`LEAK: 100 connections grew wasm memory by ${wasmGrowth} bytes, the JS heap by ${heapGrowth} bytes`);
  process.exit(1);
}
console.log(`no leak: 100 connections grew wasm memory by ${wasmGrowth} bytes, the JS heap by ${heapGrowth} bytes ` +
  "(bounds 64 KiB, 256 KiB)");
