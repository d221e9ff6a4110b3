// The hand-written type declarations compile under strict TypeScript, with a file using them the
// way the README and the JSDoc examples do.

import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

import { root } from "./peers.mjs";

test("the .d.ts files and a typed use of them compile under tsc --strict", () => {
  const npm = path.join(root, "npm");
  execFileSync(path.join(npm, "node_modules/.bin/tsc"), [
    "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler",
    "--lib", "es2022,dom,esnext.disposable", "src/index.d.ts", "src/roots.d.ts", "src/transports/websocket.d.ts", "src/transports/wisp.d.ts", "src/transports/webtransport.d.ts", "src/node.d.ts", "src/sockets.d.ts", "test/types/use.ts",
  ], { cwd: npm, stdio: "pipe" });
});
