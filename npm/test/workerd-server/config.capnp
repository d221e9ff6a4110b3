# workerd configuration for the test worker that serves TLS (worker.js), with the package's
# modules as the example worker lists them, plus the server engine. Run by npm/test/workerd.test.mjs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "tlswire/server-engine.wasm", wasm = embed "../../dist/wasm-server/tlswire_bg.wasm"),
    # What a bundler (wrangler) makes of `import … from "tlswire"`: the package's "workerd" entry,
    # which imports the engine as a compiled WebAssembly module.
    (name = "tlswire", esModule = "export * from \"./node_modules/tlswire/src/workerd.js\";"),
    (name = "node_modules/tlswire/src/workerd.js", esModule = embed "../../src/workerd.js"),
    (name = "node_modules/tlswire/src/index.js", esModule = embed "../../src/index.js"),
    (name = "node_modules/tlswire/src/engine.js", esModule = embed "../../src/engine.js"),
    (name = "node_modules/tlswire/src/errors.js", esModule = embed "../../src/errors.js"),
    (name = "node_modules/tlswire/src/events.js", esModule = embed "../../src/events.js"),
    (name = "node_modules/tlswire/src/context.js", esModule = embed "../../src/context.js"),
    (name = "node_modules/tlswire/src/connection.js", esModule = embed "../../src/connection.js"),
    (name = "node_modules/tlswire/src/server.js", esModule = embed "../../src/server.js"),
    (name = "node_modules/tlswire/src/transports/websocket.js", esModule = embed "../../src/transports/websocket.js"),
    (name = "node_modules/tlswire/src/transports/webtransport.js", esModule = embed "../../src/transports/webtransport.js"),
    (name = "node_modules/tlswire/src/transports/wisp.js", esModule = embed "../../src/transports/wisp.js"),
    (name = "node_modules/tlswire/dist/wasm/tlswire.js", esModule = embed "../../dist/wasm/tlswire.js"),
    (name = "node_modules/tlswire/dist/wasm/tlswire_bg.wasm", wasm = embed "../../dist/wasm/tlswire_bg.wasm"),
    # The server engine's glue (src/server.js imports it; accept() would load its wasm).
    (name = "node_modules/tlswire/dist/wasm-server/tlswire.js", esModule = embed "../../dist/wasm-server/tlswire.js"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "TLS_CERT", fromEnvironment = "TLS_CERT"),
    (name = "TLS_KEY", fromEnvironment = "TLS_KEY"),
  ],
);
