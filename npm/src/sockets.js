// tlswire/sockets: Cloudflare Workers' `connect()` (the `cloudflare:sockets` module) with TLS done
// by tlswire: private CAs, client certificates, pins, TLS 1.3 with post-quantum key exchange, the
// message trace. Give it to the bundler as the alias of `cloudflare:sockets` (wrangler's `alias`)
// and clients written for Workers (pg through pg-cloudflare, postgres.js's Workers build) speak
// tlswire's TLS without knowing it; or import it and call `connect()` yourself.
//
// The TCP socket is always the platform's, opened with `secureTransport: "off"`; `"on"` and
// `"starttls"` + `startTls()` are tlswire's. TLS settings the client cannot pass (its CA, its
// certificate) come from `setTlsDefaults()`.

import { startTls as tlsStartTls, TlsError } from "./index.js";

let defaults = {};
let platform = null; // the platform's cloudflare:sockets, loaded on first use
let transport = null; // setTransport()'s factory, where TCP comes from a bridge

/**
 * The TLS settings for the sockets of this module that the caller does not give in `startTls()`:
 * tlswire's `connect()` options (`ca`, `certificate`, `privateKey`, `pins`, `alpn`, `groups`,
 * `minVersion`, `maxVersion`, `context`, `onMessage`). Replaces earlier defaults.
 */
export function setTlsDefaults(options = {}) {
  defaults = { ...options };
}

/**
 * Where there is no `cloudflare:sockets` (browsers, Deno, Node): `factory(hostname, port)` returns
 * (a promise of) the byte channel to that address, a {readable, writable} pair such as
 * tlswire/wisp's `wisp(url, hostname, port)` or a WebSocket bridge's `webSocket(url)`, and
 * {@link connect} uses it instead. `null` goes back to the platform's.
 */
export function setTransport(factory) {
  transport = factory;
}

/**
 * Opens a TCP connection, as `cloudflare:sockets`' `connect(address, options)`: `address` is
 * `"host:port"` or `{hostname, port}`; `options.secureTransport` `"off"` (default), `"on"` (TLS at
 * once) or `"starttls"` (TLS when `startTls()` is called); `allowHalfOpen`. Returns the Socket
 * at once: `readable`, `writable`, `opened`, `closed`, `close()`, `startTls(options)`.
 */
export function connect(address, options = {}) {
  const { hostname } = parseAddress(address);
  const secureTransport = options.secureTransport ?? "off";
  const tcp = transport
    ? Promise.resolve().then(() => transport(hostname, parseAddress(address).port)).then(asSocket)
    : loadPlatform().then((sockets) => sockets.connect(address, { ...options, secureTransport: "off" }));
  // "on" is "starttls" with startTls() called at once.
  const socket = new Socket(tcp, hostname, secureTransport === "starttls" || secureTransport === "on", options.allowHalfOpen === true);
  return secureTransport === "on" ? socket.startTls() : socket;
}

/**
 * A socket whose streams are ready at once and reach the platform's socket (or the TLS
 * connection) once it exists; reads only when its reader asks, so that after a plaintext
 * exchange no byte of the peer's TLS is read before `startTls()` takes the channel.
 */
class Socket {
  #inner; // promise of the socket below: the platform's, or a TlsConnection
  #hostname;
  #starttls;
  #allowHalfOpen;
  #reader = null;
  #writer = null;
  #leftover = []; // bytes a read in flight brought when startTls() took the channel: TLS's first
  #pendingPull = null; // the readable's read in flight, until its chunk has an owner
  #upgraded = false;
  #resolveUpgraded;

  constructor(inner, hostname, starttls, allowHalfOpen, upgraded = false) {
    this.#inner = inner;
    this.#hostname = hostname;
    this.#starttls = starttls;
    this.#allowHalfOpen = allowHalfOpen;
    this.upgraded = upgraded;
    this.secureTransport = upgraded ? "on" : starttls ? "starttls" : "off";
    inner.catch(() => {});
    const upgradedClosed = new Promise((resolve) => (this.#resolveUpgraded = resolve));
    // Like the platform's: the plaintext socket's `closed` resolves when startTls() takes it over.
    this.closed = Promise.race([inner.then((s) => s.closed), upgradedClosed]);
    this.opened = inner.then((s) => s.opened);
    this.closed.catch(() => {});
    this.opened.catch(() => {});
    this.readable = new ReadableStream(
      {
        pull: (controller) => {
          // One owner for each chunk read: its reader, or (after startTls()) the TLS connection.
          const pull = this.#read().then(({ value, done }) => {
            if (this.#upgraded) return void (done || this.#leftover.push(value));
            if (done) controller.close();
            else controller.enqueue(value);
          });
          // Only startTls() waits on it, for its end, not its outcome (which `pull` returns to
          // the stream): a failed read must not also be an unhandled rejection here.
          const tracked = pull.catch(() => {}).finally(() => this.#pendingPull === tracked && (this.#pendingPull = null));
          this.#pendingPull = tracked;
          return pull;
        },
        cancel: async (reason) => (await this.#readerOf()).cancel(reason),
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream({
      write: async (chunk) => (await this.#writerOf()).write(chunk),
      close: async () => (await this.#writerOf()).close(),
      abort: async (reason) => (await this.#writerOf()).abort(reason),
    });
  }

  async #readerOf() {
    return (this.#reader ??= (await this.#inner).readable.getReader());
  }

  async #writerOf() {
    return (this.#writer ??= (await this.#inner).writable.getWriter());
  }

  #read() {
    if (this.#upgraded) return Promise.reject(new TlsError("MISUSE", "startTls() took this socket: read the socket it returned"));
    return this.#readerOf().then((r) => r.read());
  }

  /** Closes the connection (and the TLS connection on it, if any). */
  async close() {
    const inner = await this.#inner.catch(() => null);
    if (!this.#upgraded) {
      // Our reader and writer hold the channel's streams: release them by ending them.
      await Promise.allSettled([this.#reader?.cancel(), this.#writer?.close()]);
    }
    await inner?.close?.();
    return this.closed.catch(() => {});
  }

  /**
   * Starts TLS on this socket (opened with `secureTransport: "starttls"`) and returns the new
   * socket at once. `options`: Cloudflare's `expectedServerHostname`, or Node's `servername`, `ca`,
   * `cert`, `key`, `rejectUnauthorized: false` (as pg passes its `ssl` settings), over
   * {@link setTlsDefaults}. The server name defaults to the host this socket connected to.
   */
  startTls(options = {}) {
    if (this.upgraded || this.#upgraded) throw new TlsError("MISUSE", "startTls() was called on this socket already");
    if (this.secureTransport === "off") throw new TlsError("MISUSE", 'startTls() needs a socket opened with secureTransport: "starttls"');
    this.#upgraded = true;
    const channel = (async () => {
      const inner = await this.#inner;
      // A read in flight (its caller gave up the reader) puts its bytes first in line for TLS.
      await this.#pendingPull;
      const reader = this.#reader ?? inner.readable.getReader();
      const writer = this.#writer ?? inner.writable.getWriter();
      const leftover = this.#leftover;
      this.#resolveUpgraded();
      return {
        readable: new ReadableStream({
          pull: async (controller) => {
            if (leftover.length) return controller.enqueue(leftover.shift());
            const { value, done } = await reader.read();
            if (done) controller.close();
            else controller.enqueue(value);
          },
          cancel: (reason) => reader.cancel(reason),
        }, { highWaterMark: 0 }),
        writable: new WritableStream({
          write: (chunk) => writer.write(chunk),
          close: () => writer.close(),
          abort: (reason) => writer.abort(reason),
        }),
        opened: inner.opened,
        close: () => inner.close(),
      };
    })();
    const tls = channel.then((transport) => tlsStartTls(transport, this.#tlsOptions(options)));
    return new Socket(tls, this.#hostname, false, this.#allowHalfOpen, true);
  }

  #tlsOptions(options) {
    const out = { ...defaults, allowHalfOpen: this.#allowHalfOpen };
    out.serverName = options.expectedServerHostname ?? options.servername ?? defaults.serverName ?? this.#hostname;
    const text = (v) => (v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v);
    if (options.ca !== undefined) out.ca = [options.ca].flat().map(text);
    if (options.cert !== undefined) out.certificate = text([options.cert].flat()[0]);
    if (options.key !== undefined) out.privateKey = text([options.key].flat()[0]);
    if (options.rejectUnauthorized === false) out.dangerouslyDisableVerification = true;
    return out;
  }
}

/** A {readable, writable} pair with a Socket's `opened`, `closed` and `close()`, if it lacks them. */
function asSocket(channel) {
  if (!channel?.readable || !channel?.writable) throw new TlsError("MISUSE", "setTransport(): the factory must return a {readable, writable} pair");
  if (channel.closed && channel.close) return channel;
  let resolveClosed;
  const closed = new Promise((resolve) => (resolveClosed = resolve));
  return {
    readable: channel.readable,
    writable: channel.writable,
    opened: Promise.resolve(channel.opened ?? {}),
    closed,
    close: async () => {
      await Promise.allSettled([channel.readable.cancel(), channel.writable.abort()]);
      resolveClosed();
    },
  };
}

/** "host:port", "[v6]:port" or {hostname, port} → {hostname, port}. */
function parseAddress(address) {
  if (typeof address === "object" && address) return { hostname: String(address.hostname), port: Number(address.port) };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(String(address));
  if (!m) throw new TlsError("MISUSE", `connect(): address ${address} is not host:port`);
  return { hostname: m[1] ?? m[2], port: Number(m[3]) };
}

function loadPlatform() {
  // The name is built at run time: a bundler that aliases `cloudflare:sockets` to this module
  // leaves this import alone, and it reaches the platform's own.
  const name = ["cloudflare", "sockets"].join(":");
  return (platform ??= import(/* @vite-ignore */ /* webpackIgnore: true */ name));
}
