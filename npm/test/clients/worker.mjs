// A Cloudflare Worker that queries PostgreSQL with mutual TLS through pg and postgres.js: the
// case the platform's own TLS cannot do (a private CA and a client certificate). The tests
// bundle it as wrangler would, with `cloudflare:sockets` aliased to tlswire/sockets
// (clients.test.mjs), and serve it with workerd. The TCP socket stays the platform's connect().
//
// GET /?client=pg|postgres&port=N[&ca=other]  →  {ok, ...PostgreSQL's view} or {ok: false, error}

import pg from "pg";
import postgres from "postgres";
import { setTlsDefaults } from "tlswire/sockets";

const USER = "tlswire test client";
const PG_STAT_SSL = "select ssl, version, current_user as user from pg_stat_ssl where pid = pg_backend_pid()";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const port = Number(url.searchParams.get("port"));
    const ca = url.searchParams.get("ca") === "other" ? env.OTHER_CA : env.CA;
    const tls = { ca, cert: env.CLIENT_CERT, key: env.CLIENT_KEY };
    // postgres.js asks startTls() for nothing but the server name: its CA and certificate come
    // from here. pg hands startTls() its `ssl` settings.
    setTlsDefaults({ ca, certificate: env.CLIENT_CERT, privateKey: env.CLIENT_KEY });
    try {
      let row;
      if (url.searchParams.get("client") === "pg") {
        const client = new pg.Client({ host: "127.0.0.1", port, user: USER, database: "postgres", ssl: { ...tls, servername: "localhost" } });
        await client.connect();
        try {
          row = (await client.query(PG_STAT_SSL)).rows[0];
        } finally {
          await client.end();
        }
      } else {
        const sql = postgres({ host: "127.0.0.1", port, user: USER, database: "postgres", ssl: true, max: 1, connect_timeout: 15, fetch_types: false });
        try {
          [row] = await sql.unsafe(PG_STAT_SSL);
        } finally {
          await sql.end({ timeout: 5 });
        }
      }
      return Response.json({ ok: true, ...row });
    } catch (e) {
      return Response.json({ ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } });
    }
  },
};
