// Memory around large transfers: one tlswire connection (npm package, Node, direct TCP) to the
// side-by-side bench's server writes, then reads, 1 MiB, 32 MiB and 256 MiB in one call each
// (`write(bytes)`, and reading the whole stream). Reports the engine's wasm memory and the
// process's RSS before and at their peak (sampled every 10 ms and at every chunk), so a buffer
// that grows with the size of a transfer shows. Run after `npm run build` in npm/:
//   node bench/memory.mjs [--json FILE]

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { connect, memoryUsage, initWasm } = await import(path.join(root, "npm/src/index.js"));
const pki = mkdtempSync(path.join(tmpdir(), "tlswire-memory-"));
execFileSync("bash", [path.join(root, "tests/scripts/gen-certs.sh"), pki], { stdio: "ignore" });
const server = spawn("node", [path.join(here, "side-by-side/server.mjs"), path.join(pki, "server-ecdsa.pem"), path.join(pki, "server-ecdsa.key")], { stdio: ["ignore", "pipe", "inherit"] });
const ports = await new Promise((resolve) => server.stdout.once("data", (d) => resolve(JSON.parse(d))));
const ca = readFileSync(path.join(pki, "ca.pem"), "utf8");
await initWasm();

async function open() {
  const socket = net.connect(ports.aes128, "127.0.0.1");
  await new Promise((resolve, reject) => (socket.once("connect", resolve), socket.once("error", reject)));
  return connect({ transport: Duplex.toWeb(socket), serverName: "localhost", ca });
}

/** Runs `job` while sampling; returns MiB before and at peak. */
async function measure(job) {
  globalThis.gc?.();
  const mib = (n) => n / (1 << 20);
  const before = { wasm: memoryUsage().wasmBytes, rss: process.memoryUsage().rss };
  const peak = { ...before };
  const sample = () => {
    peak.wasm = Math.max(peak.wasm, memoryUsage().wasmBytes);
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 10);
  try {
    await job(sample);
  } finally {
    clearInterval(timer);
    sample();
  }
  return { wasmBefore: mib(before.wasm), wasmPeak: mib(peak.wasm), rssBefore: mib(before.rss), rssPeak: mib(peak.rss) };
}

const rows = [];
for (const size of [1, 32, 256]) {
  const bytes = size << 20;
  const data = new Uint8Array(bytes).fill(0x62);
  const write = await measure(async () => {
    const conn = await open();
    await conn.write(`recv ${bytes}\n`);
    await conn.write(data);
    for await (const c of conn) if (new TextDecoder().decode(c).includes("done")) break;
    await conn.close();
  });
  const read = await measure(async (sample) => {
    const conn = await open();
    await conn.write(`send ${bytes}\n`);
    let got = 0;
    for await (const c of conn) {
      got += c.length;
      sample();
    }
    if (got !== bytes) throw new Error(`read ${got} of ${bytes}`);
  });
  rows.push({ size, write, read });
}
server.kill();

const f = (x) => x.toFixed(2);
console.log("| transfer | wasm memory, MiB (before → peak) | RSS, MiB (before → peak) |");
console.log("|---|---:|---:|");
for (const { size, write, read } of rows) {
  for (const [what, m] of [["write", write], ["read", read]]) {
    console.log(`| ${what} ${size} MiB in one call | ${f(m.wasmBefore)} → ${f(m.wasmPeak)} (+${f(m.wasmPeak - m.wasmBefore)}) | ${f(m.rssBefore)} → ${f(m.rssPeak)} |`);
  }
}
const jsonAt = process.argv.indexOf("--json");
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(rows, null, 2));
