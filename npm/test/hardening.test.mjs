// Security review findings on the JS surface, each with the test that failed before its fix:
// memory bounded whatever the peer sends (webSocket, wisp), deadlines and AbortSignals
// (slowloris), no unhandled rejection when a peer fails writes in flight, a fresh engine after a
// wasm trap, and exportKeyingMaterial's bound. Real peers on 127.0.0.1 (peers.mjs).

import assert from "node:assert/strict";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { after, test } from "node:test";

import WebSocket from "ws";

import { accept, connect, createContext, createServerContext, memoryUsage, TlsError, webSocket, wisp } from "../src/index.js";
import { bridge, opensslServer, pem, tcp, wispServer } from "./peers.mjs";

const stops = [];
const track = (p) => (stops.push(() => p.stop()), p);
after(() => stops.forEach((stop) => stop()));

/** The flood's byte at offset `i`: any lost, doubled or reordered byte shows. */
const pattern = (i) => (i * 7 + (i >> 12)) & 0xff;

/**
 * A Node TLS server (OpenSSL) that, on its connection's first bytes from the client, writes
 * `size` bytes of `pattern` as fast as TCP takes them. `finished` resolves once all are written,
 * `closed` when the connection closes.
 */
async function floodServer(size) {
  let resolveFinished;
  let resolveClosed;
  const finished = new Promise((r) => (resolveFinished = r));
  const closed = new Promise((r) => (resolveClosed = r));
  const sockets = new Set();
  const server = tls.createServer({ cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key") }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => resolveClosed());
    socket.once("data", async () => {
      const chunk = 64 * 1024;
      for (let at = 0; at < size && !socket.destroyed; at += chunk) {
        const bytes = Buffer.alloc(Math.min(chunk, size - at));
        for (let i = 0; i < bytes.length; i++) bytes[i] = pattern(at + i);
        if (!socket.write(bytes)) await drained(socket);
      }
      if (!socket.destroyed) socket.end(() => resolveFinished());
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { port: server.address().port, finished, closed, stop: () => (server.close(), sockets.forEach((s) => s.destroy())) };
}

/** Resolves when `socket` drains or closes. */
const drained = (socket) => new Promise((resolve) => {
  const done = () => (socket.off("drain", done), socket.off("close", done), resolve());
  socket.on("drain", done);
  socket.on("close", done);
});

/** Reads plaintext until the end or an error; checks it against `pattern`; {length, error}. */
async function drain(conn) {
  let length = 0;
  try {
    for (let chunk; (chunk = await conn.read()) !== null; length += chunk.length) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== pattern(length + i)) throw new Error(`byte ${length + i} differs`);
    }
    return { length, error: null };
  } catch (error) {
    if (!(error instanceof TlsError)) throw error;
    return { length, error };
  }
}

/** A transport's readable as one that counts what the connection has taken from it. */
function counting(transport, count) {
  const reader = transport.readable.getReader();
  const readable = new ReadableStream({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) return controller.close();
      count(value.byteLength);
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  return { ...transport, readable };
}

test("finding 1: webSocket() over a WebSocket that can pause (ws): a 16 MiB flood the app does not read pauses the socket at 64 KiB; then every byte arrives", async () => {
  const size = 16 << 20;
  const server = track(await floodServer(size));
  const b = track(await bridge(server.port));
  const socket = new WebSocket(`ws://127.0.0.1:${b.port}/`);
  let received = 0; // by the WebSocket
  let taken = 0; // from the transport, by the connection
  let most = 0; // the most held between the two
  let paused;
  let allIn;
  const pausing = new Promise((r) => (paused = r));
  const arrived = new Promise((r) => (allIn = r));
  socket.addEventListener("message", (e) => {
    received += e.data.byteLength;
    most = Math.max(most, received - taken);
    if (socket.isPaused) paused("paused");
    if (received >= size) allIn("all received");
  });
  const transport = counting(webSocket(socket), (n) => (taken += n));
  const conn = await connect({ transport, serverName: "localhost", ca: pem("ca.pem") });
  await conn.write("go\n");
  // Nothing is read: before the fix the WebSocket took in the whole flood.
  assert.equal(await Promise.race([pausing, arrived]), "paused");
  const { length, error } = await drain(conn);
  assert.equal(error, null);
  assert.equal(length, size);
  assert.ok(most < 1 << 20, `the transport held ${most} bytes unread`);
});

test("finding 1: webSocket() over a WebSocket that cannot pause (the platform's): past maxQueuedBytes unread it fails with CHANNEL_ERROR and closes; what came before is read first", async () => {
  const size = 64 << 20;
  const server = track(await floodServer(size));
  const b = track(await bridge(server.port));
  const socket = new WebSocket(`ws://127.0.0.1:${b.port}/`);
  socket.pause = undefined; // as a browser's, Deno's or workerd's WebSocket: no way to pause
  let received = 0;
  socket.addEventListener("message", (e) => (received += e.data.byteLength));
  const closed = new Promise((r) => socket.addEventListener("close", r));
  const max = 1 << 20;
  const conn = await connect({ transport: webSocket(socket, { maxQueuedBytes: max }), serverName: "localhost", ca: pem("ca.pem") });
  await conn.write("go\n");
  await closed; // the transport closed it (before the fix: the bridge, after the whole flood)
  assert.ok(received < size, `received ${received} of ${size} bytes before the WebSocket closed`);
  const { length, error } = await drain(conn);
  assert.ok(length > 0 && length <= max, `${length} bytes read`);
  assert.equal(error?.code, "CHANNEL_ERROR");
  assert.match(error.message, /maxQueuedBytes/);
  await assert.rejects(conn.closed, { code: "CHANNEL_ERROR" });
  assert.throws(() => webSocket(socket, { maxQueuedBytes: 0 }), { code: "CONFIG" });
});

test("finding 1: wisp(): a stream's flood the app does not read fails that stream past maxQueuedBytes (CLOSE 0x81 to the server); other streams go on", async () => {
  const size = 16 << 20;
  const flood = track(await floodServer(size));
  const echo = track(await opensslServer([]));
  const server = track(await wispServer());
  let closedByUs;
  let allIn;
  const refused = new Promise((r) => (closedByUs = r));
  const arrived = new Promise((r) => (allIn = r));
  let received = 0;
  // The session's WebSocket, watched: the DATA it receives, the CLOSE it sends.
  class Watched extends WebSocket {
    constructor(url) {
      super(url);
      this.addEventListener("message", (e) => {
        received += e.data.byteLength;
        if (received >= size) allIn("all received");
      });
    }

    send(data) {
      if (data[0] === 4 && data[5] === 0x81) closedByUs("closed by the client");
      return super.send(data);
    }
  }
  const max = 1 << 20;
  const options = { WebSocket: Watched, maxQueuedBytes: max };
  const conn = await connect({ transport: wisp(server.url, "127.0.0.1", flood.port, options), serverName: "localhost", ca: pem("ca.pem") });
  const other = await connect({ transport: wisp(server.url, "127.0.0.1", echo.port, options), serverName: "localhost", ca: pem("ca.pem") });
  await conn.write("go\n");
  assert.equal(await Promise.race([refused, arrived]), "closed by the client");
  const { length, error } = await drain(conn);
  assert.ok(length > 0 && length <= max, `${length} bytes read`);
  assert.equal(error?.code, "CHANNEL_ERROR");
  assert.match(error.message, /maxQueuedBytes/);
  // The other stream on the same WebSocket is untouched.
  await other.write("still here\n");
  assert.equal(new TextDecoder().decode(await other.read()), "ereh llits\n");
  await other.close();
  await assert.rejects(wisp(server.url, "127.0.0.1", echo.port, { WebSocket, maxQueuedBytes: -1 }), { code: "CONFIG" });
});

/** A TCP server whose connections go to `onSocket`; closes them all at the end. */
async function tcpServer(onSocket) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  stops.push(() => (server.close(), sockets.forEach((s) => s.destroy())));
  return server.address().port;
}

/** A TCP client to `port` that sends `bytes`, then nothing; `closed` resolves when it is dropped. */
async function slowClient(port, bytes) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  const closed = new Promise((r) => socket.once("close", r));
  await new Promise((r) => socket.once("connect", r));
  if (bytes.length) socket.write(bytes);
  stops.push(() => socket.destroy());
  return { socket, closed };
}

/** Rejects after `ms` (a bound on a wait that the code under test should end much sooner). */
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms).unref());

// The first 100 bytes of a ClientHello record that announces 512: half a ClientHello.
const halfHello = Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Array(89).fill(7)]);

test("finding 2: accept() drops a client that sends nothing, or half a ClientHello, at handshakeTimeout (CHANNEL_ERROR)", async () => {
  const context = await createServerContext({ certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key") });
  const accepted = [];
  const port = await tcpServer((socket) => {
    const started = Date.now();
    accepted.push(accept({ transport: Duplex.toWeb(socket), context, handshakeTimeout: 300 }).then(
      () => ({ error: null }),
      (error) => ({ error, after: Date.now() - started }),
    ));
  });
  for (const bytes of [new Uint8Array(0), halfHello]) {
    const client = await slowClient(port, bytes);
    await Promise.race([client.closed, deadline(10000, "the client was not dropped")]);
    const { error, after } = await accepted.at(-1);
    assert.equal(error?.code, "CHANNEL_ERROR");
    assert.match(error.message, /handshakeTimeout/);
    assert.ok(after >= 290, `dropped after ${after} ms`);
  }
  // A client that completes its handshake in time keeps its connection past the deadline.
  const fine = await tcpServer(async (socket) => {
    try {
      const conn = await accept({ transport: Duplex.toWeb(socket), context, handshakeTimeout: 300 });
      for await (const chunk of conn) await conn.write(chunk);
    } catch {
      // the client below that leaves at once
    }
  });
  const client = await connect({ transport: await tcp(fine), serverName: "localhost", ca: pem("ca.pem") });
  // Past its deadline: a slow client that came later, with the same timeout, has been dropped.
  const later = await slowClient(port, new Uint8Array(0));
  await Promise.race([later.closed, deadline(10000, "the client was not dropped")]);
  await client.write("late\n");
  assert.equal(new TextDecoder().decode(await client.read()), "late\n");
  await client.close();
  await assert.rejects(accept({ transport: await tcp(fine), context, handshakeTimeout: -1 }), { code: "MISUSE" });
  context.free();
});

test("finding 2: options.signal: aborting fails connect() and accept() mid-handshake, and a connection after it, with CHANNEL_ERROR; the channel is closed", async () => {
  // connect(): a server that takes the ClientHello and answers nothing.
  let helloSeen;
  const seen = new Promise((r) => (helloSeen = r));
  let serverSide;
  const silent = await tcpServer((socket) => {
    serverSide = new Promise((r) => socket.once("close", r));
    socket.once("data", () => helloSeen());
  });
  const controller = new AbortController();
  const connecting = connect({ transport: await tcp(silent), serverName: "localhost", ca: pem("ca.pem"), signal: controller.signal });
  await seen;
  const reason = new Error("user gave up");
  controller.abort(reason);
  await assert.rejects(Promise.race([connecting, deadline(10000, "connect() went on")]), (e) => e.code === "CHANNEL_ERROR" && e.cause === reason && /aborted/.test(e.message));
  await Promise.race([serverSide, deadline(10000, "the channel stayed open")]);
  // Already aborted: refused at once.
  await assert.rejects(connect({ transport: await tcp(silent), serverName: "localhost", ca: pem("ca.pem"), signal: AbortSignal.abort() }), { code: "CHANNEL_ERROR" });
  await assert.rejects(connect({ transport: await tcp(silent), serverName: "localhost", ca: pem("ca.pem"), signal: {} }), { code: "MISUSE" });

  // accept(): a client that sends half a ClientHello; the server's signal aborts.
  const serverAbort = new AbortController();
  let accepting;
  const port = await tcpServer((socket) => {
    accepting = accept({ transport: Duplex.toWeb(socket), certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key"), signal: serverAbort.signal }).then(() => null, (e) => e);
    socket.once("data", () => serverAbort.abort());
  });
  const client = await slowClient(port, halfHello);
  await Promise.race([client.closed, deadline(10000, "the client was not dropped")]);
  const refused = await accepting;
  assert.equal(refused?.code, "CHANNEL_ERROR");
  assert.match(refused.message, /aborted/);

  // After the handshake: the connection fails, its reads reject, its channel closes.
  const server = track(await opensslServer([]));
  const late = new AbortController();
  const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), signal: late.signal });
  await conn.write("up\n");
  assert.equal(new TextDecoder().decode(await conn.read()), "pu\n");
  late.abort();
  await assert.rejects(conn.closed, { code: "CHANNEL_ERROR" });
  await assert.rejects(conn.read(), { code: "CHANNEL_ERROR" });
});

test("finding 3: a peer that fails the connection while writes and reads are in flight leaves no unhandled rejection (connect(), tlswire/sockets, tlswire/node)", async () => {
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    // The server (Node's TLS) resets the TCP connection on the client's first bytes.
    const port = await tcpServer((raw) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, cert: pem("server-ecdsa.pem"), key: pem("server-ecdsa.key") });
      secure.on("error", () => {});
      secure.once("data", () => raw.resetAndDestroy());
    });
    const chunk = new Uint8Array(256 * 1024).fill(0x61);

    // connect(): writes in flight, through write() and the writable, and a read.
    const conn = await connect({ transport: await tcp(port), serverName: "localhost", ca: pem("ca.pem") });
    const writer = conn.writable.getWriter();
    const settled = await Promise.allSettled([conn.read(), ...Array.from({ length: 8 }, () => conn.write(chunk)), writer.write(chunk), writer.write(chunk)]);
    assert.ok(settled.some((s) => s.status === "rejected"));
    await assert.rejects(conn.closed);

    // tlswire/sockets (secureTransport "on"): a read and writes in flight.
    const { connect: socketsConnect, setTransport, setTlsDefaults } = await import("../src/sockets.js");
    setTransport(async (hostname, p) => tcp(p));
    setTlsDefaults({ ca: pem("ca.pem"), serverName: "localhost" });
    try {
      const socket = socketsConnect({ hostname: "127.0.0.1", port }, { secureTransport: "on" });
      const reader = socket.readable.getReader();
      const socketWriter = socket.writable.getWriter();
      await socket.opened;
      await Promise.allSettled([reader.read(), ...Array.from({ length: 8 }, () => socketWriter.write(chunk))]);
      await socket.closed.catch(() => {});
    } finally {
      setTransport(null);
      setTlsDefaults({});
    }

    // tlswire/node: writes in flight, the error reported as an event.
    const { connect: nodeConnect } = await import("../src/node.js");
    const nodeSocket = nodeConnect({ host: "127.0.0.1", port, servername: "localhost", ca: pem("ca.pem") });
    const failed = new Promise((r) => nodeSocket.once("error", r));
    await new Promise((r) => nodeSocket.once("secureConnect", r));
    for (let i = 0; i < 8; i++) nodeSocket.write(chunk);
    await failed;

    // Unhandled rejections are reported after the turn that made them.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled.map(String), []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

/**
 * Makes the next call of `Class.prototype.method` in an engine's glue a genuine wasm trap: the
 * engine's allocator asked for more than a wasm32 address space aborts (no option or input
 * reaches a trap, so the test makes one).
 */
async function trapInNextCall(glue, Class, method) {
  const module = await import(glue);
  const original = module[Class].prototype[method];
  module[Class].prototype[method] = function () {
    module[Class].prototype[method] = original;
    module.initSync().__wbindgen_malloc(0xfffffff0, 8);
  };
}

test("finding 4: a wasm trap fails every connection of that engine with CHANNEL_ERROR (engineFailed); the next connect() and accept() get a fresh engine", async () => {
  const server = track(await opensslServer([]));
  const live = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
  await live.write("before\n");
  assert.equal(new TextDecoder().decode(await live.read()), "erofeb\n");
  const shared = await createContext({ ca: pem("ca.pem") });
  // What reached a trap from options (a session cache of 2^32-1, which rustls allocated up front)
  // is now a CONFIG error; the trap is made on purpose.
  await assert.rejects(createContext({ ca: pem("ca.pem"), sessionCache: 2 ** 32 - 1 }), { code: "CONFIG", message: /at most 20480/ });
  await trapInNextCall("../dist/wasm/tlswire.js", "Config", "sessionCache");
  const trap = await createContext({ ca: pem("ca.pem"), sessionCache: 1 }).then(() => null, (e) => e);
  assert.ok(trap instanceof TlsError, String(trap));
  assert.equal(trap.code, "CHANNEL_ERROR");
  assert.equal(trap.engineFailed, true);
  assert.match(trap.message, /engine failed/);
  assert.ok(trap.cause instanceof WebAssembly.RuntimeError);
  // The live connection went with the instance: failed, not left on half-borrowed state.
  await assert.rejects(Promise.race([live.closed, deadline(10000, "the live connection went on")]), (e) => e === trap);
  await assert.rejects(live.read(), (e) => e === trap);
  // A context of the old instance is refused, not passed to the new one.
  await assert.rejects(connect({ transport: await tcp(server.port), serverName: "localhost", context: shared }), { code: "MISUSE" });
  shared.free(); // and freeing it does not touch the new instance
  // Later connections work, on a fresh instance.
  for (let i = 0; i < 3; i++) {
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
    await conn.write("after\n");
    assert.equal(new TextDecoder().decode(await conn.read()), "retfa\n");
    await conn.close();
  }
  assert.ok(memoryUsage().wasmBytes > 0);

  // The server's engine likewise.
  await assert.rejects(createServerContext({ certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key"), tickets: 2 ** 32 - 1 }), { code: "CONFIG" });
  await trapInNextCall("../dist/wasm-server/tlswire.js", "ServerConfig", "sessionCache");
  const serverTrap = await createServerContext({ certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key"), sessionCache: 1 }).then(() => null, (e) => e);
  assert.equal(serverTrap?.engineFailed, true, String(serverTrap));
  const port = await tcpServer(async (socket) => {
    const conn = await accept({ transport: Duplex.toWeb(socket), certificate: pem("server-ecdsa.pem"), privateKey: pem("server-ecdsa.key") });
    for await (const chunk of conn) await conn.write(chunk);
  });
  const client = await connect({ transport: await tcp(port), serverName: "localhost", ca: pem("ca.pem") });
  await client.write("served\n");
  assert.equal(new TextDecoder().decode(await client.read()), "served\n");
  await client.close();
});

test("finding 5: exportKeyingMaterial is bounded (16 KiB) in connect()'s connection and tlswire/node, before the engine allocates", async () => {
  const { connect: nodeConnect } = await import("../src/node.js");
  const server = track(await opensslServer([]));
  for (const version of ["TLSv1.2", "TLSv1.3"]) {
    const conn = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version });
    const before = memoryUsage().wasmBytes;
    // 2^32 + 16 is not 16 (the engine takes a u32); 2^30 is not a gigabyte of wasm memory.
    for (const length of [16385, 2 ** 30, 2 ** 32 + 16]) {
      assert.throws(() => conn.exportKeyingMaterial(length, "EXPERIMENTAL x"), (e) => e instanceof TlsError && e.code === "MISUSE" && /16384/.test(e.message), `${version} ${length}`);
    }
    assert.equal(memoryUsage().wasmBytes, before, "no memory grew");
    if (version === "TLSv1.2") assert.equal(conn.exportKeyingMaterial(16384, "EXPERIMENTAL x").length, 16384);
    await conn.close();

    const socket = nodeConnect({ host: "127.0.0.1", port: server.port, servername: "localhost", ca: pem("ca.pem"), minVersion: version, maxVersion: version });
    assert.throws(() => socket.exportKeyingMaterial(2 ** 32 + 16, "EXPERIMENTAL x"), (e) => e.code === "MISUSE" && /16384/.test(e.message));
    await new Promise((resolve, reject) => (socket.once("secureConnect", resolve), socket.once("error", reject)));
    for (const length of [16385, 2 ** 30, 2 ** 32 + 16]) {
      assert.throws(() => socket.exportKeyingMaterial(length, "EXPERIMENTAL x"), (e) => e.code === "MISUSE" && /16384/.test(e.message));
    }
    assert.equal(memoryUsage().wasmBytes, before, "no memory grew");
    socket.destroy();
  }
});

test("finding 6: one huge chunk from the channel (a WebSocket message can be 100 MiB) is fed to the engine in parts: its memory does not grow by the chunk's size", async () => {
  // Warm the engine first, so that what it grows by is the chunk's doing.
  const server = track(await opensslServer([]));
  const warm = await connect({ transport: await tcp(server.port), serverName: "localhost", ca: pem("ca.pem") });
  await warm.close();
  const before = memoryUsage().wasmBytes;
  const huge = new Uint8Array(64 << 20);
  huge.set([22, 3, 3, 0x40, 0x00]); // a handshake record header, then zeros: malformed
  const transport = {
    readable: new ReadableStream({ pull: (controller) => controller.enqueue(huge) }, { highWaterMark: 0 }),
    writable: new WritableStream(),
  };
  await assert.rejects(connect({ transport, serverName: "localhost", ca: pem("ca.pem") }), (e) => e instanceof TlsError && e.code !== "CHANNEL_ERROR");
  const grown = memoryUsage().wasmBytes - before;
  assert.ok(grown < 8 << 20, `the engine's memory grew by ${grown} bytes for a ${huge.byteLength}-byte chunk`);
});
