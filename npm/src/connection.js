// A TLS connection: moves bytes between the wasm engine and a {readable, writable} channel and
// turns the engine's states into promises, streams and events. Every TLS decision is the engine's.

import { Engine } from "../dist/wasm/tlswire.js";
import { CONTEXT_OPTIONS, asBytes, buildContext, builtContext } from "./context.js";
import { callEngine, clientEngine, engineTrapped, initWasm, isTrap, platformCrypto, usePlatform } from "./engine.js";
import { TlsError } from "./errors.js";
import { TlsKeylogEvent, TlsMessageEvent, TlsSessionEvent } from "./events.js";

const WANT_READ = 1;
// Plaintext handed to the engine per call by write(): four full records.
const WRITE_SLICE = 4 * 16384;
// The most handed to the engine in one feed (a larger channel chunk is fed in parts).
const FEED_MAX = 4 * 16384;
// Received records out for decryption by the platform's AES-GCM at once, at most: the channel is
// read ahead while they decrypt, up to this many (16 KiB each).
const OPENING_MAX = 64;
/** The most keying material one exportKeyingMaterial() call gives (TLS 1.3 allows 255 hash lengths). */
export const EXPORT_MAX = 16384;

/** Reports an exception thrown by a caller's callback, as the platform does for event listeners. */
const reportLater = (e) => (typeof globalThis.reportError === "function" ? globalThis.reportError(e) : queueMicrotask(() => {
  throw e;
}));

/**
 * Connects over `options.transport` and completes the handshake.
 * @returns {Promise<TlsConnection>}
 */
export async function connect(options) {
  const serverName = options.serverName ?? options.expectedServerHostname;
  return openConnection(options, "client", async () => {
    if (typeof serverName !== "string") throw new TlsError("MISUSE", "options.serverName is required");
    const shared = await options.context;
    if (!shared) return { context: buildContext(options), owned: true };
    const misplaced = CONTEXT_OPTIONS.find((name) => options[name] !== undefined);
    if (misplaced) throw new TlsError("MISUSE", `options.${misplaced} belongs in createContext() when options.context is given`);
    const context = builtContext(shared);
    if (!context) throw new TlsError("MISUSE", "options.context is not a live TlsContext (freed, not from createContext(), or built by an engine that has since failed)");
    return { context, owned: false };
  });
}

/**
 * A connection over `options.transport`, client or server (`role`), once its handshake is done.
 * `settings()` gives the built context, whether this call owns it (frees it after use) and, for a
 * server, `open(context, observe, offload, keylog, check)`, which makes the server engine's
 * connection, and `engine`, the server's engine (engine.js; the client's by default).
 * @internal
 */
export async function openConnection(options, role, settings) {
  const signal = options.signal ?? undefined;
  let timeout;
  try {
    if (signal !== undefined && (typeof signal?.aborted !== "boolean" || typeof signal.addEventListener !== "function")) {
      throw new TlsError("MISUSE", "options.signal must be an AbortSignal");
    }
    timeout = role === "server" ? handshakeTimeout(options) : 0;
  } catch (e) {
    Promise.resolve(options.transport).then(release, () => {});
    throw e;
  }
  // An abort (options.signal) or the server's handshake deadline ends the connection wherever
  // it is: waiting for the channel, for its settings, or in the handshake.
  let stopped = null;
  let conn = null;
  let wake;
  const stopping = new Promise((resolve) => (wake = resolve));
  const stop = (error) => {
    stopped ??= error;
    conn?._abort(stopped);
    wake();
  };
  const until = async (promise) => {
    // What `promise` does after the race is lost is reported elsewhere (the connection's error),
    // never as an unhandled rejection.
    Promise.resolve(promise).catch(() => {});
    const result = await Promise.race([promise, stopping]);
    if (stopped) throw stopped;
    return result;
  };
  const onAbort = () => stop(aborted(signal));
  let timer;
  let transport;
  // The channel may still be on its way when the connection stops: it is released when it comes,
  // and a channel that fails to come is no unhandled rejection.
  const arriving = Promise.resolve(options.transport);
  arriving.catch(() => {});
  try {
    if (signal?.aborted) throw aborted(signal);
    signal?.addEventListener("abort", onAbort);
    if (timeout) timer = setTimeout(() => stop(new TlsError("CHANNEL_ERROR", `the handshake did not complete within ${timeout} ms (handshakeTimeout): the connection is closed`)), timeout);
    await until(initWasm());
    usePlatform();
    transport = await until(arriving);
    if (!transport?.readable || !transport?.writable) {
      throw new TlsError("MISUSE", "options.transport must be a {readable, writable} pair");
    }
  } catch (e) {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    if (transport) release(transport);
    else arriving.then(release, () => {}); // stopped first: released when it comes
    throw TlsError.from(e);
  }
  // A Cloudflare Socket's `opened` rejects when the connection fails; the streams report that too.
  Promise.resolve(transport.opened).catch(() => {});
  try {
    const pending = settings();
    const { context, owned, open, engine: home = clientEngine } = await until(pending).catch((e) => {
      if (e === stopped) pending.then((made) => made.owned && made.context.free(), () => {});
      throw e;
    });
    let engine;
    let trapped = false;
    try {
      if (stopped) throw stopped;
      if (home.broken) throw home.broken;
      const offload = platformCrypto() === "webcrypto";
      const observe = typeof options.onMessage === "function";
      const keylog = typeof options.onKeylog === "function";
      if (role === "server") {
        const check = options.checkClientCertificate;
        if (check !== undefined && typeof check !== "function") throw new TlsError("MISUSE", "options.checkClientCertificate must be a function");
        // The server's engine (server.js): `open` makes its connection.
        engine = callEngine(home, () => open(context, observe, offload, keylog, check && ((_name, certificates) => check(certificates))));
      } else {
        const serverName = options.serverName ?? options.expectedServerHostname;
        const session = options.session === undefined || options.session === null ? undefined : asBytes(options.session);
        if (options.checkServerIdentity !== undefined && typeof options.checkServerIdentity !== "function") throw new TlsError("MISUSE", "options.checkServerIdentity must be a function");
        engine = callEngine(home, () => Engine.client(context, serverName, observe, offload, keylog, typeof options.onSession === "function", session, options.checkServerIdentity));
      }
    } catch (e) {
      trapped = e?.engineFailed === true;
      throw e;
    } finally {
      // The engine holds its own reference. (After a trap the context went with its instance.)
      if (owned && !trapped) context.free();
    }
    conn = new TlsConnection(engine, transport, options.onMessage, options.allowHalfOpen === true, options.onKeylog, options.onSession, home);
    // The signal ends the connection whenever it aborts, as Node's `signal` does a socket's.
    if (signal) conn._abortOn(signal);
    // Early data: what the session allows goes with the ClientHello, the rest right after the
    // handshake (and what the server refuses the engine sends again itself).
    const early = role === "client" && options.earlyData !== undefined ? asBytes(options.earlyData) : null;
    const sentEarly = early ? conn._writeEarly(early) : 0;
    // (Raced with the abort and the deadline: a channel whose writes never settle cannot hold
    // connect() past them.)
    await until(conn._handshake());
    if (early && sentEarly < early.length) await until(conn.write(early.subarray(sentEarly)));
    return conn;
  } catch (e) {
    // A connection that failed its handshake has released the channel; a bad configuration
    // fails before one exists, so release the channel here.
    release(transport);
    throw TlsError.from(stopped ?? e);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Cancels and aborts a channel's streams, unless a connection holds them. */
function release(transport) {
  if (!transport?.readable || !transport?.writable) return;
  if (!transport.readable.locked) transport.readable.cancel().catch(() => {});
  if (!transport.writable.locked) transport.writable.abort().catch(() => {});
}

/** The server's handshake deadline: Node's default (120 s), or `options.handshakeTimeout` (0: none). */
export const HANDSHAKE_TIMEOUT = 120000;

function handshakeTimeout(options) {
  const ms = options.handshakeTimeout ?? HANDSHAKE_TIMEOUT;
  if (typeof ms !== "number" || !(ms >= 0)) throw new TlsError("MISUSE", "options.handshakeTimeout must be a number of milliseconds (0: none)");
  return ms === Infinity ? 0 : ms;
}

/** The error of a connection ended by its AbortSignal (the signal's reason as its cause). */
function aborted(signal) {
  const reason = signal.reason;
  return new TlsError("CHANNEL_ERROR", `aborted by options.signal${reason?.message ? `: ${reason.message}` : ""}: the connection is closed`, { cause: reason });
}

/** `exportKeyingMaterial`'s length: a whole number from 1 to {@link EXPORT_MAX}. @internal */
export function checkExportLength(length) {
  if (!Number.isInteger(length) || length < 1) throw new RangeError("length must be a positive integer");
  if (length > EXPORT_MAX) throw new TlsError("MISUSE", `exportKeyingMaterial: length ${length} is more than ${EXPORT_MAX} bytes`);
}

/**
 * TLS on an open Cloudflare Workers `Socket` (`connect(address, { secureTransport: "off" })`) or
 * any {readable, writable} pair. Resolves after the handshake to a {@link TlsConnection}, which has
 * a Socket's shape (`readable`, `writable`, `opened`, `closed`, `close()`), so code written for
 * `connect()` sockets works with it.
 * @returns {Promise<TlsConnection>}
 */
export function startTls(socket, options) {
  return connect({ ...options, transport: socket });
}

/**
 * An established TLS connection: streams, promises and `message` events.
 *
 * The wasm engine behind it is freed as soon as the connection is over (`close()`, a fatal error,
 * or close_notify both ways), not left to the garbage collector: isolates that serve many requests
 * get their memory back per connection.
 */
export class TlsConnection extends EventTarget {
  #engine;
  #info = null;
  #reader;
  #writer;
  #onMessage;
  #onKeylog;
  #onSession;
  #opened;
  #resolveOpened;
  #closed;
  #resolveClosed;
  #rejectClosed;
  #failure = null;
  #plainReader = null;
  #writeShutdown = null; // promise of our close_notify being handed to the channel
  #writeDone = false;
  #readDone = false;
  #closing = null;
  #closeTransport; // a Cloudflare Socket's own close(), after its streams are done
  #rxGeneration = -1; // the engine's offload key generation that #rxKey holds
  #rxKey = null; // promise of that key, imported into the platform's AES-GCM
  #opening = null; // promise: every record out for decryption has been handed back to the engine
  #openingRecords = 0;
  #filling = null; // the channel read in progress
  #channelDone = false; // the channel has ended (its end was fed to the engine)
  #unfed = null; // the rest of a channel chunk larger than FEED_MAX, fed by the next fills
  #allowHalfOpen; // keep writing after the peer's close_notify (else answer it and close)
  #peerClosed = false; // the peer's close_notify has been read
  #early = []; // plaintext read by #peerReason, for #pull to hand out first
  #rejectOpened;
  #unwatch = null; // removes the AbortSignal's listener (_abortOn)
  #home; // the engine (engine.js) whose instance this connection's state lives in

  constructor(engine, transport, onMessage, allowHalfOpen = false, onKeylog = undefined, onSession = undefined, home = clientEngine) {
    super();
    this.#engine = engine;
    this.#home = home;
    home.live.add(this);
    this.#allowHalfOpen = allowHalfOpen;
    this.#closeTransport = () => (typeof transport.close === "function" ? Promise.resolve(transport.close()).catch(() => {}) : undefined);
    this.#reader = transport.readable.getReader();
    this.#writer = transport.writable.getWriter();
    this.#onMessage = onMessage;
    this.#onKeylog = typeof onKeylog === "function" ? onKeylog : undefined;
    this.#onSession = typeof onSession === "function" ? onSession : undefined;
    const socketInfo = Promise.resolve(transport.opened).then((i) => (i && typeof i === "object" ? i : {}), () => ({}));
    this.#opened = new Promise((resolve, reject) => {
      this.#resolveOpened = () => resolve(socketInfo);
      this.#rejectOpened = reject;
    });
    this.#opened.catch(() => {});
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#closed.catch(() => {});
    this.readable = new ReadableStream({ pull: (c) => this.#pull(c) }, { highWaterMark: 0 });
    this.writable = new WritableStream({
      write: (chunk) => this.write(chunk),
      close: () => this.#shutdownWrite(),
      abort: () => this.close(),
    });
  }

  /** Resolves once the handshake is done, with the channel's own `opened` value if it has one
   * (a Cloudflare Socket's `{remoteAddress, localAddress}`), else `{}`; rejects if the connection
   * fails before that. */
  get opened() {
    return this.#opened;
  }

  /** Resolves when the connection has closed cleanly; rejects with the TlsError that ended it. */
  get closed() {
    return this.#closed;
  }

  /** {version, cipherSuite, group, alpn, peerCertificates, peerSubject, helloRetryRequest} */
  get info() {
    return this.#info ?? (this.#engine ? this.#inEngine(() => this.#engine.info()) : null);
  }

  /**
   * Keying material for `label` and, if given, `context` (RFC 5705 / RFC 8446 section 7.5, what
   * `SSL_export_keying_material` and Node's `exportKeyingMaterial` compute): `length` bytes both
   * ends derive alike and nobody else can. After the handshake, until the connection closes.
   */
  exportKeyingMaterial(length, label, context) {
    checkExportLength(length);
    if (typeof label !== "string") throw new TypeError("label must be a string");
    const ctx = context === undefined ? undefined : asBytes(context);
    return this.#call(() => this.#engine.exportKeyingMaterial(length, asBytes(label), ctx));
  }

  /**
   * Sends a TLS 1.3 KeyUpdate (`SSL_key_update`): from now on this side sends under new keys,
   * and with `requestPeer` (the default) the peer is asked to change its own. Resolves when it
   * is handed to the channel. `MISUSE` on TLS 1.2, before the handshake, after close, and with
   * `requestPeer` false (rustls 0.23 always asks the peer).
   */
  async keyUpdate(requestPeer = true) {
    this.#call(() => this.#engine.keyUpdate(requestPeer !== false));
    await this.#flush();
  }

  /** Sends all of `bytes`; resolves when the records are handed to the channel. */
  async write(bytes) {
    bytes = asBytes(bytes);
    // The engine takes one slice per call and the next slice waits for the channel, so memory
    // (wasm and JS) stays bounded by a slice, whatever the size of the write.
    for (let at = 0; ; ) {
      const slice = bytes.subarray(at, at + WRITE_SLICE);
      const n = this.#call(() => this.#engine.write(slice));
      const flushed = this.#flush();
      if (n >= 0) {
        at += slice.length;
        if (at >= bytes.length) return flushed;
        await flushed;
      } else if (n === -1) {
        // What the engine had to send goes first (and its failure is this write's).
        await flushed;
        await this.#fill();
      } else await flushed;
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

  /**
   * Closes both directions, like a Cloudflare Socket's `close()`: sends close_notify, closes the
   * channel and ends `readable`. (`writable.close()` only half-closes: reading goes on.)
   */
  close() {
    this.#closing ??= (async () => {
      if (!this.#failure) await this.#shutdownWrite();
      this.#readDone = true;
      this.#reader.cancel().catch(() => {});
      this.#release();
      await this.#closeTransport();
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /**
   * @internal Fails the connection with `error` (an abort, a handshake deadline): no alert, the
   * channel aborted and closed; a handshake or read in progress rejects with it.
   */
  _abort(error) {
    if (this.#failure || !this.#engine) return;
    this.#fail(error, true);
  }

  /**
   * @internal The engine instance trapped (engine.js): this connection's state went with it.
   * Fails with `error`, sending nothing more, and never calls into that instance again.
   */
  _engineFailed(error) {
    this.#engine = null; // not freed: the instance is gone
    this.#fail(error, true);
  }

  /** @internal `signal` aborting fails the connection (until it ends). */
  _abortOn(signal) {
    const onAbort = () => this._abort(aborted(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unwatch = () => signal.removeEventListener("abort", onAbort);
  }

  /** @internal Early data before the handshake: bytes taken (0 if not possible). */
  _writeEarly(bytes) {
    return this.#call(() => this.#engine.writeEarlyData(bytes));
  }

  async _handshake() {
    for (;;) {
      const status = this.#call(() => this.#engine.doHandshake());
      if (this.#inEngine(() => this.#engine.handshakeDone)) {
        this.#info = this.#inEngine(() => this.#engine.info());
        // Our last flight (the client Finished) stays in the engine until the caller's first
        // write, in this turn, joins it in one channel write, or until the next task. Sent apart,
        // Nagle's algorithm would hold the request until the server's delayed ACK (~40 ms on
        // TCP), and nobody can set TCP_NODELAY on a bridge or a Workers socket.
        setTimeout(() => this.#flush().catch(() => {}), 0);
        return this.#resolveOpened();
      }
      await this.#flush();
      if (status === WANT_READ) await this.#fill();
    }
  }

  /** close_notify out, then the channel closed for writing. */
  #shutdownWrite() {
    this.#writeShutdown ??= (async () => {
      this.#call(() => this.#engine.close());
      try {
        await this.#flush(this.#peerClosed);
        await this.#writer.close();
      } catch (e) {
        // After the peer's close_notify the channel may be gone already: our answer is a
        // courtesy then, not a failure. Otherwise the failure is the connection's (#flush).
        if (!this.#peerClosed) throw e;
      }
      this.#writeDone = true;
      if (this.#readDone) this.#release();
    })();
    return this.#writeShutdown;
  }

  async #pull(controller) {
    try {
      for (;;) {
        if (this.#early.length) return controller.enqueue(this.#early.shift());
        if (!this.#engine) {
          if (this.#failure) throw this.#failure;
          return controller.close(); // close() was called
        }
        if (this.#opening) {
          // Records are out for decryption: read the channel ahead meanwhile (more records at
          // once), but hand the engine nothing to read until they are back.
          const readAhead = !this.#channelDone && this.#openingRecords < OPENING_MAX;
          await (readAhead ? Promise.race([this.#opening, this.#fill()]) : this.#opening);
          continue;
        }
        const r = this.#call(() => this.#engine.read());
        const flushed = this.#flush();
        flushed.catch(() => {}); // a failed flush is #fail's to report; the read goes on
        if (r instanceof Uint8Array) return controller.enqueue(r);
        if (r === null) {
          this.#peerClosed = true;
          controller.close();
          // The peer's close_notify: like a WinterTC / Cloudflare socket and Node's `tls` (unless
          // allowHalfOpen), answer with ours and close the channel.
          if (!this.#allowHalfOpen) return void this.close().catch(() => {});
          this.#readDone = true;
          if (this.#writeDone) this.#release();
          return this.#resolveClosed();
        }
        if (r === WANT_READ) await this.#fill();
        else await flushed;
      }
    } catch (e) {
      controller.error(e);
    }
  }

  /**
   * A call into the engine that is not a TLS step (output, state, offload): a trap there fails
   * this connection and every other of its engine (engine.js), and throws that error.
   */
  #inEngine(fn) {
    try {
      return fn();
    } catch (e) {
      if (isTrap(e)) throw engineTrapped(this.#home, e);
      throw e;
    }
  }

  /** One engine call: dispatches the messages it recorded; a failure becomes a TlsError. */
  #call(fn) {
    if (!this.#engine) throw this.#failure ?? new TlsError("MISUSE", "the connection is closed");
    let result;
    let error = null;
    try {
      result = fn();
    } catch (e) {
      if (isTrap(e)) throw engineTrapped(this.#home, e); // fails this connection too
      error = TlsError.from(e);
    }
    this.#dispatch();
    if (error?.code === "MISUSE") throw error; // the call was refused; the connection goes on
    if (error) {
      this.#fail(error);
      throw this.#failure;
    }
    return result;
  }

  /**
   * After a fatal error: send the alert the engine queued, release the channel and the engine.
   * `abort`: ours, not the engine's (an abort, a deadline): nothing more is sent.
   */
  #fail(error, abort = false) {
    if (this.#failure) return;
    this.#failure = error;
    this.#rejectClosed(error);
    this.#rejectOpened(error);
    let alert = new Uint8Array(0);
    let trap = null;
    try {
      if (!abort && this.#engine) alert = this.#engine.takeOutput();
    } catch (e) {
      if (!isTrap(e)) throw e;
      trap = e; // the instance is gone: nothing of it is sent or freed; the others fail below
      this.#engine = null;
      abort = true;
    }
    const writer = this.#writer;
    (abort ? Promise.reject(error) : alert.length ? writer.write(alert) : Promise.resolve())
      .then(() => writer.close())
      .catch(() => writer.abort().catch(() => {}))
      .then(this.#closeTransport);
    this.#reader.cancel().catch(() => {});
    this.#release();
    if (trap) engineTrapped(this.#home, trap);
  }

  #release() {
    this.#home.live.delete(this);
    try {
      this.#engine?.free();
    } catch (e) {
      if (isTrap(e)) engineTrapped(this.#home, e);
    }
    this.#engine = null;
    this.#unwatch?.();
    this.#unwatch = null;
  }

  #dispatch() {
    if (this.#engine) this.#inEngine(() => this.#dispatchNow());
  }

  #dispatchNow() {
    if (this.#onKeylog) {
      for (const line of this.#engine.takeKeyLog()) this.#deliver(new TlsKeylogEvent(line), this.#onKeylog);
    }
    if (this.#onSession) {
      for (const session of this.#engine.takeSessions()) this.#deliver(new TlsSessionEvent(session), this.#onSession);
    }
    if (!this.#onMessage) return;
    for (const m of this.#engine.takeMessages()) this.#deliver(new TlsMessageEvent(m), this.#onMessage);
  }

  #deliver(event, handler) {
    try {
      handler(event);
    } catch (e) {
      // As for an event listener: reported, and the connection's own handling goes on.
      reportLater(e);
    }
    this.dispatchEvent(event);
  }

  /** Hands pending output to the channel (in order; the writer queues it). */
  #flush(courtesy = false) {
    let out;
    try {
      out = this.#engine && this.#inEngine(() => this.#engine.takeOutput());
    } catch (e) {
      return Promise.reject(e);
    }
    if (!out?.length) return Promise.resolve();
    return this.#writer.write(out).catch(async (e) => {
      if (courtesy) throw e; // see #shutdownWrite
      await this.#peerReason();
      this.#fail(e instanceof TlsError ? e : new TlsError("CHANNEL_ERROR", `channel write failed: ${e?.message ?? e}`, { cause: e }));
      throw this.#failure;
    });
  }

  /**
   * After a failed channel write: reads what the peer sent before the break (for up to 250 ms),
   * so that its alert (a server refusing our certificate after a TLS 1.3 handshake, then
   * closing: our next write gets EPIPE) is the connection's error rather than "write failed".
   * Plaintext read on the way is kept for `readable`, in order.
   */
  async #peerReason() {
    const deadline = Date.now() + 250;
    let timer;
    const expired = new Promise((resolve) => (timer = setTimeout(resolve, 250, false)));
    try {
      while (this.#engine && !this.#failure && Date.now() < deadline) {
        const r = this.#call(() => this.#engine.read());
        if (r instanceof Uint8Array) {
          this.#early.push(r);
          continue;
        }
        if (r !== WANT_READ || this.#channelDone) break;
        if (!(await Promise.race([this.#fill().then(() => true), expired]))) break;
      }
    } catch {
      // #call has failed the connection: with the peer's alert, if that is what it read
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads one chunk from the channel into the engine (end of channel included); one at a time. */
  #fill() {
    return (this.#filling ??= this.#fillOnce().finally(() => (this.#filling = null)));
  }

  async #fillOnce() {
    let bytes = this.#unfed;
    this.#unfed = null;
    if (!bytes) {
      let chunk;
      try {
        chunk = await this.#reader.read();
      } catch (e) {
        this.#fail(e instanceof TlsError ? e : new TlsError("CHANNEL_ERROR", `channel read failed: ${e?.message ?? e}`, { cause: e }));
        throw this.#failure;
      }
      if (!this.#engine) return; // closed meanwhile
      if (chunk.done) {
        this.#channelDone = true;
        return this.#call(() => this.#engine.feedEof());
      }
      bytes = chunk.value;
    }
    // The engine's memory grows to what it is handed at once and never shrinks: a WebSocket
    // message can be as large as the bridge allows (the `ws` package: 100 MiB).
    if (bytes.byteLength > FEED_MAX && typeof bytes.subarray === "function") {
      this.#unfed = bytes.subarray(FEED_MAX);
      bytes = bytes.subarray(0, FEED_MAX);
    }
    this.#call(() => this.#engine.feed(bytes));
    this.#openElsewhere();
  }

  /**
   * Sends the received records the engine hands out to the platform's AES-GCM (WebCrypto, native
   * code), all at once, and hands back, in order, the plaintext of those that authenticated. The
   * engine decrypts anything without a result itself, so a failure here only costs speed.
   */
  #openElsewhere() {
    const jobs = this.#engine && this.#inEngine(() => this.#engine.offloadJobs());
    if (!jobs?.length) return;
    const { subtle } = globalThis.crypto;
    const view = new DataView(jobs.buffer, jobs.byteOffset, jobs.byteLength);
    const generation = view.getUint32(0);
    if (generation !== this.#rxGeneration) {
      const raw = this.#inEngine(() => this.#engine.offloadKey(generation));
      if (!raw) return;
      this.#rxGeneration = generation;
      this.#rxKey = Promise.resolve().then(() => subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"])).finally(() => raw.fill(0));
    }
    const records = [];
    for (let at = 4; at < jobs.length; ) {
      const seq = view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
      const iv = jobs.subarray(at + 8, at + 20);
      const additionalData = jobs.subarray(at + 21, at + 21 + jobs[at + 20]);
      at += 21 + additionalData.length;
      const body = jobs.subarray(at + 4, at + 4 + view.getUint32(at));
      at += 4 + body.length;
      records.push({ seq, iv, additionalData, body });
    }
    const opened = this.#rxKey.then((key) =>
      Promise.all(records.map(({ seq, iv, additionalData, body }) =>
        subtle.decrypt({ name: "AES-GCM", iv, additionalData }, key, body).then((plain) => [seq, plain], () => null))));
    this.#openingRecords += records.length;
    const done = Promise.all([this.#opening, opened])
      .then(([, results]) => {
        for (const result of results) {
          if (result && this.#engine) this.#inEngine(() => this.#engine.offloadOpened(generation, result[0], new Uint8Array(result[1])));
        }
      })
      .catch(() => {}) // no platform AES-GCM after all (importKey refused): the engine decrypts
      .finally(() => {
        this.#openingRecords -= records.length;
        if (this.#opening === done) this.#opening = null;
      });
    this.#opening = done;
  }
}
