// Real peers for the Node tests, all on 127.0.0.1: a generated test PKI, TLS servers (openssl
// s_server, tlswire s_server) and websockify bridges in front of them.

import { execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { Duplex } from "node:stream";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import WebSocket from "ws";

import { webSocket } from "../src/index.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const pkiDir = mkdtempSync(path.join(tmpdir(), "tlswire-npm-pki-"));
execFileSync("bash", [path.join(root, "tests/scripts/gen-certs.sh"), pkiDir]);
/** Cargo's target directory (`CARGO_TARGET_DIR`, else `target/`). */
export const targetDir = path.resolve(root, process.env.CARGO_TARGET_DIR ?? "target");
export const pki = (name) => path.join(pkiDir, name);
export const pem = (name) => readFileSync(pki(name), "utf8");

// Ports handed out by this process: never the same one twice (the kernel may hand a port just
// released to the next bind, and two peers of one run would race for it).
const given = new Set();

/** A port free now on 127.0.0.1 for a peer to bind (start() checks that the peer got it). */
export async function freePort() {
  for (;;) {
    const server = net.createServer();
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address();
    await new Promise((r) => server.close(r));
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

async function waitPort(port, child, name) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited early (${child.exitCode})`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) {
      // Ours, not another process that took the port: ours is still running a moment later
      // (a peer that could not bind exits).
      await new Promise((r) => setTimeout(r, 50));
      if (child.exitCode !== null) throw new Error(`${name} exited early (${child.exitCode}): the port was taken`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port}`);
}

/**
 * Starts `program args` (environment `env`, more spawn options `spawnOptions`: uid, gid) listening
 * on `port`; returns {port, stop()}.
 */
export async function start(program, args, port, env = process.env, spawnOptions = {}) {
  const child = spawn(program, args, { stdio: ["pipe", "ignore", "pipe"], env, ...spawnOptions });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.on("error", (e) => (stderr += String(e)));
  await waitPort(port, child, `${program} ${args.join(" ")}: ${stderr}`);
  return { port, child, stop: () => child.kill("SIGKILL") };
}

/** `openssl s_server -rev` (each line answered reversed), or in `-www` mode if `extra` says so. */
export async function opensslServer(extra = [], identity = "server-ecdsa") {
  const port = await freePort();
  const mode = extra.includes("-www") ? [] : ["-rev"];
  return start("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki(`${identity}.pem`), "-key", pki(`${identity}.key`), ...mode, "-quiet", ...extra], port);
}

/** `gnutls-serv --echo` (echoes whole lines). */
export async function gnutlsServer(extra = [], identity = "server-ecdsa") {
  const port = await freePort();
  return start("gnutls-serv", ["--echo", "--quiet", "-p", String(port), "--x509certfile", pki(`${identity}.pem`), "--x509keyfile", pki(`${identity}.key`), ...extra], port);
}

/** tlslite-ng's `tls.py server --echo`. */
export async function tlsliteServer(extra = [], identity = "server-ecdsa") {
  const port = await freePort();
  return start("tls.py", ["server", "-c", pki(`${identity}.pem`), "-k", pki(`${identity}.key`), "--echo", ...extra, `127.0.0.1:${port}`], port);
}

/**
 * A TCP relay to `target` that, once `cut(mode)` is called, ends the client side on the next
 * server chunk: `'boundary'` without forwarding it, `'mid-record'` after its first half.
 */
export async function cuttingRelay(target) {
  let mode = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      if (mode === null) return client.write(d);
      client.end(mode === "mid-record" ? d.subarray(0, d.length >> 1) : undefined);
      upstream.destroy();
    });
    for (const s of [client, upstream]) s.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.end());
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { port: server.address().port, cut: (m) => (mode = m), stop: () => server.close() };
}

/**
 * The `tlswire` CLI, built with the whole workspace: the binary scripts/test.sh already built
 * (`-p tlswire-cli` alone resolves dependency features anew and compiles everything again).
 */
export function tlswireBin() {
  execFileSync("cargo", ["build", "-q", "--workspace"], { cwd: root });
  return path.join(targetDir, "debug/tlswire");
}

/** `tlswire s_server` (a byte-exact echo). */
export async function tlswireServer(extra = []) {
  const port = await freePort();
  const bin = tlswireBin();
  return start(bin, ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki("server-ecdsa.pem"), "-key", pki("server-ecdsa.key"), "-quiet", ...extra], port);
}

/**
 * The WebTransport bridge (test/webtransport-bridge.py, aioquic) on a free UDP port, forwarding
 * each stream to `target`, with a fresh ECDSA P-256 certificate valid 10 days, as Chromium's
 * `serverCertificateHashes` requires. Returns {url, certificateHash (SHA-256 of the DER), stop()}.
 */
export async function webTransportBridge(target) {
  const dir = mkdtempSync(path.join(tmpdir(), "tlswire-wt-"));
  const [cert, key] = [path.join(dir, "wt.pem"), path.join(dir, "wt.key")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "10", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
    { stdio: "ignore" });
  const certificateHash = createHash("sha256").update(new X509Certificate(readFileSync(cert)).raw).digest();
  const port = await freePort();
  const script = path.join(root, "npm/test/webtransport-bridge.py");
  const child = spawn("python3", [script, String(port), cert, key, String(target)], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`webtransport-bridge did not start: ${output}`)), 20000);
    const seen = (d) => {
      output += d;
      if (output.includes("webtransport-bridge:")) (clearTimeout(timer), resolve());
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => (clearTimeout(timer), reject(new Error(`webtransport-bridge exited (${code}): ${output}`))));
  });
  return { url: `https://127.0.0.1:${port}/tls`, certificateHash, stop: () => child.kill("SIGKILL") };
}

/** A Wisp server (@mercuryworkshop/wisp-js) on a free port, allowed to reach 127.0.0.1. */
export async function wispServer() {
  const port = await freePort();
  const cli = path.join(root, "npm/node_modules/@mercuryworkshop/wisp-js/src/bin/server_cli.mjs");
  const server = await start("node", [cli, "-H", "127.0.0.1", "-P", String(port), "-L", "NONE", "-O", JSON.stringify({ allow_loopback_ips: true })], port);
  return { ...server, url: `ws://127.0.0.1:${port}/` };
}

/** A TCP connection to 127.0.0.1:`port` as a {readable, writable} pair, once connected. */
export async function tcp(port) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => (socket.once("connect", resolve), socket.once("error", reject)));
  return Duplex.toWeb(socket);
}

/**
 * Go's crypto/tls server with Encrypted Client Hello (tests/ech, built on first use): its CA,
 * the ECHConfigList it publishes (`-reject`: one whose key it does not hold) and the list it offers
 * for retries, and `report(n)`: its JSON line on its `n`th connection (from 1), which includes
 * the outer server name and the inner one it decrypted from the recorded ClientHello.
 */
export async function echServer(extra = []) {
  const bin = path.join(targetDir, "ech-server");
  execFileSync("bash", [path.join(root, "tests/ech/build.sh"), bin], { stdio: "inherit" });
  const port = await freePort();
  const child = spawn(bin, ["-port", String(port), ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  let buffered = "";
  let waiting = null;
  child.stdout.on("data", (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
    waiting?.();
  });
  const line = async (n) => {
    const deadline = Date.now() + 20000;
    while (lines.length <= n) {
      if (Date.now() > deadline) throw new Error(`the ECH server wrote no line ${n}`);
      await new Promise((r) => ((waiting = r), setTimeout(r, 100)));
    }
    return lines[n];
  };
  await waitPort(port, child, `ech-server`);
  const first = await line(0);
  const b64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
  return { port, ca: first.ca, echConfigList: b64(first.ech_config_list), retryConfigList: b64(first.retry_config_list), report: line, stop: () => child.kill("SIGKILL") };
}

/** websockify from a free port to `target` (one WebSocket = one TCP connection). */
export async function bridge(target) {
  const port = await freePort();
  return start("websockify", [`127.0.0.1:${port}`, `127.0.0.1:${target}`], port);
}

/** A transport through the bridge on `port` (Node 20: the `ws` package's WebSocket). */
export const ws = (port) => webSocket(new WebSocket(`ws://127.0.0.1:${port}`));

/**
 * Cloudflare's workerd (the npm `workerd` binary) serving `config` on a free port, with `env`
 * added to its environment (for `fromEnvironment` bindings) and `extraArgs`. Returns {url, child, stop()}.
 */
export async function workerd(config, env = {}, extraArgs = []) {
  const port = await freePort();
  const binary = createRequire(import.meta.url)("workerd").default;
  const args = ["serve", config, `--socket-addr=http=127.0.0.1:${port}`, ...extraArgs];
  const server = await start(binary, args, port, { ...process.env, ...env });
  return { ...server, url: `http://127.0.0.1:${port}` };
}
