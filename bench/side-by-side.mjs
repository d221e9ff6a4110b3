// The side-by-side bench: tlswire's wasm engine against tlswire native, Node's own `tls` (OpenSSL,
// the limit in the same process) and the TLS clients users would pick instead, all against the
// same Node `tls` server on 127.0.0.1, rows interleaved within one run. Prints tables (markdown)
// and writes JSON. Run by bench/side-by-side.sh, which builds and installs what it needs.
//
//   node bench/side-by-side.mjs [--quick] [--json FILE] [--baseline NPM_DIR]
//
// Every client job runs in a fresh process (bench/side-by-side/client.mjs, or the native
// bench/src/native_client.rs), so "cold" is the first 10 handshakes of a new process or isolate
// and "warm" the median of the last third of a long run. Each job is repeated in `rounds`
// interleaved rounds (impl A, B, C, A, B, C, …); a figure is the median over the rounds.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import crypto from "node:crypto";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const targetDir = path.resolve(root, process.env.CARGO_TARGET_DIR ?? "target");
const quick = process.argv.includes("--quick");
const option = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
// --baseline DIR: another checkout's built npm/ (e.g. the last commit's), benched as "before".
const baseline = option("--baseline");
const jsonOut = process.argv.includes("--json") ? process.argv[process.argv.indexOf("--json") + 1] : path.join(targetDir, "side-by-side.json");

const ROUNDS = quick ? 1 : 3;
const HANDSHAKES = quick ? 60 : 300;
const BULK = (quick ? 32 : 128) << 20;
const pki = mkdtempSync(path.join(tmpdir(), "tlswire-bench-"));
execFileSync("bash", [path.join(root, "tests/scripts/gen-certs.sh"), pki]);
const ca = path.join(pki, "ca.pem");
const native = path.join(targetDir, "release/native-client");

// --- servers -------------------------------------------------------------------------------
const children = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));
function startChild(cmd, args, ready, stderr = "inherit") {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", stderr] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const value = ready(out);
      if (value !== undefined) resolve(value);
    });
    child.on("exit", (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}
const freePort = () =>
  new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
/** Starts `cmd` (output ignored) and resolves with `port` once it accepts connections there. */
async function startListening(cmd, args, port) {
  children.push(spawn(cmd, args, { stdio: "ignore" }));
  for (const deadline = Date.now() + 20000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const up = await new Promise((resolve) => net.connect(port, "127.0.0.1").once("connect", function () { this.destroy(); resolve(true); }).once("error", () => resolve(false)));
    if (up) return port;
  }
  throw new Error(`${cmd} did not listen on ${port}`);
}
const ports = await startChild("node", [path.join(here, "side-by-side/server.mjs"), path.join(pki, "server-ecdsa.pem"), path.join(pki, "server-ecdsa.key")], (out) =>
  out.includes("\n") ? JSON.parse(out) : undefined,
);
// tlswire's own server for the post-quantum rows (Node 20's OpenSSL 3.0 has no ML-KEM).
// (Its stderr is dropped: it reports every client that leaves without close_notify.)
const pqPort = await freePort();
await startChild(path.join(targetDir, "release/tlswire"), ["s_server", "-accept", `127.0.0.1:${pqPort}`, "-cert", path.join(pki, "server-ecdsa.pem"), "-key", path.join(pki, "server-ecdsa.key"), "-quiet"], (out) =>
  out.includes("ACCEPT") ? true : undefined, "ignore",
);

// epoxy-tls takes no CA: its roots are compiled into its wasm. A CA with the byte-identical
// subject of its bundled "Amazon Root CA 3" (P-256) and that root's key replaced by the CA's in a
// copy of the wasm (same length) let it verify a local chain of the same shape as the others
// (P-256 CA, P-256 leaf). Sizes are measured on the unpatched files. It reaches TCP only
// through a Wisp server (wisp-js, from npm/).
async function epoxySetup() {
  const dir = path.join(pki, "epoxy");
  execFileSync("mkdir", ["-p", dir]);
  const f = (name) => path.join(dir, name);
  writeFileSync(f("ca.cnf"), "[req]\ndistinguished_name = dn\nstring_mask = default\nprompt = no\n[dn]\nC = US\nO = Amazon\nCN = Amazon Root CA 3\n");
  const openssl = (...args) => execFileSync("openssl", args, { stdio: ["pipe", "pipe", "ignore"] });
  openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "30", "-config", f("ca.cnf"),
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", "/CN=localhost");
  writeFileSync(f("leaf.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  openssl("x509", "-req", "-in", f("leaf.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("leaf.pem"), "-days", "30", "-extfile", f("leaf.ext"));
  const spki = new crypto.X509Certificate(readFileSync(f("ca.pem"))).publicKey.export({ type: "spki", format: "der" }).subarray(2); // SEQUENCE content
  const amazon = Buffer.from("301306072a8648ce3d020106082a8648ce3d030107034200042997a7c6417fc00d9be8011b56c6f252a5ba2db212e8d22ed7fac9c5d8aa6d1f73813b3b986b397c33a5c54e868e8017686245577d44581db337e56708eb66de", "hex");
  const wasm = readFileSync(path.join(here, "node_modules/@mercuryworkshop/epoxy-tls/pkg/epoxy.wasm"));
  const at = wasm.indexOf(amazon);
  if (at < 0 || spki.length !== amazon.length) throw new Error("epoxy-tls: the bundled root to replace was not found");
  spki.copy(wasm, at);
  writeFileSync(f("epoxy.wasm"), wasm);
  const server = await startChild("node", [path.join(here, "side-by-side/server.mjs"), f("leaf.pem"), f("leaf.key")], (out) => (out.includes("\n") ? JSON.parse(out) : undefined));
  const wispCli = path.join(root, "npm/node_modules/@mercuryworkshop/wisp-js/src/bin/server_cli.mjs");
  const wispPort = await freePort();
  await startListening("node", [wispCli, "-H", "127.0.0.1", "-P", String(wispPort), "-L", "NONE", "-O", JSON.stringify({ allow_loopback_ips: true })], wispPort);
  return { port: server.aes128, wasm: f("epoxy.wasm"), wisp: `ws://127.0.0.1:${wispPort}/` };
}
const epoxy = await epoxySetup();

// --- running jobs --------------------------------------------------------------------------
function run(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`${cmd} ${args.join(" ")}: ${err}`))));
  });
}
const job = (impl, scenario, extra = {}) => {
  const spec = { scenario, ca, ...extra, ...(impl === "epoxy" ? { port: epoxy.port, epoxy } : {}) };
  if (impl === "native") {
    const n = spec.count ?? spec.bytes;
    return run(native, [scenario, String(spec.port), ca, String(n), ...(spec.groups ? [spec.groups.join(":")] : [])]);
  }
  const flags = scenario === "idle" ? ["--expose-gc"] : [];
  // "before": another checkout's package; "wasm ciphers": this one with platformCrypto(false).
  const env = impl === "before" ? { ...process.env, TLSWIRE_NPM: baseline } : impl === "wasm ciphers" ? { ...process.env, TLSWIRE_PLATFORM_CRYPTO: "0" } : process.env;
  return run("node", [...flags, path.join(here, "side-by-side/client.mjs"), impl === "before" || impl === "wasm ciphers" ? "tlswire" : impl, JSON.stringify(spec)], env);
};
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : undefined;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Runs `make(impl)` for each impl, `ROUNDS` times interleaved; returns impl → [results]. */
async function interleaved(impls, make) {
  if (baseline && impls.includes("tlswire")) impls = ["before", ...impls];
  const out = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const impl of impls) {
      try {
        out[impl].push(await make(impl));
      } catch (e) {
        console.error(`  ${impl}: ${e.message.split("\n")[0]}`);
      }
    }
  }
  return out;
}

const results = { machine: { node: process.version, cpus: (await import("node:os")).cpus()[0].model, quick }, rows: {} };
const log = (s) => console.error(`bench: ${s}`);

// Handshakes: cold = mean of the first 10 in a fresh process; warm = median of the last third.
function summarise(rows) {
  const cold = rows.slice(0, 10);
  const warm = rows.slice(Math.floor(rows.length * 2 / 3));
  const pick = (set, key, f) => f(set.map((r) => r[key]));
  return {
    coldCpuUs: pick(cold, "cpuUs", mean), warmCpuUs: pick(warm, "cpuUs", median),
    coldEngineUs: pick(cold, "engineUs", mean), warmEngineUs: pick(warm, "engineUs", median),
    coldWallUs: pick(cold, "wallUs", mean), warmWallUs: pick(warm, "wallUs", median),
  };
}
const handshakeCases = [
  // epoxy-tls: its own server process (same code and chain shape, see epoxySetup) and over Wisp.
  { name: "X25519", port: ports.aes128, groups: ["X25519"], impls: ["tlswire", "native", "node", "epoxy"] },
  { name: "P-256", port: ports.aes128, groups: ["P-256"], impls: ["tlswire", "native", "subtls"] },
  // Node 20's OpenSSL has no ML-KEM: the post-quantum group against tlswire's own server, and
  // X25519 against the same server for the ratio.
  { name: "X25519MLKEM768 (default groups), tlswire s_server", port: pqPort, groups: null, impls: ["tlswire", "native"] },
  { name: "X25519, tlswire s_server", port: pqPort, groups: ["X25519"], impls: ["tlswire", "native"] },
];
results.rows.handshake = {};
for (const c of handshakeCases) {
  log(`handshake ${c.name}`);
  const runs = await interleaved(c.impls, (impl) => job(impl, "handshake", { port: c.port, count: HANDSHAKES, groups: impl === "node" || impl === "subtls" ? undefined : c.groups }));
  results.rows.handshake[c.name] = Object.fromEntries(
    Object.entries(runs).map(([impl, rs]) => {
      const s = rs.map((r) => summarise(r.rows));
      return [impl, Object.fromEntries(Object.keys(s[0] ?? {}).map((k) => [k, median(s.map((x) => x[k]))]))];
    }),
  );
}

log("connect + first request (fresh settings / one shared context)");
results.rows.request = {};
for (const shared of [false, true]) {
  const runs = await interleaved(["tlswire", "node"], (impl) => job(impl, "request", { port: ports.aes128, count: quick ? 20 : 50, shared }));
  results.rows.request[shared ? "shared" : "fresh"] = Object.fromEntries(
    Object.entries(runs).map(([impl, rs]) => [impl, median(rs.map((r) => median(r.rows.slice(5).map((x) => x.wallUs))))]),
  );
}

results.rows.bulk = {};
for (const [suite, port] of [["AES-128-GCM", ports.aes128], ["AES-256-GCM", ports.aes256], ["ChaCha20-Poly1305", ports.chacha]]) {
  for (const dir of ["recv", "send"]) {
    log(`bulk ${dir} ${suite}`);
    const impls = suite === "AES-128-GCM" ? ["tlswire", "wasm ciphers", "native", "node", "subtls"] : ["tlswire", "wasm ciphers", "native", "node"];
    const runs = await interleaved(impls, (impl) => job(impl, dir, { port, bytes: impl === "subtls" ? BULK / 4 : BULK }));
    results.rows.bulk[`${dir} ${suite}`] = Object.fromEntries(
      Object.entries(runs).map(([impl, rs]) => [impl, { mbps: median(rs.map((r) => r.mbps)), cpuUsPerMB: median(rs.map((r) => r.cpuUsPerMB)) }]),
    );
  }
}

// tlswire in headless Chromium (Debian's chromium, playwright-core from npm/), through websockify
// bridges to the same server; a fresh page per job. Wall time only (no process CPU in a page).
log("Chromium");
async function websockify(target, web) {
  const port = await freePort();
  return startListening("websockify", [...(web ? ["--web", root] : []), `127.0.0.1:${port}`, `127.0.0.1:${target}`], port);
}
const bridges = { aes128: await websockify(ports.aes128, true), chacha: await websockify(ports.chacha, false), plain: await websockify(ports.plain, false) };
const { chromium } = createRequire(path.join(root, "npm/package.json"))("playwright-core");
const browser = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "tlswire-bench-chromium-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const caPem = readFileSync(ca, "utf8");
async function inChromium(spec) {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${bridges.aes128}/bench/side-by-side/page.html`);
    await page.waitForFunction(() => window.ready === true);
    return await page.evaluate((job) => window.run(job), { ca: caPem, ...spec });
  } finally {
    await page.close();
  }
}
results.rows.chromium = {};
{
  const rounds = (make) => interleaved(["chromium"], make).then((r) => r.chromium);
  const hs = await rounds(() => inChromium({ scenario: "handshake", bridge: bridges.aes128, count: quick ? 30 : 100, groups: ["X25519"] }));
  const summary = hs.map((r) => summarise(r.rows.map((x) => ({ ...x, cpuUs: 0, engineUs: 0 }))));
  results.rows.chromium.handshakeX25519 = { coldWallUs: median(summary.map((x) => x.coldWallUs)), warmWallUs: median(summary.map((x) => x.warmWallUs)) };
  for (const [suite, bridge] of [["AES-128-GCM", bridges.aes128], ["ChaCha20-Poly1305", bridges.chacha]]) {
    for (const dir of ["recv", "send"]) {
      const rs = await rounds(() => inChromium({ scenario: dir, bridge, bytes: BULK / 2 }));
      results.rows.chromium[`${dir} ${suite}`] = median(rs.map((r) => r.mbps));
    }
  }
  // The bridge's own ceiling: the same bytes through websockify without TLS.
  results.rows.chromium["recv through websockify alone (no TLS)"] = median((await rounds(() => inChromium({ scenario: "bridge-recv", bridge: bridges.plain, bytes: BULK / 2 }))).map((r) => r.mbps));
  results.rows.chromium.loadMs = median((await rounds(() => inChromium({ scenario: "load" }))).map((r) => r.loadMs));
}
await browser.close();

log("load, memory");
const load = await interleaved(["tlswire", "subtls", "epoxy"], (impl) => job(impl, "load", { port: ports.aes128 }));
const idle = await interleaved(["tlswire"], (impl) => job(impl, "idle", { port: ports.aes128, count: 100 }));
const big = await interleaved(["tlswire"], (impl) => job(impl, "bigwrite", { port: ports.aes128, bytes: 16 << 20 }));
results.rows.load = Object.fromEntries(Object.entries(load).map(([i, rs]) => [i, median(rs.map((r) => r.loadMs))]));
results.rows.memory = Object.fromEntries(
  Object.keys(idle).map((impl) => [impl, {
    wasmBytesPerIdleConn: median(idle[impl].map((r) => r.wasmBytesPerConn)),
    jsHeapBytesPerIdleConn: median(idle[impl].map((r) => r.jsHeapBytesPerConn)),
    wasmBytesBefore16MiBWrite: median(big[impl].map((r) => r.wasmBytesBefore)),
    wasmBytesAfter16MiBWrite: median(big[impl].map((r) => r.wasmBytesAfter)),
  }]),
);

// Bytes shipped: what a browser downloads to run each client (no roots).
function sizes(files, dir = root) {
  const data = Buffer.concat(files.map((f) => readFileSync(path.resolve(dir, f))));
  return {
    raw: data.length,
    gzip: zlib.gzipSync(data, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }).length,
  };
}
const forgeLib = path.join(root, "bench/node_modules/node-forge/lib");
// The engine, its glue and every API module (src/**/*.js but the Workers entry).
const tlswireFiles = (dir) => ["dist/wasm/tlswire_bg.wasm", "dist/wasm/tlswire.js",
  ...readdirSync(path.join(dir, "src"), { recursive: true }).filter((f) => f.endsWith(".js") && f !== "workerd.js").sort().map((f) => `src/${f}`)];
results.rows.size = {
  ...(baseline ? { before: sizes(tlswireFiles(baseline), baseline) } : {}),
  tlswire: sizes(tlswireFiles(path.join(root, "npm")), path.join(root, "npm")),
  subtls: sizes(["bench/node_modules/subtls/index.js"]),
  "epoxy-tls": sizes(["bench/node_modules/@mercuryworkshop/epoxy-tls/pkg/epoxy.wasm", "bench/node_modules/@mercuryworkshop/epoxy-tls/pkg/epoxy.js"]),
  // The npm package ships no bundle: its whole lib/, unminified (an upper bound).
  "node-forge (lib/, unminified)": sizes(readdirSync(forgeLib).filter((f) => f.endsWith(".js")).map((f) => path.join("bench/node_modules/node-forge/lib", f))),
};

writeFileSync(jsonOut, JSON.stringify(results, null, 2));
console.log(report(results));
log(`JSON: ${jsonOut}`);
process.exit(0);

// --- the report --------------------------------------------------------------------------
function report(r) {
  const us = (x) => (x === undefined ? "—" : `${Math.round(x).toLocaleString("en")} µs`);
  const ratio = (a, b) => (a === undefined || b === undefined ? "" : ` (${(a / b).toFixed(1)}×)`);
  const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
  const lines = [];
  lines.push(`Node ${r.machine.node}, ${r.machine.cpus}; TLS 1.3, ECDSA P-256 server certificate; ${r.machine.quick ? "quick run" : `${ROUNDS} interleaved rounds`}.`, "");
  lines.push("| handshake | client | CPU cold | CPU warm (× Node tls) | engine cold | engine warm (× native) | wall warm |", "|---|---|---:|---:|---:|---:|---:|");
  for (const [name, byImpl] of Object.entries(r.rows.handshake)) {
    const nodeCpu = r.rows.handshake.X25519.node?.warmCpuUs;
    const nativeEngine = byImpl.native?.warmEngineUs;
    for (const [impl, s] of Object.entries(byImpl)) {
      const engine = impl === "tlswire" || impl === "native" || impl === "before";
      lines.push(`| ${name} | ${impl} | ${us(s.coldCpuUs)} | ${us(s.warmCpuUs)}${ratio(s.warmCpuUs, nodeCpu)} | ${engine ? us(s.coldEngineUs) : "—"} | ${engine ? us(s.warmEngineUs) + ratio(s.warmEngineUs, nativeEngine) : "—"} | ${us(s.warmWallUs)} |`);
    }
  }
  const impls = Object.keys(r.rows.request.fresh);
  lines.push("", `| connect + first request (100 B reply), median | ${impls.join(" | ")} |`, `|---|${impls.map(() => "---:").join("|")}|`);
  for (const [k, v] of Object.entries(r.rows.request)) lines.push(`| ${k === "shared" ? "one shared context / session" : "fresh settings"} | ${impls.map((i) => us(v[i])).join(" | ")} |`);
  const bulkImpls = [...(baseline ? ["before"] : []), "tlswire", "wasm ciphers", "native", "node", "subtls"];
  lines.push("", `| bulk, MB/s (client CPU µs/MB) (× Node tls) | ${bulkImpls.join(" | ")} |`, `|---|${bulkImpls.map(() => "---:").join("|")}|`);
  for (const [name, byImpl] of Object.entries(r.rows.bulk)) {
    const cell = (impl) => (byImpl[impl] ? `${byImpl[impl].mbps.toFixed(0)} (${Math.round(byImpl[impl].cpuUsPerMB)})${impl !== "node" ? ratio(byImpl[impl].mbps, byImpl.node?.mbps) : ""}` : "—");
    lines.push(`| ${name} | ${bulkImpls.map(cell).join(" | ")} |`);
  }
  const c = r.rows.chromium;
  if (c) {
    lines.push("", "| tlswire in headless Chromium, through websockify | |", "|---|---:|");
    lines.push(`| handshake X25519, wall, cold (first 10) | ${us(c.handshakeX25519.coldWallUs)} |`, `| handshake X25519, wall, warm | ${us(c.handshakeX25519.warmWallUs)} |`);
    for (const [k, v] of Object.entries(c)) if (typeof v === "number" && k !== "loadMs") lines.push(`| ${k}, MB/s | ${v.toFixed(0)} |`);
    lines.push(`| load (import + compile + instantiate) | ${c.loadMs.toFixed(1)} ms |`);
  }
  lines.push("", "| shipped (no roots) | raw | gzip | brotli |", "|---|---:|---:|---:|");
  for (const [impl, s] of Object.entries(r.rows.size)) if (s.raw) lines.push(`| ${impl} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.brotli)} |`);
  lines.push("", "| load (import + compile + instantiate), fresh process | ms |", "|---|---:|");
  for (const [impl, ms] of Object.entries(r.rows.load)) lines.push(`| ${impl} | ${ms?.toFixed(1)} |`);
  lines.push("", "| memory | wasm per idle connection (100 open) | JS heap per idle connection | wasm memory before → after one 16 MiB write() |", "|---|---:|---:|---:|");
  for (const [impl, m] of Object.entries(r.rows.memory)) {
    lines.push(`| ${impl} | ${(m.wasmBytesPerIdleConn / 1024).toFixed(1)} KiB | ${(m.jsHeapBytesPerIdleConn / 1024).toFixed(1)} KiB | ${(m.wasmBytesBefore16MiBWrite / 1048576).toFixed(2)} → ${(m.wasmBytesAfter16MiBWrite / 1048576).toFixed(2)} MiB |`);
  }
  return lines.join("\n");
}
