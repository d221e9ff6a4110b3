# workerd configuration for bench/workerd-cost.mjs (which sets the socket address and inspector).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
  v8Flags = ["--expose-gc"],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "engine.wasm", wasm = embed "../../npm/dist/wasm/tlswire_bg.wasm"),
    (name = "tlswire", esModule = "export * from \"./node_modules/tlswire/src/index.js\";"),
    (name = "node_modules/tlswire/src/index.js", esModule = embed "../../npm/src/index.js"),
    (name = "node_modules/tlswire/src/engine.js", esModule = embed "../../npm/src/engine.js"),
    (name = "node_modules/tlswire/src/errors.js", esModule = embed "../../npm/src/errors.js"),
    (name = "node_modules/tlswire/src/events.js", esModule = embed "../../npm/src/events.js"),
    (name = "node_modules/tlswire/src/context.js", esModule = embed "../../npm/src/context.js"),
    (name = "node_modules/tlswire/src/connection.js", esModule = embed "../../npm/src/connection.js"),
    (name = "node_modules/tlswire/src/transports/websocket.js", esModule = embed "../../npm/src/transports/websocket.js"),
    (name = "node_modules/tlswire/src/transports/webtransport.js", esModule = embed "../../npm/src/transports/webtransport.js"),
    (name = "node_modules/tlswire/src/transports/wisp.js", esModule = embed "../../npm/src/transports/wisp.js"),
    (name = "node_modules/tlswire/dist/wasm/tlswire.js", esModule = embed "../../npm/dist/wasm/tlswire.js"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "TLS_CA", fromEnvironment = "TLS_CA"),
    (name = "TLS_CLIENT_CERT", fromEnvironment = "TLS_CLIENT_CERT"),
    (name = "TLS_CLIENT_KEY", fromEnvironment = "TLS_CLIENT_KEY"),
  ],
  globalOutbound = "loopback",
);
