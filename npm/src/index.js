// tlswire for JavaScript: TLS 1.3/1.2 in WebAssembly over any {readable, writable} byte channel.
//
// This file only moves bytes between the wasm engine (crates/tlswire-wasm) and the channel and
// turns the engine's states into promises; every TLS decision is made in the engine.

import init, { Config, Engine } from "../dist/wasm/tlswire.js";

const DONE = 0;
const WANT_READ = 1;
const WANT_WRITE = 2;

let ready;
/** Instantiates the wasm engine once (Node: from the file; browsers: by URL). */
function load() {
  ready ??= (async () => {
    const url = new URL("../dist/wasm/tlswire_bg.wasm", import.meta.url);
    if (url.protocol === "file:") {
      const { readFile } = await import("node:fs/promises");
      await init({ module_or_path: await readFile(url) });
    } else {
      await init({ module_or_path: url });
    }
  })();
  return ready;
}

/** Every tlswire failure: an Error with a stable `code` (listed in the README). */
export class TlsError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "TlsError";
    this.code = code;
    Object.assign(this, details);
  }

  static from(e) {
    if (e instanceof TlsError) return e;
    if (e && typeof e.code === "string" && e.name === "TlsError") {
      const details = {};
      if (e.alert) details.alert = e.alert;
      if (e.alertSent) details.alertSent = e.alertSent;
      return new TlsError(e.code, e.message, details);
    }
    return new TlsError("CHANNEL_ERROR", `channel error: ${e?.message ?? e}`, { cause: e });
  }
}

/** The `message` event: one protocol message, as `SSL_CTX_set_msg_callback` reports it. */
export class TlsMessageEvent extends Event {
  constructor(m) {
    super("message");
    this.direction = m.direction;
    this.version = m.version;
    this.contentType = m.contentType;
    this.bytes = m.bytes;
    this.handshakeType = m.contentType === 22 ? m.bytes[0] : undefined;
    this.alert = m.contentType === 21 && m.bytes.length === 2 ? { level: m.bytes[0], description: m.bytes[1] } : undefined;
    this.line = m.line;
  }
}

/** Formats a message event exactly like `openssl s_client -msg`. */
export function formatMessage(event) {
  return event.line;
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const asBytes = (v) => (typeof v === "string" ? new TextEncoder().encode(v) : v);

/**
 * Connects over `options.transport` and completes the handshake.
 * @returns {Promise<TlsConnection>}
 */
export async function connect(options) {
  await load();
  const transport = await options.transport;
  if (!transport?.readable || !transport?.writable) {
    throw new TlsError("MISUSE", "options.transport must be a {readable, writable} pair");
  }
  const config = new Config();
  try {
    for (const ca of [options.ca ?? []].flat()) {
      if (typeof ca?.trustAnchors === "string") config.addTrustAnchors(fromBase64(ca.trustAnchors));
      else config.addCa(asBytes(ca));
    }
    for (const pin of [options.pins ?? []].flat()) config.addPin(fromBase64(pin));
    if (options.alpn) config.alpn(options.alpn);
    if (options.certificate || options.privateKey) config.clientAuth(asBytes(options.certificate ?? ""), asBytes(options.privateKey ?? ""));
    if (options.minVersion || options.maxVersion) config.versions(options.minVersion ?? "TLSv1.2", options.maxVersion ?? "TLSv1.3");
    if (options.groups) config.groups(options.groups);
    if (options.dangerouslyDisableVerification) config.dangerouslyDisableVerification();
    const engine = Engine.client(config.build(), options.serverName, typeof options.onMessage === "function");
    const conn = new TlsConnection(engine, transport, options.onMessage);
    await conn._handshake();
    return conn;
  } catch (e) {
    // A connection that failed its handshake has released the channel; a bad configuration
    // fails before one exists, so release the channel here.
    if (!transport.readable.locked) transport.readable.cancel().catch(() => {});
    if (!transport.writable.locked) transport.writable.abort().catch(() => {});
    throw TlsError.from(e);
  } finally {
    config.free();
  }
}

/** An established TLS connection: streams, promises and `message` events. */
export class TlsConnection extends EventTarget {
  #engine;
  #reader;
  #writer;
  #onMessage;
  #closed;
  #resolveClosed;
  #rejectClosed;
  #failure = null;
  #plainReader = null;

  constructor(engine, transport, onMessage) {
    super();
    this.#engine = engine;
    this.#reader = transport.readable.getReader();
    this.#writer = transport.writable.getWriter();
    this.#onMessage = onMessage;
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#closed.catch(() => {});
    this.readable = new ReadableStream({ pull: (c) => this.#pull(c) }, { highWaterMark: 0 });
    this.writable = new WritableStream({ write: (chunk) => this.write(chunk), close: () => this.close() });
  }

  /** Resolves when the connection has closed cleanly; rejects with the TlsError that ended it. */
  get closed() {
    return this.#closed;
  }

  /** {version, cipherSuite, group, alpn, peerCertificates, helloRetryRequest} */
  get info() {
    return this.#engine.info();
  }

  /** Sends all of `bytes`; resolves when the records are handed to the channel. */
  async write(bytes) {
    bytes = asBytes(bytes);
    for (;;) {
      const n = this.#call(() => this.#engine.write(bytes));
      const flushed = this.#flush();
      if (n >= 0) return flushed;
      if (n === -1) await this.#fill();
      else await flushed;
    }
  }

  /** The next chunk of plaintext, or `null` once the peer has closed with close_notify. */
  async read() {
    this.#plainReader ??= this.readable.getReader();
    const { value, done } = await this.#plainReader.read();
    return done ? null : value;
  }

  async *[Symbol.asyncIterator]() {
    for (let chunk; (chunk = await this.read()) !== null; ) yield chunk;
  }

  /** Sends close_notify and closes the channel for writing. */
  async close() {
    if (this.#failure) return;
    this.#call(() => this.#engine.close());
    await this.#flush();
    try {
      await this.#writer.close();
    } catch {
      // The channel may already be closed by the peer.
    }
    this.#resolveClosed();
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  async _handshake() {
    for (;;) {
      const status = this.#call(() => this.#engine.doHandshake());
      await this.#flush();
      if (status === DONE) return;
      if (status === WANT_READ) await this.#fill();
    }
  }

  async #pull(controller) {
    try {
      for (;;) {
        const r = this.#call(() => this.#engine.read());
        const flushed = this.#flush();
        if (r instanceof Uint8Array) return controller.enqueue(r);
        if (r === null) {
          controller.close();
          return this.#resolveClosed();
        }
        if (r === WANT_READ) await this.#fill();
        else await flushed;
      }
    } catch (e) {
      controller.error(e);
    }
  }

  /** One engine call; failures become TlsErrors, dispatch messages either way. */
  #call(fn) {
    try {
      return fn();
    } catch (e) {
      this.#fail(TlsError.from(e));
      throw this.#failure;
    } finally {
      this.#dispatch();
    }
  }

  #fail(error) {
    if (this.#failure) return;
    this.#failure = error;
    this.#rejectClosed(error);
    this.#teardown();
  }

  /** After a fatal error: send the alert the engine queued, then release the channel. */
  #teardown() {
    const alert = this.#engine.takeOutput();
    const writer = this.#writer;
    (alert.length ? writer.write(alert) : Promise.resolve())
      .then(() => writer.close())
      .catch(() => writer.abort().catch(() => {}));
    this.#reader.cancel().catch(() => {});
  }

  #dispatch() {
    if (!this.#onMessage) return;
    for (const m of this.#engine.takeMessages()) {
      const event = new TlsMessageEvent(m);
      this.#onMessage(event);
      this.dispatchEvent(event);
    }
  }

  /** Hands pending output to the channel (in order; the writer queues it). */
  #flush() {
    const out = this.#engine.takeOutput();
    if (out.length === 0) return Promise.resolve();
    return this.#writer.write(out).catch((e) => {
      this.#fail(new TlsError("CHANNEL_ERROR", `channel write failed: ${e?.message ?? e}`, { cause: e }));
      throw this.#failure;
    });
  }

  /** Reads one chunk from the channel into the engine (end of channel included). */
  async #fill() {
    let chunk;
    try {
      chunk = await this.#reader.read();
    } catch (e) {
      this.#fail(new TlsError("CHANNEL_ERROR", `channel read failed: ${e?.message ?? e}`, { cause: e }));
      throw this.#failure;
    }
    if (chunk.done) this.#engine.feedEof();
    else this.#call(() => this.#engine.feed(chunk.value));
  }
}

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
  const readable = new ReadableStream({
    start(controller) {
      ws.addEventListener("message", (e) => controller.enqueue(new Uint8Array(e.data)));
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
      ws.close();
    },
  });
  const writable = new WritableStream({
    async write(chunk) {
      await opened;
      ws.send(chunk);
    },
    close() {
      ws.close();
    },
    abort() {
      ws.close();
    },
  });
  return { readable, writable, opened };
}

/** A WebTransport bidirectional stream as a {readable, writable} pair. */
export async function webTransport(session) {
  await session.ready;
  const stream = await session.createBidirectionalStream();
  return { readable: stream.readable, writable: stream.writable };
}
