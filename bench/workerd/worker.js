// The bench worker (bench/workerd-cost.mjs drives it): one mutual-TLS handshake per request to
// 127.0.0.1:<port> (settings parsed per request, or `?context=shared` once per isolate), timed
// inside the isolate, plus the isolate's engine instantiation and memory.
// It imports the engine itself (not through the package's workerd entry) so that instantiation
// happens on the first request, where it can be timed.

import { connect } from "cloudflare:sockets";
import { createContext, initWasm, memoryUsage, startTls } from "tlswire";
import engine from "./engine.wasm";

let shared; // ?context=shared: one TlsContext per isolate

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/instantiate") {
      const start = performance.now();
      await initWasm(engine);
      return Response.json({ ms: performance.now() - start });
    }
    if (url.pathname === "/memory") {
      gc(); // v8Flags --expose-gc (config.capnp)
      return Response.json(memoryUsage());
    }
    const socket = connect(`127.0.0.1:${url.searchParams.get("port")}`, { secureTransport: "off" });
    const start = performance.now();
    if (url.pathname === "/tcp") {
      await socket.opened; // the baseline: a TCP connection and nothing else
      const ms = performance.now() - start;
      await socket.close();
      return Response.json({ ms });
    }
    const settings = { ca: env.TLS_CA, certificate: env.TLS_CLIENT_CERT, privateKey: env.TLS_CLIENT_KEY, alpn: ["http/1.1"] };
    const options = url.searchParams.get("context") === "shared"
      ? { serverName: "localhost", context: (shared ??= createContext(settings)) }
      : { serverName: "localhost", ...settings }; // parsed again for every connection
    const tls = await startTls(socket, options);
    const ms = performance.now() - start;
    await tls.close();
    return Response.json({ ms, version: tls.info.version });
  },
};
