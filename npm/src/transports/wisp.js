import { TlsError } from "../errors.js";

// Wisp (https://github.com/MercuryWorkshop/wisp-protocol): many TCP streams over one WebSocket.
// Packets are [type u8][stream id u32 LE][payload]. This is a small v1 client with the protocol's
// flow control (a server-granted budget of DATA packets per stream, refilled by CONTINUE).
const WISP_CONNECT = 1;
const WISP_DATA = 2;
const WISP_CONTINUE = 3;
const WISP_CLOSE = 4;
const WISP_CLOSE_VOLUNTARY = 2;
const WISP_REASONS = {
  0x01: "unspecified", 0x02: "voluntary", 0x03: "network error", 0x41: "invalid info", 0x42: "unreachable",
  0x43: "timeout", 0x44: "connection refused", 0x47: "data transfer timeout", 0x48: "blocked", 0x49: "throttled",
  0x81: "client error",
};
const WISP_MAX_DATA = 65536;
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
      this.resolveBudget = resolve;
      this.#ws.addEventListener("error", () => reject(new TlsError("CHANNEL_ERROR", `Wisp server ${url} failed`)), { once: true });
      this.#ws.addEventListener("close", () => reject(new TlsError("CHANNEL_ERROR", `Wisp server ${url} closed`)), { once: true });
    });
    this.#budget.catch(() => {});
    this.#ws.addEventListener("message", (e) => this.#receive(new Uint8Array(e.data)));
    this.#ws.addEventListener("close", () => {
      wispSessions.delete(url);
      for (const stream of this.#streams.values()) stream.ended(new TlsError("CHANNEL_ERROR", "Wisp WebSocket closed"));
      this.#streams.clear();
    });
  }

  #receive(packet) {
    if (packet.length < 5) return;
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const type = view.getUint8(0);
    const id = view.getUint32(1, true);
    if (id === 0 && type === WISP_CONTINUE && packet.length >= 9) return this.resolveBudget(view.getUint32(5, true));
    const stream = this.#streams.get(id);
    if (!stream) return;
    if (type === WISP_DATA) stream.data(packet.slice(5));
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
      wispSessions.delete(this.url);
      this.#ws.close();
    }
  }

  async open(host, port) {
    const budget = await this.#budget;
    const id = this.#nextId++;
    const name = new TextEncoder().encode(host);
    const connect = new Uint8Array(3 + name.length);
    connect[0] = 1; // TCP
    new DataView(connect.buffer).setUint16(1, port, true);
    connect.set(name, 3);
    let credit = budget;
    let refilled = null;
    let controller;
    let finished = false;
    const stream = {
      data: (bytes) => finished || controller.enqueue(bytes),
      refill: (n) => ((credit = n), refilled?.(), (refilled = null)),
      ended: (error) => {
        finished = true;
        refilled?.();
        try {
          error ? controller.error(error) : controller.close();
        } catch {}
      },
    };
    this.#streams.set(id, stream);
    this.#ws.send(wispPacket(WISP_CONNECT, id, connect));
    const close = () => {
      if (finished) return;
      finished = true;
      this.#ws.send(wispPacket(WISP_CLOSE, id, [WISP_CLOSE_VOLUNTARY]));
      this.#forget(id);
    };
    const readable = new ReadableStream({ start: (c) => void (controller = c), cancel: close });
    const writable = new WritableStream({
      write: async (chunk) => {
        for (let at = 0; at < chunk.length; at += WISP_MAX_DATA) {
          while (credit === 0 && !finished) await new Promise((r) => (refilled = r));
          if (finished) throw new TlsError("CHANNEL_ERROR", "Wisp stream is closed");
          this.#ws.send(wispPacket(WISP_DATA, id, chunk.subarray(at, at + WISP_MAX_DATA)));
          credit--;
        }
      },
      close,
      abort: close,
    });
    return { readable, writable };
  }
}

/**
 * A TCP stream to `host:port` through a Wisp server, as a {readable, writable} pair. Streams to
 * the same server URL share one WebSocket.
 * @param {string | URL} url the Wisp server's WebSocket URL (ws:// or wss://, usually ending in `/`)
 * @param {{WebSocket?: typeof WebSocket}} [options] a WebSocket class where there is no global one
 * @returns {Promise<{readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>}>}
 */
export function wisp(url, host, port, options = {}) {
  url = String(url);
  let session = wispSessions.get(url);
  if (!session) wispSessions.set(url, (session = new WispSession(url, options.WebSocket ?? globalThis.WebSocket)));
  return session.open(host, port);
}
