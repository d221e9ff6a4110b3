# workerd configuration for test/clients/worker.mjs, bundled by clients.test.mjs into
# .bundles/worker.js (the module name bundle/worker.js keeps the engine at ../dist/wasm/). The
# socket address is replaced by the test with --socket-addr.
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "bundle/worker.js", esModule = embed "../../.bundles/worker.js"),
    (name = "dist/wasm/tlswire_bg.wasm", wasm = embed "../../dist/wasm/tlswire_bg.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    (name = "CA", fromEnvironment = "CA"),
    (name = "OTHER_CA", fromEnvironment = "OTHER_CA"),
    (name = "CLIENT_CERT", fromEnvironment = "CLIENT_CERT"),
    (name = "CLIENT_KEY", fromEnvironment = "CLIENT_KEY"),
  ],
  globalOutbound = "loopback",
);
