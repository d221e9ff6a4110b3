// A websockify-style bridge: one WebSocket = one TCP connection.

import { TlsError } from "../errors.js";

// Bytes a WebSocket may hold unsent before a write waits (see `write` below).
const BUFFERED_MAX = 256 * 1024;

/**
 * A websockify-style bridge (one WebSocket = one TCP connection) as a {readable, writable} pair.
 * @param {string | URL | WebSocket} target
 */
export function webSocket(target, protocols) {
  const ws = typeof target === "string" || target instanceof URL ? new WebSocket(target, protocols) : target;
  ws.binaryType = "arraybuffer";
  const opened = new Promise((resolve, reject) => {
    if (ws.readyState === 1) return resolve();
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new TlsError("CHANNEL_ERROR", "WebSocket failed to open")), { once: true });
  });
  opened.catch(() => {}); // reported through the streams; never an unhandled rejection
  let cancelled = false;
  const readable = new ReadableStream({
    start(controller) {
      ws.addEventListener("message", (e) => cancelled || controller.enqueue(new Uint8Array(e.data)));
      ws.addEventListener("close", () => {
        try {
          controller.close();
        } catch {}
      });
      ws.addEventListener("error", () => {
        try {
          controller.error(new TlsError("CHANNEL_ERROR", "WebSocket error"));
        } catch {}
      });
    },
    cancel() {
      cancelled = true;
      ws.close();
    },
  });
  const writable = new WritableStream({
    async write(chunk) {
      await opened;
      // A closed WebSocket drops what it is given (and a browser logs it): say so instead.
      if (ws.readyState !== 1) throw new TlsError("CHANNEL_ERROR", "WebSocket is closed");
      ws.send(chunk);
      // A WebSocket takes any amount and buffers it (bufferedAmount) with no backpressure of its
      // own: a write resolves once the socket holds at most BUFFERED_MAX unsent.
      while (ws.bufferedAmount > BUFFERED_MAX && ws.readyState === 1) await new Promise((resolve) => setTimeout(resolve, 2));
    },
    close() {
      // A WebSocket cannot half-close: closing it would end the reading side too, before the
      // peer's answer to our close_notify. It closes when reading stops (cancel) or the bridge
      // closes it.
      if (cancelled) ws.close();
    },
    abort() {
      ws.close();
    },
  });
  return { readable, writable, opened };
}
