// One bench client process: `node client.mjs IMPL JOB` runs one job (JSON) with one TLS client
// implementation and prints its result as one JSON line. A fresh process per job, so the first
// handshakes are cold (V8 has not tiered the wasm up yet) exactly as in a new process or isolate.
//
// IMPL: tlswire (the npm package, wasm; TLSWIRE_NPM selects its directory), node (Node's own
// tls), subtls (SubtleCrypto), epoxy (epoxy-tls over Wisp; needs job.epoxy).
// JOB:  {scenario, port, ca, ...}; scenarios:
//   load       import + wasm compile/instantiate time
//   handshake  `count` sequential handshakes (fresh settings each): wall, process CPU and, for
//              tlswire, time inside the wasm engine's calls, per handshake
//   request    `count` times: connect, send `send 100\n`, read the reply; `shared` settings
//   recv/send  one connection moving `bytes` of application data; MB/s and CPU
//   idle       `count` open idle connections: memory per connection
//   bigwrite   one write() of `bytes`: the engine's wasm memory after it

import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
// The npm package under test (TLSWIRE_NPM: another checkout's npm/, for before/after rows).
const npmDir = process.env.TLSWIRE_NPM ?? path.join(here, "../../npm");
const [impl, jobText] = process.argv.slice(2);
const job = JSON.parse(jobText);
const ca = readFileSync(job.ca, "utf8");
const SERVER_NAME = "localhost";
const enc = new TextEncoder();

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system; // µs
};

function tcp(port) {
  const socket = net.connect(port, "127.0.0.1");
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Each implementation: load() once, then open(port, options) → {write, chunks, close}. */
const impls = {
  async tlswire() {
    const t0 = performance.now();
    // The package's entry for Node (its "node" export condition), as `import "tlswire"` loads it.
    const entry = ["dist/index.js", "src/index.js"].find((f) => existsSync(path.join(npmDir, f)));
    const api = await import(pathToFileURL(path.join(npmDir, entry)));
    await api.initWasm();
    // TLSWIRE_PLATFORM_CRYPTO=0: the engine's own ciphers only (the bench's "wasm ciphers" row).
    if (process.env.TLSWIRE_PLATFORM_CRYPTO === "0") api.platformCrypto(false);
    const loadMs = performance.now() - t0;
    // Time inside the engine: every call into the wasm module (config, engine), summed.
    const wasm = await import(pathToFileURL(path.join(npmDir, "dist/wasm/tlswire.js")));
    let engineMs = 0;
    if (job.scenario === "handshake") {
      for (const cls of [wasm.Config, wasm.Context, wasm.Engine]) {
        for (const target of [cls.prototype, cls]) {
          for (const name of Object.getOwnPropertyNames(target)) {
            const d = Object.getOwnPropertyDescriptor(target, name);
            if (typeof d.value !== "function" || name === "constructor" || name === "__wrap") continue;
            const f = d.value;
            target[name] = function (...args) {
              const s = performance.now();
              try {
                return f.apply(this, args);
              } finally {
                engineMs += performance.now() - s;
              }
            };
          }
        }
      }
    }
    const settings = { ca, ...(job.groups ? { groups: job.groups } : {}) };
    let shared = null;
    return {
      loadMs,
      engineMs: () => engineMs,
      memory: () => api.memoryUsage().wasmBytes,
      async open(port, { reuse = false } = {}) {
        if (reuse) shared ??= await api.createContext(settings);
        const transport = Duplex.toWeb(await tcp(port));
        const conn = await api.connect({ transport, serverName: SERVER_NAME, ...(reuse ? { context: shared } : settings) });
        return { write: (b) => conn.write(b), chunks: () => conn[Symbol.asyncIterator](), close: () => conn.close() };
      },
    };
  },

  async node() {
    let session;
    return {
      loadMs: 0,
      async open(port, { reuse = false } = {}) {
        const socket = tls.connect({ host: "127.0.0.1", port, servername: SERVER_NAME, ca, session: reuse ? session : undefined });
        if (reuse) socket.on("session", (s) => (session = s));
        await new Promise((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
        return {
          write: (b) => new Promise((r) => socket.write(b, r)),
          chunks: () => socket[Symbol.asyncIterator](),
          close: () => new Promise((r) => socket.end(r)),
        };
      },
    };
  },

  // epoxy-tls (rustls + ring in wasm) over its own Wisp client. Its roots are compiled in: the
  // orchestrator gives a copy of its wasm whose "Amazon Root CA 3" key is the bench CA's, and a
  // server whose chain ends in that CA (job.epoxy). Node needs a WebSocket global (ws) and a
  // Request that resolves relative URLs (epoxy makes `new Request("/")`).
  async epoxy() {
    const npmRequire = createRequire(path.join(here, "../../npm/package.json"));
    globalThis.WebSocket ??= npmRequire("ws");
    const NodeRequest = globalThis.Request;
    globalThis.Request = class extends NodeRequest {
      constructor(input, init) {
        super(typeof input === "string" ? new URL(input, "http://localhost/") : input, init);
      }
    };
    const t0 = performance.now();
    const epoxy = vm.runInThisContext(readFileSync(path.join(here, "../node_modules/@mercuryworkshop/epoxy-tls/pkg/epoxy.js"), "utf8") + "\nepoxy;");
    await epoxy(readFileSync(job.epoxy.wasm));
    const loadMs = performance.now() - t0;
    const client = await new epoxy.EpoxyClient(job.epoxy.wisp, "tlswire-bench", 10); // an async constructor
    return {
      loadMs,
      async open(port) {
        const queue = [];
        let wake = () => {};
        let ended = false;
        const push = (item) => (queue.push(item), wake());
        const stream = await client.connect_tls(() => {}, () => ((ended = true), wake()), (e) => push(e instanceof Error ? e : new Error(String(e))),
          (msg) => push(typeof msg === "string" ? enc.encode(msg) : new Uint8Array(msg)), `localhost:${port}`);
        return {
          write: (b) => stream.send(b),
          async *chunks() {
            for (;;) {
              if (queue.length) {
                const item = queue.shift();
                if (item instanceof Error) throw item;
                yield item;
              } else if (ended) return;
              else await new Promise((r) => (wake = r));
            }
          },
          // epoxy's own close() breaks the client's next connection: let the server close.
          close: async () => void stream.send(enc.encode("send 0\n")),
        };
      },
    };
  },

  async subtls() {
    const t0 = performance.now();
    const subtls = await import(pathToFileURL(path.join(here, "../node_modules/subtls/index.js")));
    const loadMs = performance.now() - t0;
    const roots = await subtls.TrustedCert.databaseFromPEM(ca);
    return {
      loadMs,
      async open(port) {
        const socket = await tcp(port);
        const queue = new subtls.SocketReadQueue(socket);
        const { read, write } = await subtls.startTls(SERVER_NAME, roots, queue.read.bind(queue), (d) => socket.write(d));
        // subtls finishes its handshake on the first read or write.
        await write(new Uint8Array(0));
        return {
          write,
          async *chunks() {
            for (let c; (c = await read()) !== undefined; ) yield c;
          },
          close: async () => socket.end(),
        };
      },
    };
  },
};

const client = await impls[impl]();
let result;

switch (job.scenario) {
  case "load":
    result = { loadMs: client.loadMs };
    break;
  case "handshake": {
    const rows = [];
    for (let i = 0; i < job.count; i++) {
      const [w0, c0, e0] = [performance.now(), cpu(), client.engineMs?.() ?? 0];
      const conn = await client.open(job.port);
      rows.push({ wallUs: (performance.now() - w0) * 1000, cpuUs: cpu() - c0, engineUs: ((client.engineMs?.() ?? 0) - e0) * 1000 });
      await conn.close();
    }
    result = { rows };
    break;
  }
  case "request": {
    const rows = [];
    for (let i = 0; i < job.count; i++) {
      const w0 = performance.now();
      const conn = await client.open(job.port, { reuse: job.shared });
      await conn.write(enc.encode("send 100\n"));
      let got = 0;
      for await (const chunk of conn.chunks()) if ((got += chunk.length) >= 100) break;
      rows.push({ wallUs: (performance.now() - w0) * 1000 });
      await conn.close();
    }
    result = { rows };
    break;
  }
  case "recv": {
    const conn = await client.open(job.port);
    const [w0, c0] = [performance.now(), cpu()];
    await conn.write(enc.encode(`send ${job.bytes}\n`));
    let got = 0;
    for await (const chunk of conn.chunks()) got += chunk.length;
    const s = (performance.now() - w0) / 1000;
    if (got !== job.bytes) throw new Error(`received ${got} of ${job.bytes}`);
    result = { mbps: job.bytes / 1e6 / s, cpuUsPerMB: (cpu() - c0) / (job.bytes / 1e6) };
    break;
  }
  case "send": {
    const conn = await client.open(job.port);
    const chunk = new Uint8Array(65536).fill(0x62);
    const [w0, c0] = [performance.now(), cpu()];
    await conn.write(enc.encode(`recv ${job.bytes}\n`));
    for (let left = job.bytes; left > 0; left -= chunk.length) await conn.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
    for await (const c of conn.chunks()) if (new TextDecoder().decode(c).includes("done")) break;
    const s = (performance.now() - w0) / 1000;
    result = { mbps: job.bytes / 1e6 / s, cpuUsPerMB: (cpu() - c0) / (job.bytes / 1e6) };
    await conn.close();
    break;
  }
  case "idle": {
    // Warm up the allocator with one connection, then hold `count` open.
    await (await client.open(job.port)).close();
    globalThis.gc?.();
    const [wasm0, heap0] = [client.memory?.() ?? 0, process.memoryUsage().heapUsed];
    const conns = [];
    for (let i = 0; i < job.count; i++) conns.push(await client.open(job.port));
    globalThis.gc?.();
    const [wasm1, heap1] = [client.memory?.() ?? 0, process.memoryUsage().heapUsed];
    result = { wasmBytesPerConn: (wasm1 - wasm0) / job.count, jsHeapBytesPerConn: (heap1 - heap0) / job.count };
    for (const c of conns) await c.close();
    break;
  }
  case "bigwrite": {
    const conn = await client.open(job.port);
    const before = client.memory();
    await conn.write(enc.encode(`recv ${job.bytes}\n`));
    await conn.write(new Uint8Array(job.bytes).fill(0x63));
    for await (const c of conn.chunks()) if (new TextDecoder().decode(c).includes("done")) break;
    result = { wasmBytesBefore: before, wasmBytesAfter: client.memory() };
    await conn.close();
    break;
  }
  default:
    throw new Error(`unknown scenario ${job.scenario}`);
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
