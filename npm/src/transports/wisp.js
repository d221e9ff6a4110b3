import { TlsError } from "../errors.js";
import { binary, maxQueuedBytes, MESSAGE_COST, sent } from "./websocket.js";

// Wisp (https://github.com/MercuryWorkshop/wisp-protocol): many TCP streams over one WebSocket.
// Packets are [type u8][stream id u32 LE][payload]. This is a small v1 client with the protocol's
// flow control (a server-granted budget of DATA packets per stream, refilled by CONTINUE). That
// flow control is one way only: a Wisp v1 server sends a stream's data as fast as it comes, and
// pausing the shared WebSocket would stall every stream on it for one that is not read. So each
// stream holds at most `maxQueuedBytes` unread; past that it fails (CHANNEL_ERROR) and is closed.
const WISP_CONNECT = 1;
const WISP_DATA = 2;
const WISP_CONTINUE = 3;
const WISP_CLOSE = 4;
const WISP_CLOSE_VOLUNTARY = 2;
const WISP_CLOSE_CLIENT_ERROR = 0x81; // "unable to receive any more data"
const WISP_REASONS = {
  0x01: "unspecified", 0x02: "voluntary", 0x03: "network error", 0x41: "invalid info", 0x42: "unreachable",
  0x43: "timeout", 0x44: "connection refused", 0x47: "data transfer timeout", 0x48: "blocked", 0x49: "throttled",
  0x81: "client error",
};
const WISP_MAX_DATA = 65536;
// How long a Wisp server may take to grant the first budget (stream 0's CONTINUE, its first
// message) before the session is given up.
const WISP_HELLO_TIMEOUT = 30_000;
const wispSessions = new Map();

function wispPacket(type, id, payload) {
  const packet = new Uint8Array(5 + payload.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, type);
  view.setUint32(1, id, true);
  packet.set(payload, 5);
  return packet;
}

/** One WebSocket to a Wisp server, shared by every stream opened to the same URL. */
class WispSession {
  #ws;
  #streams = new Map();
  #nextId = 1;
  #budget; // promise of the initial per-stream packet budget (stream 0's CONTINUE)

  constructor(url, WebSocketImpl) {
    this.url = url;
    this.#ws = new WebSocketImpl(url);
    this.#ws.binaryType = "arraybuffer";
    this.#budget = new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new TlsError("CHANNEL_ERROR", `Wisp server ${url} granted no budget (stream 0's CONTINUE) within ${WISP_HELLO_TIMEOUT / 1000} s`)), WISP_HELLO_TIMEOUT);
      timer.unref?.(); // (Node: a session waiting for its server keeps no process alive)
      this.resolveBudget = (n) => (clearTimeout(timer), resolve(n));
      this.rejectBudget = (e) => (clearTimeout(timer), reject(e));
      this.#ws.addEventListener("error", () => this.rejectBudget(new TlsError("CHANNEL_ERROR", `Wisp server ${url} failed`)), { once: true });
      this.#ws.addEventListener("close", () => this.rejectBudget(new TlsError("CHANNEL_ERROR", `Wisp server ${url} closed`)), { once: true });
    });
    this.#budget.catch(() => {});
    this.#ws.addEventListener("message", (e) => {
      const packet = binary(e.data);
      if (packet) return this.#receive(packet);
      // Wisp is binary: a text frame is the server's (or the network's) fault, and turning it
      // into bytes could allocate without bound. Every stream of the session fails.
      this.#fail(new TlsError("CHANNEL_ERROR", "Wisp: the server sent a frame that is not binary"));
    });
    this.#ws.addEventListener("close", () => this.#fail(new TlsError("CHANNEL_ERROR", "Wisp WebSocket closed")));
  }

  /** Ends the session: every stream fails with `error`; later wisp() calls open a new one. */
  #fail(error) {
    this.#leave();
    this.rejectBudget?.(error);
    for (const stream of this.#streams.values()) stream.ended(error);
    this.#streams.clear();
    if (this.#ws.readyState <= 1) this.#ws.close();
  }

  /** No later stream joins this session (only this one: a newer session to the URL stays). */
  #leave() {
    if (wispSessions.get(this.url) === this) wispSessions.delete(this.url);
  }

  #receive(packet) {
    if (packet.length < 5) return;
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const type = view.getUint8(0);
    const id = view.getUint32(1, true);
    if (id === 0 && type === WISP_CONTINUE && packet.length >= 9) return this.resolveBudget(view.getUint32(5, true));
    const stream = this.#streams.get(id);
    if (!stream) return;
    // A view of the message's own buffer: nothing is copied before the stream's cap is checked.
    if (type === WISP_DATA) stream.data(packet.subarray(5));
    else if (type === WISP_CONTINUE && packet.length >= 9) stream.refill(view.getUint32(5, true));
    else if (type === WISP_CLOSE) {
      this.#forget(id);
      const reason = packet[5] ?? 1;
      stream.ended(reason === WISP_CLOSE_VOLUNTARY ? null
        : new TlsError("CHANNEL_ERROR", `Wisp stream closed: ${WISP_REASONS[reason] ?? "reason " + reason}`, { wispReason: reason }));
    }
  }

  #forget(id) {
    this.#streams.delete(id);
    if (this.#streams.size === 0) {
      this.#leave();
      this.#ws.close();
    }
  }

  async open(host, port, maxQueued) {
    const budget = await this.#budget;
    if (this.#ws.readyState !== 1) throw new TlsError("CHANNEL_ERROR", `Wisp server ${this.url} closed`);
    const id = this.#nextId++;
    const name = new TextEncoder().encode(host);
    const connect = new Uint8Array(3 + name.length);
    connect[0] = 1; // TCP
    new DataView(connect.buffer).setUint16(1, port, true);
    connect.set(name, 3);
    let credit = budget;
    let refilled = null;
    let finished = false;
    const queue = []; // received, not read yet
    let queued = 0; // their bytes
    let ended = false; // nothing more arrives
    let failure = null; // reported once what came before it has been read
    let wake = null;
    const notify = () => (wake?.(), (wake = null));
    // Wisp has no half-close: CLOSE ends both directions, so reading ends here too.
    const wakeWriter = () => (refilled?.(), (refilled = null));
    const close = (reason = WISP_CLOSE_VOLUNTARY) => {
      ended = true;
      notify();
      wakeWriter(); // a write waiting for credit fails now
      if (finished) return;
      finished = true;
      if (this.#ws.readyState === 1) this.#ws.send(wispPacket(WISP_CLOSE, id, [reason]));
      this.#forget(id);
    };
    const stream = {
      data: (bytes) => {
        if (finished || bytes.byteLength === 0) return;
        if (queued + bytes.byteLength + MESSAGE_COST > maxQueued) {
          failure = new TlsError("CHANNEL_ERROR", `Wisp stream: the server sent more than ${maxQueued} bytes that were not read (maxQueuedBytes): closed`);
          ended = true;
          close(WISP_CLOSE_CLIENT_ERROR);
          return notify();
        }
        queue.push(bytes);
        queued += bytes.byteLength + MESSAGE_COST;
        notify();
      },
      refill: (n) => ((credit = n), wakeWriter()),
      ended: (error) => {
        finished = true;
        ended = true;
        failure ??= error;
        wakeWriter();
        notify();
      },
    };
    this.#streams.set(id, stream);
    this.#ws.send(wispPacket(WISP_CONNECT, id, connect));
    const readable = new ReadableStream(
      {
        async pull(controller) {
          while (!queue.length && !ended) await new Promise((resolve) => (wake = resolve));
          if (queue.length) {
            const bytes = queue.shift();
            queued -= bytes.byteLength + MESSAGE_COST;
            return controller.enqueue(bytes);
          }
          if (failure) controller.error(failure);
          else controller.close();
        },
        cancel: () => {
          queue.length = 0;
          queued = 0;
          close();
        },
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream({
      write: async (chunk) => {
        for (let at = 0; at < chunk.length; at += WISP_MAX_DATA) {
          while (credit === 0 && !finished) await new Promise((r) => (refilled = r));
          if (finished) throw new TlsError("CHANNEL_ERROR", "Wisp stream is closed");
          // A WebSocket that is closing drops what it is given: say so instead.
          if (this.#ws.readyState !== 1) throw new TlsError("CHANNEL_ERROR", "Wisp WebSocket is closed");
          this.#ws.send(wispPacket(WISP_DATA, id, chunk.subarray(at, at + WISP_MAX_DATA)));
          credit--;
          await sent(this.#ws); // however many credits the server grants, the socket's buffer is bounded
        }
      },
      close: () => close(),
      abort: () => close(),
    });
    return { readable, writable };
  }
}

/**
 * A TCP stream to `host:port` through a Wisp server, as a {readable, writable} pair. Streams to
 * the same server URL share one WebSocket. A stream holds at most `options.maxQueuedBytes`
 * received and not read (default 16 MiB); past that it fails with `CHANNEL_ERROR` and is closed.
 * @param {string | URL} url the Wisp server's WebSocket URL (ws:// or wss://, usually ending in `/`)
 * @param {{WebSocket?: typeof WebSocket, maxQueuedBytes?: number}} [options] a WebSocket class
 *   where there is no global one; the cap on unread bytes
 * @returns {Promise<{readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>}>}
 */
export function wisp(url, host, port, options = {}) {
  url = String(url);
  let maxQueued;
  try {
    maxQueued = maxQueuedBytes(options, "wisp()");
  } catch (e) {
    return Promise.reject(e);
  }
  let session = wispSessions.get(url);
  if (!session) wispSessions.set(url, (session = new WispSession(url, options.WebSocket ?? globalThis.WebSocket)));
  return session.open(host, port, maxQueued);
}
