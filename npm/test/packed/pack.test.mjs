// The package as npm would publish it: packed from a clean clone of this repository (so `dist/`
// exists only because `npm pack` built it: prepack), installed into an empty app, connecting.
// In a directory of its own: packing builds the engine, which takes longer than the time limit
// of the other tests (package.json's "test" runs it with its own).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { opensslServer, pem, root, targetDir } from "../peers.mjs";

const work = mkdtempSync(path.join(tmpdir(), "tlswire-pack-"));
const peers = [];
after(() => {
  peers.forEach((p) => p.stop());
  rmSync(work, { recursive: true, force: true });
});

test("npm pack from a clean clone builds a complete package; an empty app installs it and connects", { timeout: 600_000 }, async () => {
  const clone = path.join(work, "clone");
  execFileSync("git", ["clone", "-q", "--no-hardlinks", root, clone]);
  // The clone shares this checkout's cargo target directory (only its own crates compile again)
  // and npm tools; its dist/ does not exist until the pack builds it.
  symlinkSync(path.join(root, "npm/node_modules"), path.join(clone, "npm/node_modules"));
  const env = { ...process.env, CARGO_TARGET_DIR: targetDir };
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: path.join(clone, "npm"), env, stdio: ["ignore", "pipe", "pipe"] }));
  const files = packed[0].files.map((f) => f.path).sort();
  for (const expected of ["LICENSE-APACHE", "LICENSE-MIT", "README.md", "package.json", "src/index.js", "src/index.d.ts", "src/roots.d.ts",
    "src/workerd.js", "src/node.js", "src/node.d.ts", "src/sockets.js", "src/sockets.d.ts", "src/workerd-sockets.js", "dist/index.js", "dist/node.js", "dist/websocket.js", "dist/wasm/tlswire.js", "dist/wasm/tlswire_bg.wasm", "dist/wasm-server/tlswire.js", "dist/wasm-server/tlswire_bg.wasm", "dist/roots.js"]) {
    assert.ok(files.includes(expected), `the package has ${expected}: ${files.join(", ")}`);
  }
  assert.deepEqual(files.filter((f) => /^(test|scripts|examples|node_modules)\//.test(f)), [], "no tests, scripts or examples");
  const wasm = packed[0].files.find((f) => f.path === "dist/wasm/tlswire_bg.wasm");
  assert.ok(wasm.size > 500_000, `the engine is built (${wasm.size} bytes)`);
  // The server's engine is the client's plus rustls's server: a client's download leaves it out.
  const serverWasm = packed[0].files.find((f) => f.path === "dist/wasm-server/tlswire_bg.wasm");
  assert.ok(serverWasm.size > wasm.size + 20_000, `the client's engine has no server (${wasm.size} < ${serverWasm.size} bytes)`);

  const app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", path.join(work, packed[0].filename)], { cwd: app });
  const server = await opensslServer([]);
  peers.push(server);
  writeFileSync(path.join(app, "main.mjs"), `
import net from "node:net";
import { Duplex } from "node:stream";
import { accept, connect, memoryUsage, TlsError, webSocket } from "tlswire";
import { webSocket as webSocketSubpath } from "tlswire/websocket";
import roots from "tlswire/roots";
if (webSocket !== webSocketSubpath) throw new Error("tlswire/websocket is a second copy");
if (!import.meta.resolve("tlswire").endsWith("/dist/index.js")) throw new Error("Node did not get the one-file entry");
const socket = net.connect(${server.port}, "127.0.0.1");
await new Promise((resolve) => socket.once("connect", resolve));
const tls = await connect({ transport: Duplex.toWeb(socket), serverName: "localhost", ca: [roots, ${JSON.stringify(pem("ca.pem"))}] });
await tls.write("packed\\n");
let reply = "";
while (!reply.endsWith("\\n")) reply += new TextDecoder().decode(await tls.read());
await tls.close();
// Node's tls shape (tlswire/node), as a bundler's alias of \`tls\` gives it to client libraries.
import nodeTls from "tlswire/node";
import { setTlsDefaults } from "tlswire/sockets";
if (typeof setTlsDefaults !== "function") throw new Error("tlswire/sockets");
const shaped = nodeTls.connect({ port: ${server.port}, host: "127.0.0.1", servername: "localhost", ca: ${JSON.stringify(pem("ca.pem"))} });
await new Promise((resolve, reject) => (shaped.once("secureConnect", resolve), shaped.once("error", reject)));
shaped.write("shaped\\n");
const shapedReply = await new Promise((resolve) => shaped.once("data", (d) => resolve(String(d))));
shaped.destroy();
// accept(): the server's engine, loaded on first use from the package's dist/wasm-server.
const clientOnly = memoryUsage().wasmBytes;
const listener = net.createServer(async (s) => {
  const conn = await accept({ transport: Duplex.toWeb(s), certificate: ${JSON.stringify(pem("server-ecdsa.pem"))}, privateKey: ${JSON.stringify(pem("server-ecdsa.key"))} });
  for await (const chunk of conn) await conn.write(chunk);
  await conn.close();
});
await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
const toServer = net.connect(listener.address().port, "127.0.0.1");
await new Promise((resolve) => toServer.once("connect", resolve));
const served = await connect({ transport: Duplex.toWeb(toServer), serverName: "localhost", ca: ${JSON.stringify(pem("ca.pem"))} });
await served.write("served\\n");
const servedReply = new TextDecoder().decode(await served.read());
await served.close();
listener.close();
const bothEngines = memoryUsage().wasmBytes > clientOnly;
console.log(JSON.stringify({ version: tls.info.version, reply, shapedReply, protocol: shaped.getProtocol(), servedReply, bothEngines }));
`);
  const out = execFileSync("node", ["main.mjs"], { cwd: app, encoding: "utf8", timeout: 30_000 });
  assert.deepEqual(JSON.parse(out), { version: "TLSv1.3", reply: "dekcap\n", shapedReply: "depahs\n", protocol: "TLSv1.3", servedReply: "served\n", bothEngines: true });
});
