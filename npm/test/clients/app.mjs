// The database, broker and mail clients as an app uses them, with Node's `tls` as their TLS. The
// tests bundle this file with esbuild, `tls` aliased to tlswire/node (clients.test.mjs), and run
// the bundle in Node, Deno and Bun: the clients below never know that tlswire does their TLS.
//
// usage: <runtime> bundle.mjs JOB   JOB: {client, port, ca, cert?, key?} (PEM file paths)
// Prints one JSON line: {ok: true, ...what the server saw} or {ok: false, error: {name, code, message}}.

import { readFileSync } from "node:fs";
import tls from "node:tls";

import { createTransport } from "nodemailer";
import Redis from "ioredis";
import mqtt from "mqtt";
import pg from "pg";
import postgres from "postgres";

const job = JSON.parse(process.argv[2]);
const read = (file) => (file ? readFileSync(file, "utf8") : undefined);
const ssl = { ca: read(job.ca), cert: read(job.cert), key: read(job.key), servername: "localhost" };
const USER = "tlswire test client";
// What the server says of the connection (PostgreSQL's own view of its TLS).
const PG_STAT_SSL = "select ssl, version, current_user as user from pg_stat_ssl where pid = pg_backend_pid()";

const clients = {
  async pg() {
    const client = new pg.Client({ host: "127.0.0.1", port: job.port, user: USER, database: "postgres", ssl, connectionTimeoutMillis: 15000 });
    await client.connect();
    try {
      const { rows } = await client.query(PG_STAT_SSL);
      return rows[0];
    } finally {
      await client.end();
    }
  },
  async postgres() {
    const sql = postgres({ host: "127.0.0.1", port: job.port, user: USER, database: "postgres", ssl, max: 1, connect_timeout: 15, onnotice: () => {} });
    try {
      const [row] = await sql.unsafe(PG_STAT_SSL);
      return { ...row };
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
  async ioredis() {
    const redis = new Redis({ host: "127.0.0.1", port: job.port, tls: ssl, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 15000 });
    let failure; // ioredis rejects connect() with "Connection is closed."; its error event says why
    redis.on("error", (e) => (failure ??= e));
    try {
      await redis.connect().catch((e) => Promise.reject(failure ?? e));
      const value = `over tlswire ${Date.now()}`;
      await redis.set("tlswire:key", value);
      return { value, read: await redis.get("tlswire:key") };
    } finally {
      redis.disconnect();
    }
  },
  async mqtt() {
    const client = await mqtt.connectAsync({ protocol: "mqtts", host: "127.0.0.1", port: job.port, ...ssl, reconnectPeriod: 0, connectTimeout: 15000 });
    try {
      const received = new Promise((resolve) => client.on("message", (topic, payload) => resolve({ topic, payload: payload.toString() })));
      await client.subscribeAsync("tlswire/test", { qos: 1 });
      const payload = `over tlswire ${Date.now()}`;
      await client.publishAsync("tlswire/test", payload, { qos: 1 });
      return { sent: payload, ...(await received) };
    } finally {
      await client.endAsync();
    }
  },
  async nodemailer() {
    const transport = createTransport({ host: "127.0.0.1", port: job.port, secure: false, requireTLS: true, tls: ssl, connectionTimeout: 15000, greetingTimeout: 15000 });
    const text = `over tlswire ${Date.now()}`;
    const info = await transport.sendMail({ from: "app@example.com", to: "db@example.com", subject: "STARTTLS", text });
    transport.close();
    return { text, response: info.response, accepted: info.accepted };
  },
};

// Which TLS the bundle has: tlswire/node's TLSSocket, not the runtime's.
const tlsImplementation = "createServer" in tls ? "runtime" : "tlswire"; // every runtime's own `tls` has createServer

const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: { name: "Timeout", message: "the client did not finish in 30 s" } }));
  process.exit(3);
}, 30000);
try {
  const result = await clients[job.client]();
  console.log(JSON.stringify({ ok: true, tls: tlsImplementation, ...result }));
} catch (e) {
  const cause = e?.cause ?? e?.errors?.[0];
  console.log(JSON.stringify({ ok: false, tls: tlsImplementation, error: { name: e?.name, code: e?.code, originalCode: e?.originalCode, message: String(e?.message ?? e), cause: cause && { name: cause.name, code: cause.code } } }));
}
clearTimeout(timer);
process.exit(0);
