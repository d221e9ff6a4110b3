// A web page's database client: postgres.js (its Workers build) in Chromium, reaching PostgreSQL
// through a Wisp server, with tlswire/sockets as its `cloudflare:sockets`: end-to-end mutual TLS
// that the bridge cannot read. Bundled by clients.test.mjs; the page calls window.query().

import postgres from "postgres";
import { setTlsDefaults, setTransport } from "tlswire/sockets";
import { wisp } from "tlswire/wisp";

window.query = async ({ wispUrl, port, ca, certificate, privateKey }) => {
  setTransport((hostname, p) => wisp(wispUrl, hostname, p));
  setTlsDefaults({ ca, certificate, privateKey });
  const sql = postgres({ host: "127.0.0.1", port, user: "tlswire test client", database: "postgres", ssl: true, max: 1, connect_timeout: 15, fetch_types: false });
  try {
    const [row] = await sql.unsafe("select ssl, version, current_user as user from pg_stat_ssl where pid = pg_backend_pid()");
    return { ok: true, ...row };
  } catch (e) {
    return { ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } };
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
};
window.ready = true;
