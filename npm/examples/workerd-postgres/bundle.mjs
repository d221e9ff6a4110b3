// Bundles worker.js into npm/.bundles/worker.js as wrangler does with wrangler.toml (for
// config.capnp and the tests; with wrangler, `wrangler dev` does this itself):
// `cloudflare:sockets` is tlswire/sockets (the alias), Node's built-ins are the runtime's `node:`
// modules (nodejs_compat), and a CommonJS require() of one gets the module's default export.
//   node examples/workerd-postgres/bundle.mjs

import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const npm = path.resolve(here, "../..");
const builtins = new Set(builtinModules);

export const WORKER_OPTIONS = {
  bundle: true,
  format: "esm",
  platform: "browser",
  conditions: ["workerd", "worker", "browser"],
  alias: { "cloudflare:sockets": "tlswire/sockets" },
  external: ["cloudflare:*", "*.wasm"],
  logLevel: "warning",
  plugins: [{
    name: "nodejs-compat",
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, "");
        if (!builtins.has(name)) return undefined;
        if (args.kind === "require-call") return { path: name, namespace: "node-require" };
        return { path: `node:${name}`, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: "node-require" }, (args) => ({ contents: `import m from "node:${args.path}"; module.exports = m;`, loader: "js" }));
    },
  }],
};

/** Builds npm/.bundles/worker.js. */
export function bundleWorker() {
  return build({ ...WORKER_OPTIONS, entryPoints: [path.join(here, "worker.js")], outfile: path.join(npm, ".bundles/worker.js"), absWorkingDir: npm });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await bundleWorker();
