// A hostile Wisp server (and WebSocket bridge): a `ws` server on 127.0.0.1 scripted frame by
// frame. The transport parses these frames itself, so what it does with them must not hang the
// app, hold unbounded memory, report success for bytes never sent, or poison the next session.
// Each test failed before its fix (a review of npm/src/transports, done as an attacker would).
import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket, { WebSocketServer } from "ws";

import { connect, webSocket, wisp } from "../src/index.js";
import { pem } from "./peers.mjs";

const packet = (type, id, payload = []) => {
  const bytes = new Uint8Array(5 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, id, true);
  bytes.set(payload, 5);
  return bytes;
};
const u32 = (n) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n, true);
  return bytes;
};
const CONTINUE = (id, n) => packet(3, id, u32(n));
const DATA = (id, bytes) => packet(2, id, bytes);
const CLOSE = (id, reason) => packet(4, id, [reason]);

/** Rejects after `ms` with `what`: a deadline, so a hang fails the test instead of stalling it. */
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} (${ms} ms)`)), ms).unref());
const within = (promise, what, ms = 5000) => Promise.race([promise, deadline(ms, what)]);

/**
 * A Wisp server that grants `budget` (stream 0's CONTINUE) to each WebSocket and then runs
 * `script(socket, message)` on each message it receives. `connections` counts WebSockets;
 * `closed(i)` resolves when the i-th one closes.
 */
async function hostileWisp({ budget = 128, script = () => {} } = {}) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const sockets = [];
  const closings = [];
  server.on("connection", (socket) => {
    sockets.push(socket);
    closings.push(new Promise((resolve) => socket.on("close", resolve)));
    socket.on("error", () => {});
    if (budget !== null) socket.send(CONTINUE(0, budget));
    socket.on("message", (data) => script(socket, new Uint8Array(data)));
  });
  return {
    url: `ws://127.0.0.1:${server.address().port}/`,
    get connections() {
      return sockets.length;
    },
    closed: (i) => closings[i],
    stop: () => (sockets.forEach((s) => s.terminate()), new Promise((r) => server.close(r))),
  };
}

test("wisp(): a write waiting for credit fails when its stream is closed, and connect()'s signal settles connect() whose ClientHello waits for credit", async () => {
  let connected;
  const connects = new Promise((resolve) => (connected = resolve));
  const server = await hostileWisp({ budget: 0, script: (_, message) => message[0] === 1 && connected() });
  const transport = await wisp(server.url, "127.0.0.1", 9, { WebSocket });
  const writer = transport.writable.getWriter();
  const waiting = writer.write(new Uint8Array([1]));
  await transport.readable.cancel();
  await assert.rejects(within(waiting, "the write still waits for credit after the stream closed"), { code: "CHANNEL_ERROR" });

  const controller = new AbortController();
  const connecting = connect({ transport: wisp(server.url, "127.0.0.1", 9, { WebSocket }), serverName: "localhost", ca: pem("ca.pem"), signal: controller.signal });
  // The stream is open (its CONNECT arrived); the ClientHello's write waits for a credit that
  // never comes, and the app gives up.
  await within(connects, "no CONNECT");
  await within(new Promise((resolve) => setImmediate(resolve)), "tick");
  controller.abort(new Error("gave up"));
  await assert.rejects(within(connecting, "connect() still pending after its signal aborted"), { code: "CHANNEL_ERROR", message: /aborted/ });
  await server.stop();
});

test("wisp(): empty and one-byte DATA frames count against maxQueuedBytes (each costs far more memory than its bytes)", async () => {
  const server = await hostileWisp({
    script: (socket, message) => {
      if (message[0] !== 1) return; // after the stream's CONNECT: a flood of tiny frames, then CLOSE
      for (let i = 0; i < 5000; i++) socket.send(DATA(1, []));
      for (let i = 0; i < 5000; i++) socket.send(DATA(1, [7]));
      socket.send(CLOSE(1, 2));
    },
  });
  let messages = 0;
  class Counted extends WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => messages++);
    }
  }
  const transport = await wisp(server.url, "127.0.0.1", 9, { WebSocket: Counted, maxQueuedBytes: 1 << 20 });
  const reader = transport.readable.getReader();
  // Read nothing until every frame has arrived (the budget, 10,000 DATA, the CLOSE); then read
  // what was kept.
  await within((async () => {
    while (messages < 10002) await new Promise((r) => setImmediate(r));
  })(), "the frames never all arrived");
  let read = 0;
  let chunks = 0;
  const end = await within((async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "closed cleanly";
      chunks++;
      read += value.byteLength;
      assert.ok(value.byteLength > 0, "an empty chunk was kept and handed out");
    }
  })().catch((e) => e), "the stream neither ended nor failed");
  // 5,000 one-byte frames cost ~1.3 MB kept: over the 1 MiB cap, the stream fails.
  assert.equal(end?.code, "CHANNEL_ERROR", `ended: ${end}; read ${read} bytes in ${chunks} chunks`);
  assert.match(end.message, /maxQueuedBytes/);
  await server.stop();
});

test("webSocket(): empty binary frames are not kept (they reached neither the pause mark nor maxQueuedBytes)", async () => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  server.on("connection", (socket) => {
    for (let i = 0; i < 1000; i++) socket.send(new Uint8Array(0));
    socket.send(new Uint8Array([1, 2, 3]));
    socket.close();
  });
  const { readable } = webSocket(new WebSocket(`ws://127.0.0.1:${server.address().port}/`), { maxQueuedBytes: 1 << 20 });
  const reader = readable.getReader();
  const first = await within(reader.read(), "nothing read");
  assert.deepEqual([...first.value], [1, 2, 3]);
  assert.equal((await within(reader.read(), "no end")).done, true);
  await new Promise((r) => server.close(r));
});

test("wisp(): a write resolves only once the WebSocket holds at most 256 KiB unsent, however many credits the server grants", async () => {
  let socket;
  const server = await hostileWisp({
    budget: 0xffffffff,
    script: (s, message) => {
      if (message[0] !== 1) return;
      socket = s;
      // A slow reader: it stops reading its socket now and then.
      const stall = () => {
        if (s.readyState !== 1) return;
        s._socket.pause();
        setTimeout(() => (s._socket.resume(), setTimeout(stall, 20)), 50);
      };
      stall();
    },
  });
  let client;
  class Watched extends WebSocket {
    constructor(...args) {
      super(...args);
      client = this;
    }
  }
  const transport = await wisp(server.url, "127.0.0.1", 9, { WebSocket: Watched });
  const writer = transport.writable.getWriter();
  const chunk = new Uint8Array(1 << 20);
  let most = 0;
  for (let i = 0; i < 8; i++) {
    await within(writer.write(chunk), "a write never resolved", 30000);
    most = Math.max(most, client.bufferedAmount);
  }
  assert.ok(socket, "the server saw the stream");
  assert.ok(most <= 256 * 1024 + 65536 + 5, `a write resolved with ${most} bytes buffered unsent`);
  await transport.readable.cancel();
  await server.stop();
});

test("wisp(): a write while the WebSocket is closing fails with CHANNEL_ERROR instead of resolving for bytes never sent", async () => {
  let serverSocket;
  const server = await hostileWisp({ budget: 1000, script: (s, message) => message[0] === 1 && (serverSocket = s) });
  let client;
  class Watched extends WebSocket {
    constructor(...args) {
      super(...args);
      client = this;
    }
  }
  const transport = await wisp(server.url, "127.0.0.1", 9, { WebSocket: Watched });
  const writer = transport.writable.getWriter();
  await within(writer.write(new Uint8Array([1])), "the first write");
  while (!serverSocket) await within(new Promise((r) => setImmediate(r)), "the server never saw the stream");
  // A close frame (1000), and the server stops reading: the client's WebSocket stays CLOSING.
  serverSocket._socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
  serverSocket._socket.pause();
  const closing = (async () => {
    while (client.readyState !== 2) await new Promise((r) => setImmediate(r));
  })();
  await within(closing, "the client's WebSocket never started closing");
  await assert.rejects(within(writer.write(new Uint8Array([2])), "the write neither resolved nor failed"), { code: "CHANNEL_ERROR" });
  await server.stop();
});

test("wisp(): a session that failed or closed is not joined by later streams, and its late close leaves the next session alone", async () => {
  // A text frame: the session fails at once; the next stream opens a new WebSocket, although the
  // server never completes the old one's close.
  const failing = await hostileWisp({
    script: (socket, message) => {
      if (message[0] !== 1 || failing.connections > 1) return;
      socket.send("not binary");
      socket._socket.pause();
    },
  });
  const first = await wisp(failing.url, "127.0.0.1", 9, { WebSocket });
  await assert.rejects(within(first.readable.getReader().read(), "the stream did not fail"), { code: "CHANNEL_ERROR" });
  const second = await within(wisp(failing.url, "127.0.0.1", 9, { WebSocket }), "a new stream joined the failed session");
  assert.equal(failing.connections, 2);
  await second.readable.cancel();
  await failing.stop();

  // A session whose last stream closed is replaced; when its close completes, later streams still
  // share the new session.
  const server = await hostileWisp();
  const a = await wisp(server.url, "127.0.0.1", 9, { WebSocket });
  await a.readable.cancel();
  const b = await wisp(server.url, "127.0.0.1", 9, { WebSocket });
  await within(server.closed(0), "the first session never closed");
  const c = await wisp(server.url, "127.0.0.1", 9, { WebSocket });
  assert.equal(server.connections, 2, "the third stream shares the second session");
  await b.readable.cancel();
  await c.readable.cancel();
  await server.stop();
});
