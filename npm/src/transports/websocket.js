// A websockify-style bridge: one WebSocket = one TCP connection.

import { TlsError } from "../errors.js";

// Bytes a WebSocket may hold unsent before a write waits (see `write` below).
const BUFFERED_MAX = 256 * 1024;
/**
 * What a received message costs beyond its bytes (the array, its buffer, a queue slot), counted
 * against the caps: empty or one-byte messages cannot hold far more memory than the cap says.
 * @internal
 */
export const MESSAGE_COST = 256;
// Bytes received and not read yet at which a WebSocket that can pause (the `ws` package's) stops
// reading its TCP socket; it reads again once the application has read them.
const RECEIVE_HIGH_WATER = 64 * 1024;
/** Bytes received and not read yet past which a WebSocket that cannot pause fails (default). */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/**
 * `options.maxQueuedBytes` checked: a positive number of bytes (`Infinity`: no cap), else the
 * default. @internal
 */
export function maxQueuedBytes(options, who) {
  const max = options?.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  if (typeof max !== "number" || !(max > 0)) throw new TlsError("CONFIG", `${who}: options.maxQueuedBytes must be a positive number of bytes`);
  return max;
}

/**
 * A websockify-style bridge (one WebSocket = one TCP connection) as a {readable, writable} pair.
 *
 * Received messages wait for the application to read them. A WebSocket has no backpressure of
 * its own: where it can pause (Node's `ws` package: `pause()`/`resume()`) it stops reading its
 * socket while 64 KiB wait unread, so the bridge and the server wait too; where it cannot (the
 * platform's WebSocket), more than `options.maxQueuedBytes` unread (default 16 MiB) fails the
 * channel with `CHANNEL_ERROR` and closes the WebSocket. What arrived before is read first.
 * @param {string | URL | WebSocket} target
 * @param {string | string[] | {maxQueuedBytes?: number}} [protocols]
 * @param {{maxQueuedBytes?: number}} [options]
 */
export function webSocket(target, protocols, options = {}) {
  if (protocols !== null && typeof protocols === "object" && !Array.isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  const maxQueued = maxQueuedBytes(options, "webSocket()");
  const ws = typeof target === "string" || target instanceof URL ? new WebSocket(target, protocols) : target;
  ws.binaryType = "arraybuffer";
  const opened = new Promise((resolve, reject) => {
    if (ws.readyState === 1) return resolve();
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new TlsError("CHANNEL_ERROR", "WebSocket failed to open")), { once: true });
  });
  opened.catch(() => {}); // reported through the streams; never an unhandled rejection
  let cancelled = false;
  const canPause = typeof ws.pause === "function" && typeof ws.resume === "function";
  let paused = false;
  const queue = []; // received, not read yet
  let queued = 0; // their bytes
  let ended = false; // the WebSocket closed (nothing more arrives)
  let failure = null; // reported once what came before it has been read
  let wake = null;
  const notify = () => (wake?.(), (wake = null));
  ws.addEventListener("message", (e) => {
    if (cancelled || failure) return;
    const bytes = binary(e.data);
    if (!bytes) {
      // TLS travels in binary frames. A text frame is the bridge's or the network's doing, and
      // `new Uint8Array("1e9")` would allocate a gigabyte of zeros.
      failure = new TlsError("CHANNEL_ERROR", "WebSocket: the peer sent a frame that is not binary (TLS travels in binary frames): closed");
      ws.close();
      return notify();
    }
    if (bytes.byteLength === 0) return; // carries nothing: not kept
    if (queued + bytes.byteLength + MESSAGE_COST > maxQueued) {
      failure = new TlsError("CHANNEL_ERROR", `WebSocket: the peer sent more than ${maxQueued} bytes that were not read (maxQueuedBytes; this WebSocket cannot pause): closed`);
      ws.close();
      return notify();
    }
    queue.push(bytes);
    queued += bytes.byteLength + MESSAGE_COST;
    if (canPause && !paused && queued >= RECEIVE_HIGH_WATER && ws.readyState === 1) {
      paused = true;
      ws.pause();
    }
    notify();
  });
  ws.addEventListener("close", () => ((ended = true), notify()));
  ws.addEventListener("error", () => ((failure ??= new TlsError("CHANNEL_ERROR", "WebSocket error")), (ended = true), notify()));
  const readable = new ReadableStream(
    {
      async pull(controller) {
        while (!queue.length && !ended && !failure) await new Promise((resolve) => (wake = resolve));
        if (queue.length) {
          const bytes = queue.shift();
          queued -= bytes.byteLength + MESSAGE_COST;
          if (paused && queued < RECEIVE_HIGH_WATER) {
            paused = false;
            ws.resume();
          }
          return controller.enqueue(bytes);
        }
        if (failure) controller.error(failure);
        else controller.close();
      },
      cancel() {
        cancelled = true;
        queue.length = 0;
        queued = 0;
        ws.close();
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream({
    async write(chunk) {
      await opened;
      // A closed WebSocket drops what it is given (and a browser logs it): say so instead.
      if (ws.readyState !== 1) throw new TlsError("CHANNEL_ERROR", "WebSocket is closed");
      ws.send(chunk);
      await sent(ws);
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

/**
 * A WebSocket takes any amount and buffers it (`bufferedAmount`) with no backpressure of its
 * own: resolves once `ws` holds at most BUFFERED_MAX unsent (or is no longer open). @internal
 */
export async function sent(ws) {
  while (ws.bufferedAmount > BUFFERED_MAX && ws.readyState === 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

/**
 * A message's bytes, or `undefined` unless it is binary (an `ArrayBuffer` or a view of one):
 * a text frame's string, or a `Blob`, is never turned into bytes.
 */
export function binary(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
