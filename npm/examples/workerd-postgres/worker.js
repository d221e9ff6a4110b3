// A Cloudflare Worker that queries PostgreSQL with mutual TLS: a private CA and a client
// certificate, which the platform's own TLS cannot do. pg and postgres.js open their socket with
// the platform's connect() as always; wrangler.toml aliases `cloudflare:sockets` to
// tlswire/sockets, so their startTls() is tlswire's.
//
// GET /?client=pg (default) or /?client=postgres  →  PostgreSQL's view of the connection.
// Settings (wrangler secrets or vars): PG_HOST, PG_PORT, PG_USER, PG_DATABASE, PG_SERVER_NAME,
// CA, CLIENT_CERT, CLIENT_KEY (PEM).

import pg from "pg";
import postgres from "postgres";
import { setTlsDefaults } from "tlswire/sockets";

const QUERY = "select ssl, version, current_user as user from pg_stat_ssl where pid = pg_backend_pid()";

export default {
  async fetch(request, env) {
    const client = new URL(request.url).searchParams.get("client") ?? "pg";
    const server = { host: env.PG_HOST, port: Number(env.PG_PORT ?? 5432), user: env.PG_USER, database: env.PG_DATABASE ?? "postgres" };
    try {
      let row;
      if (client === "pg") {
        // pg hands startTls() its `ssl` settings.
        const db = new pg.Client({ ...server, ssl: { ca: env.CA, cert: env.CLIENT_CERT, key: env.CLIENT_KEY, servername: env.PG_SERVER_NAME } });
        await db.connect();
        try {
          row = (await db.query(QUERY)).rows[0];
        } finally {
          await db.end();
        }
      } else {
        // postgres.js asks startTls() only for the server name: the rest comes from here.
        setTlsDefaults({ ca: env.CA, certificate: env.CLIENT_CERT, privateKey: env.CLIENT_KEY, serverName: env.PG_SERVER_NAME });
        const sql = postgres({ ...server, ssl: true, max: 1, fetch_types: false });
        try {
          [row] = await sql.unsafe(QUERY);
        } finally {
          await sql.end({ timeout: 5 });
        }
      }
      return Response.json({ ok: true, ...row });
    } catch (e) {
      // tlswire's failures are TlsErrors with a stable code (CERT_UNKNOWN_ISSUER, ALERT_RECEIVED, ...).
      return Response.json({ ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } }, { status: 502 });
    }
  },
};
