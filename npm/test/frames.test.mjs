// A hostile bridge or network on the WebSocket: TLS travels in binary frames, and a text frame
// must fail the channel (CHANNEL_ERROR), never be turned into bytes. `new Uint8Array("1e7")` is
// ten million zero bytes from a three-byte frame, allocated before the queue's bound is checked,
// and `new Uint8Array("1e10")` throws inside the message listener (in Node an uncaught exception
// that ends the process). Real WebSocket servers (the `ws` package) on 127.0.0.1 send the frames.
import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket, { WebSocketServer } from "ws";

import { webSocket, wisp } from "../src/index.js";

/** A `ws` server on 127.0.0.1 that runs `onConnection(socket)` for each client. */
async function hostile(onConnection) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  server.on("connection", onConnection);
  return { url: `ws://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** Fails the test on any uncaught exception while `body` runs. */
async function withoutUncaught(body) {
  const uncaught = [];
  const record = (e) => uncaught.push(e);
  process.on("uncaughtException", record);
  try {
    await body();
  } finally {
    process.off("uncaughtException", record);
  }
  assert.deepEqual(uncaught, [], "an exception escaped a message listener");
}

test("webSocket(): a text frame from the bridge fails the channel with CHANNEL_ERROR; nothing is made of its text", async () => {
  await withoutUncaught(async () => {
    const server = await hostile((socket) => {
      socket.send(new Uint8Array([22, 3, 3])); // a binary frame first: read before the failure
      socket.send("1e7");
      socket.send("1e10");
    });
    const { readable } = webSocket(new WebSocket(server.url));
    const reader = readable.getReader();
    const first = await reader.read();
    assert.deepEqual([...first.value], [22, 3, 3]);
    const err = await reader.read().then(
      (r) => assert.fail(`a text frame was read as ${r.value?.byteLength} bytes`),
      (e) => e,
    );
    assert.equal(err.code, "CHANNEL_ERROR");
    assert.match(err.message, /not binary/);
    await server.close();
  });
});

test("wisp(): a text frame from the Wisp server fails its streams with CHANNEL_ERROR", async () => {
  await withoutUncaught(async () => {
    const server = await hostile((socket) => {
      // Wisp's opening CONTINUE (stream 0, a buffer of 128 packets), then, once the client
      // opens a stream, a text frame.
      const go = new Uint8Array(9);
      new DataView(go.buffer).setUint8(0, 0x03);
      new DataView(go.buffer).setUint32(5, 128, true);
      socket.send(go);
      socket.once("message", () => socket.send("1e10"));
    });
    const err = await wisp(server.url, "127.0.0.1", 9, { WebSocket })
      .then((transport) => transport.readable.getReader().read())
      .then(
        () => assert.fail("a text frame was read"),
        (e) => e,
      );
    assert.equal(err.code, "CHANNEL_ERROR");
    assert.match(err.message, /not binary/);
    await server.close();
  });
});
