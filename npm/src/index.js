// tlswire for JavaScript: TLS 1.3/1.2 in WebAssembly over any {readable, writable} byte channel.
//
// One module per concern: engine.js (loading the wasm engine, the runtime's own ciphers),
// errors.js, events.js, context.js (settings built once), connection.js (the connection), and
// transports/ (each also a subpath export: tlswire/websocket, tlswire/wisp, tlswire/webtransport).
// Every TLS decision is made in the engine.

export { initWasm, memoryUsage, platformCrypto } from "./engine.js";
export { TlsError } from "./errors.js";
export { TlsKeylogEvent, TlsMessageEvent, TlsSessionEvent, formatMessage } from "./events.js";
export { TlsContext, createContext } from "./context.js";
export { TlsConnection, connect, startTls } from "./connection.js";
export { TlsServerContext, accept, createServerContext, initServerWasm } from "./server.js";
export { webSocket } from "./transports/websocket.js";
export { webTransport } from "./transports/webtransport.js";
export { wisp } from "./transports/wisp.js";
