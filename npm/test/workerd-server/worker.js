// A Worker that terminates TLS itself, as a server: each WebSocket it accepts carries one TLS
// connection (as a websockify bridge would), which accept() handshakes with the server engine,
// given to initServerWasm as the compiled module the platform imports. It echoes what it reads.
import { accept, initServerWasm, webSocket } from "tlswire";
import serverEngine from "tlswire/server-engine.wasm";

export default {
  async fetch(request, env, ctx) {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("WebSocket only", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    ctx.waitUntil(serve(server, env));
    return new Response(null, { status: 101, webSocket: client });
  },
};

async function serve(socket, env) {
  await initServerWasm(serverEngine);
  const conn = await accept({ transport: webSocket(socket), certificate: env.TLS_CERT, privateKey: env.TLS_KEY, alpn: ["echo"] });
  for await (const chunk of conn) await conn.write(chunk);
  await conn.close();
}
