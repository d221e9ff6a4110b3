// A Cloudflare Worker that talks mutual TLS to a private server over a plain `connect()` socket:
// a private CA, a client certificate, ALPN, the peer's subject and the handshake trace, none of
// which the platform's own `secureTransport: "on"` gives. It forwards one HTTP request and
// answers with JSON; a failed handshake becomes a 502 that carries tlswire's error code.
//
// Configuration (workerd: environment variables, see config.capnp; Cloudflare: vars and secrets):
//   TLS_ADDRESS      host:port to connect to
//   TLS_SERVER_NAME  the name the server's certificate must carry (sent as SNI)
//   TLS_CA           the private CA, PEM
//   TLS_CLIENT_CERT  the worker's client certificate chain, PEM
//   TLS_CLIENT_KEY   its private key, PEM (a secret)

import { connect } from "cloudflare:sockets";
import { createContext, formatMessage, startTls, TlsError } from "tlswire";

let context; // the CA, certificate and key, parsed once per isolate instead of once per request

export default {
  async fetch(request, env) {
    const trace = [];
    context ??= createContext({
      ca: env.TLS_CA,
      certificate: env.TLS_CLIENT_CERT,
      privateKey: env.TLS_CLIENT_KEY,
      alpn: ["http/1.1"],
    });
    const socket = connect(env.TLS_ADDRESS, { secureTransport: "off" });
    try {
      const tls = await startTls(socket, {
        serverName: env.TLS_SERVER_NAME,
        context,
        onMessage: (message) => trace.push(formatMessage(message).split("\n")[0]),
      });
      const path = new URL(request.url).pathname;
      const writer = tls.writable.getWriter();
      await writer.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${env.TLS_SERVER_NAME}\r\nConnection: close\r\n\r\n`));
      writer.releaseLock();
      const response = await new Response(tls.readable).text(); // ends at the server's close_notify
      await tls.close();
      const { version, cipherSuite, group, alpn, peerSubject } = tls.info;
      return Response.json({ version, cipherSuite, group, alpn, peerSubject, trace, response });
    } catch (e) {
      if (!(e instanceof TlsError)) throw e;
      return Response.json({ error: e.code, message: e.message, alertSent: e.alertSent ?? null, trace }, { status: 502 });
    }
  },
};
