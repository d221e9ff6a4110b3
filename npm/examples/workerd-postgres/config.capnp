# workerd configuration for worker.js, as wrangler would run it, for the tests and for trying it
# without a Cloudflare account. From npm/, after `npm run build`:
#   node examples/workerd-postgres/bundle.mjs      (worker.js → .bundles/worker.js, as wrangler bundles it)
#   PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=… PG_SERVER_NAME=… CA="$(cat ca.pem)" \
#   CLIENT_CERT="$(cat client.pem)" CLIENT_KEY="$(cat client.key)" \
#   npx workerd serve examples/workerd-postgres/config.capnp
# then `curl 'http://127.0.0.1:8080/?client=pg'`. The module name bundle/worker.js puts the engine,
# which the bundle imports as ../dist/wasm/tlswire_bg.wasm, at dist/wasm/tlswire_bg.wasm.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # connect() reaches 127.0.0.1 only through a network service that allows local addresses.
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
    (name = "PG_HOST", fromEnvironment = "PG_HOST"),
    (name = "PG_PORT", fromEnvironment = "PG_PORT"),
    (name = "PG_USER", fromEnvironment = "PG_USER"),
    (name = "PG_SERVER_NAME", fromEnvironment = "PG_SERVER_NAME"),
    (name = "CA", fromEnvironment = "CA"),
    (name = "CLIENT_CERT", fromEnvironment = "CLIENT_CERT"),
    (name = "CLIENT_KEY", fromEnvironment = "CLIENT_KEY"),
  ],
  globalOutbound = "loopback",
);
