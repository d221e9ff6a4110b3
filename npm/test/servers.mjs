// The real servers the database and broker clients talk to in the tests, each on 127.0.0.1 with
// the test PKI's server certificate and requiring a client certificate from the test CA:
// PostgreSQL 15, Redis 7, Mosquitto 2 (Debian packages) and aiosmtpd (SMTP with STARTTLS).
// scripts/setup.sh installs them; nothing here is skipped when one is missing.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { freePort, pki, root, start } from "./peers.mjs";

/** The client certificate's subject CN: PostgreSQL's `cert` method makes it the user name. */
export const CLIENT_USER = "tlswire test client";
const isRoot = process.getuid?.() === 0;

/** A fresh directory with the server's certificate, key and the CA, readable by `owner`. */
function serverDir(name, owner) {
  const dir = mkdtempSync(path.join(tmpdir(), `tlswire-${name}-`));
  for (const [from, to] of [["server-ecdsa.pem", "server.pem"], ["server-ecdsa.key", "server.key"], ["ca.pem", "ca.pem"]]) {
    copyFileSync(pki(from), path.join(dir, to));
    chmodSync(path.join(dir, to), 0o600);
  }
  if (owner) execFileSync("chown", ["-R", owner, dir]);
  return dir;
}

/** The unprivileged `postgres` user's {uid, gid} when we are root (PostgreSQL refuses root), else {}. */
function postgresUser() {
  if (!isRoot) return {};
  const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * PostgreSQL 15: `initdb` with CLIENT_USER as its superuser, `ssl=on`, and one pg_hba line,
 * `hostssl all all 127.0.0.1/32 cert` (a client certificate from the CA, its CN the user name).
 */
export async function postgres() {
  const bin = "/usr/lib/postgresql/15/bin";
  const dir = serverDir("postgres", isRoot ? "postgres:postgres" : null);
  const data = path.join(dir, "data");
  const user = postgresUser();
  execFileSync(`${bin}/initdb`, ["-D", data, "-U", CLIENT_USER, "--auth=reject", "-E", "UTF8", "--locale=C"], { stdio: "pipe", ...user });
  writeFileSync(path.join(data, "pg_hba.conf"), "hostssl all all 127.0.0.1/32 cert\n");
  const port = await freePort();
  const server = await start(`${bin}/postgres`, [
    "-D", data, "-k", dir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on",
    "-c", `ssl_cert_file=${dir}/server.pem`, "-c", `ssl_key_file=${dir}/server.key`, "-c", `ssl_ca_file=${dir}/ca.pem`,
    "-c", "fsync=off", "-c", "shared_buffers=16MB",
  ], port, process.env, user);
  // SIGINT: PostgreSQL's fast shutdown, which also ends the backends it started.
  return { ...server, stop: () => (server.child.kill("SIGINT"), rmSync(dir, { recursive: true, force: true })) };
}

/** Redis 7: TLS only (`--port 0`), client certificates required. */
export async function redis() {
  const dir = serverDir("redis");
  const port = await freePort();
  const server = await start("redis-server", [
    "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--tls-cert-file", `${dir}/server.pem`,
    "--tls-key-file", `${dir}/server.key`, "--tls-ca-cert-file", `${dir}/ca.pem`, "--tls-auth-clients", "yes",
    "--save", "", "--appendonly", "no", "--dir", dir,
  ], port);
  return { ...server, stop: () => (server.stop(), rmSync(dir, { recursive: true, force: true })) };
}

/** Mosquitto 2: one TLS listener, `require_certificate true`. */
export async function mosquitto() {
  const dir = serverDir("mosquitto");
  const port = await freePort();
  const config = path.join(dir, "mosquitto.conf");
  writeFileSync(config, [
    ...(isRoot ? ["user root"] : []), // else it drops to the `mosquitto` user, who cannot read dir
    `listener ${port} 127.0.0.1`, `cafile ${dir}/ca.pem`, `certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`,
    "require_certificate true", "allow_anonymous true", "persistence false", "log_dest stderr", "",
  ].join("\n"));
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  const server = await start(existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto", ["-c", config], port);
  return { ...server, stop: () => (server.stop(), rmSync(dir, { recursive: true, force: true })) };
}

/**
 * aiosmtpd with STARTTLS required and a client certificate from the CA required on it. Each
 * message it accepts is printed as one JSON line ({from, to, data}); `messages()` has them.
 */
export async function smtp() {
  const dir = serverDir("smtp");
  const port = await freePort();
  const child = spawn("python3", [path.join(root, "npm/test/smtp-server.py"), String(port), `${dir}/server.pem`, `${dir}/server.key`, `${dir}/ca.pem`], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smtp-server did not start: ${stderr}`)), 20000);
    const check = () => (stdout.includes("ready\n") ? (clearTimeout(timer), resolve()) : null);
    child.stdout.on("data", check);
    child.on("exit", (code) => (clearTimeout(timer), reject(new Error(`smtp-server exited (${code}): ${stderr}`))));
  });
  return {
    port,
    messages: () => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)),
    stop: () => (child.kill("SIGKILL"), rmSync(dir, { recursive: true, force: true })),
  };
}
