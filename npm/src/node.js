// tlswire/node: the part of Node's `tls` module that client libraries use (`connect()` and a
// `TLSSocket`-shaped Duplex), done by tlswire. For Node, Deno, Bun and workerd's nodejs_compat;
// give it to a bundler as the alias of `tls` (README: "With your database or broker client") and
// pg, postgres.js, ioredis, mqtt.js and nodemailer speak tlswire's TLS without knowing it.
//
// Only the shape is Node's: every TLS decision (versions, suites, verification, alerts, errors) is
// the engine's, as for `connect()` in tlswire.

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { connect as tlsConnect, TlsError } from "./index.js";

const kSession = Symbol("session");

const DEFAULT_MIN_VERSION = "TLSv1.2";
const DEFAULT_MAX_VERSION = "TLSv1.3";
const VERSIONS = ["TLSv1.2", "TLSv1.3"];
// The most keying material exportKeyingMaterial() gives: TlsConnection's bound (connection.js),
// checked here too so that a bad length is refused the same before the handshake as after.
const EXPORT_MAX = 16384;
let warnedNoVerify = false;

/**
 * A TLS client connection with the shape of Node's `tls.TLSSocket`: a Duplex of plaintext, with
 * `secureConnect`, `data`, `end`, `close` and `error` events and the getters client libraries
 * read. Made by {@link connect}.
 */
export class TLSSocket extends Duplex {
  #conn = null; // the TlsConnection, once the handshake is done
  #opening; // promise of it
  #reader = null;
  #reading = false;
  #raw; // the channel's Node socket (options.socket, or the one connect() opened), if any
  #peerCertificate = null;
  #session; // the newest session the server gave (a Buffer)

  /** @internal Use {@link connect}. */
  constructor(raw, opening, options) {
    super({ allowHalfOpen: options.allowHalfOpen === true });
    this.encrypted = true;
    this.authorized = false;
    this.authorizationError = null;
    this.alpnProtocol = false;
    this.servername = options.servername ?? null;
    this.#raw = raw;
    this.#opening = opening.then(
      (conn) => {
        this.#conn = conn;
        const info = conn.info;
        this.authorized = options.rejectUnauthorized !== false;
        if (!this.authorized) this.authorizationError = "VERIFICATION_DISABLED";
        this.alpnProtocol = info?.alpn ?? false;
        conn.closed.catch(() => {}); // reported through the readable side
        // Node's: with requestOCSP, the stapled response (tlswire always asks for one).
        if (options.requestOCSP && info?.ocspResponse) this.emit("OCSPResponse", Buffer.from(info.ocspResponse));
        this.emit("secureConnect");
        if (this.readableFlowing !== false || this.readableLength === 0) this._read();
        return conn;
      },
      (error) => {
        this.destroy(nodeError(error));
        return null;
      },
    );
  }

  get connecting() {
    return this.#conn === null && !this.destroyed;
  }

  get remoteAddress() {
    return this.#raw?.remoteAddress;
  }

  get remotePort() {
    return this.#raw?.remotePort;
  }

  get remoteFamily() {
    return this.#raw?.remoteFamily;
  }

  get localAddress() {
    return this.#raw?.localAddress;
  }

  get localPort() {
    return this.#raw?.localPort;
  }

  address() {
    return this.#raw?.address?.() ?? {};
  }

  setNoDelay(noDelay) {
    this.#raw?.setNoDelay?.(noDelay);
    return this;
  }

  setKeepAlive(enable, initialDelay) {
    this.#raw?.setKeepAlive?.(enable, initialDelay);
    return this;
  }

  setTimeout(ms, callback) {
    if (this.#raw?.setTimeout) {
      this.#raw.setTimeout(ms);
      this.#raw.removeAllListeners("timeout");
      if (ms) this.#raw.on("timeout", () => this.emit("timeout"));
    }
    if (callback) this.once("timeout", callback);
    return this;
  }

  ref() {
    this.#raw?.ref?.();
    return this;
  }

  unref() {
    this.#raw?.unref?.();
    return this;
  }

  /** `"TLSv1.3"` or `"TLSv1.2"` once connected, else `null`. */
  getProtocol() {
    return this.#conn?.info?.version ?? null;
  }

  /** `{ name, standardName, version }`: the suite's IANA name (both names), and its TLS version. */
  getCipher() {
    const info = this.#conn?.info;
    if (!info) return undefined;
    const name = info.cipherSuite.replace(/^TLS13_/, "TLS_");
    return { name, standardName: name, version: info.version };
  }

  /** The key exchange group: `{ type: "ECDH", name }` (e.g. X25519, X25519MLKEM768). */
  getEphemeralKeyInfo() {
    const group = this.#conn?.info?.group;
    return group ? { type: "ECDH", name: group } : {};
  }

  /** Node's `exportKeyingMaterial(length, label[, context])`: a `Buffer` (RFC 5705 / RFC 8446 7.5). */
  exportKeyingMaterial(length, label, context) {
    let bytes;
    if (!Number.isInteger(length) || length < 1) throw new RangeError("length must be a positive integer");
    try {
      if (length > EXPORT_MAX) throw new TlsError("MISUSE", `exportKeyingMaterial: length ${length} is more than ${EXPORT_MAX} bytes`);
      if (!this.#conn) throw new TlsError("MISUSE", "the handshake is not complete");
      bytes = this.#conn.exportKeyingMaterial(length, label, context);
    } catch (e) {
      throw e instanceof TlsError ? nodeError(e) : e;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  isSessionReused() {
    return this.#conn?.info?.resumed ?? false;
  }

  /** The newest session the server gave (Node's shape: a Buffer to pass back as `session`), or `undefined`. */
  getSession() {
    return this.#session;
  }

  /** @internal A session arrived. */
  [kSession](session) {
    this.#session = session;
    this.emit("session", session);
  }

  /**
   * The server's certificate as Node describes it: `subject`, `issuer` (objects of attributes),
   * `subjectaltname`, `valid_from`, `valid_to`, `serialNumber`, `fingerprint`, `fingerprint256`,
   * `fingerprint512`, `raw`; with `detailed`, each certificate's `issuerCertificate` up the chain
   * the server sent. `{}` before the handshake. Parsed by the runtime's `X509Certificate`.
   */
  getPeerCertificate(detailed = false) {
    const chain = this.#conn?.info?.peerCertificates ?? [];
    if (!chain.length) return {};
    this.#peerCertificate ??= describeChain(chain);
    if (detailed) return this.#peerCertificate;
    const { issuerCertificate, ...first } = this.#peerCertificate;
    return first;
  }

  _read() {
    if (!this.#conn || this.#reading) return;
    this.#reading = true;
    this.#reader ??= this.#conn.readable.getReader();
    (async () => {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) {
          this.push(null);
          return;
        }
        if (!this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) return;
      }
    })()
      .catch((e) => this.destroy(nodeError(e)))
      .finally(() => (this.#reading = false));
  }

  _write(chunk, encoding, callback) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
    // Written before the handshake is done (Node's TLSSocket buffers these too): sent after it.
    this.#opening
      .then((conn) => {
        if (!conn) throw new TlsError("CHANNEL_ERROR", "the connection failed before this write");
        return conn.write(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      })
      .then(() => callback(), (e) => callback(nodeError(e)));
  }

  _final(callback) {
    // close_notify, then the channel half-closed; reading goes on (allowHalfOpen) or ends.
    this.#opening
      .then((conn) => conn && !conn.writable.locked && conn.writable.close())
      .then(() => callback(), (e) => callback(nodeError(e)));
  }

  _destroy(error, callback) {
    const conn = this.#conn;
    if (conn) {
      this.#reader?.cancel().catch(() => {});
      conn.close().catch(() => {});
    }
    // The channel goes with the connection (as Node destroys the socket a TLSSocket wraps).
    if (!conn || error) this.#raw?.destroy?.();
    callback(error);
  }
}

/**
 * Opens a TLS client connection, as Node's `tls.connect()`: `(options[, callback])` or
 * `(port[, host][, options][, callback])`. Returns the {@link TLSSocket} at once; `callback` runs
 * on `secureConnect`.
 *
 * Options, as Node's: `socket` (a connected or connecting Node socket or Duplex, e.g. after a
 * STARTTLS exchange: TLS starts with its next byte; or a `{readable, writable}` pair), else `host`
 * and `port` (Node's `net`); `servername` (default: `host`); `ca` (default: tlswire/roots, Mozilla's
 * roots, as Node's default); `cert`, `key`; `ALPNProtocols`; `minVersion`, `maxVersion`;
 * `rejectUnauthorized: false` turns off certificate and host name verification (with a warning);
 * `allowHalfOpen`. tlswire's own options (`pins`, `groups`, `onMessage`, `context`) pass through.
 * Events as Node's, `keylog` among them (a listener attached before the handshake gets each line).
 */
export function connect(...args) {
  let options = {};
  let callback;
  if (typeof args[args.length - 1] === "function") callback = args.pop();
  if (typeof args[0] === "object" && args[0] !== null) options = { ...args[0] };
  else {
    const [port, host, more] = args;
    if (typeof host === "object" && host !== null) options = { ...host, port };
    else options = { ...more, port, host };
  }
  const host = options.host ?? "localhost";
  const servername = options.servername ?? host; // as Node: servername, else host, else "localhost"
  let raw = null;
  let transport;
  if (options.socket?.readable instanceof ReadableStream) {
    transport = options.socket; // a Cloudflare Socket or any {readable, writable} pair
  } else {
    raw = options.socket ?? openTcp(options.port, host);
    transport = fromNodeSocket(raw);
  }
  let socket = null;
  const opening = (async () => {
    if (typeof servername !== "string" || !servername) {
      throw new TlsError("MISUSE", "tlswire/node connect(): options.servername (or options.host) is required");
    }
    const tlsOpts = await tlsOptions(options);
    // Node's `keylog` event: the secrets leave the engine only for a listener attached before
    // the handshake (as Node's, which the caller adds right after connect() returns).
    if (socket.listenerCount("keylog") > 0) tlsOpts.onKeylog = (e) => socket.emit("keylog", Buffer.from(`${e.line}\n`));
    // Node's `session` event and getSession(): each session the server gives, as a Buffer to
    // pass back as `session` (Node hands out sessions this way whether or not anyone listens).
    tlsOpts.onSession = (e) => socket[kSession](Buffer.from(e.session.buffer, e.session.byteOffset, e.session.byteLength));
    return tlsConnect({ ...tlsOpts, transport, serverName: servername, allowHalfOpen: true });
  })();
  socket = new TLSSocket(raw, opening, { ...options, servername });
  if (callback) socket.once("secureConnect", callback);
  return socket;
}

/**
 * The error a TLSSocket reports: tlswire's TlsError (with its `code`) for everything TLS, but the
 * socket's own error (ECONNREFUSED, ECONNRESET, EPIPE, ...) when the channel failed, as Node's
 * `tls` reports it: client libraries decide on those codes whether to reconnect.
 */
function nodeError(e) {
  const error = TlsError.from(e);
  const cause = error.code === "CHANNEL_ERROR" ? error.cause : null;
  return cause instanceof Error && typeof cause.code === "string" ? cause : error;
}

/** Node's `tls` options as tlswire's `connect()` options. */
async function tlsOptions(options) {
  const out = {};
  for (const name of ["pins", "groups", "onMessage", "context", "session"]) if (options[name] !== undefined) out[name] = options[name];
  // Node's checkServerIdentity(hostname, cert), with the certificate as getPeerCertificate(true)
  // describes it. tlswire runs it after its own checks (the name among them): it can refuse more,
  // not accept what those refused.
  if (typeof options.checkServerIdentity === "function") {
    const check = options.checkServerIdentity;
    out.checkServerIdentity = (name, chain) => check(name, describeChain(chain));
  }
  if (options.context) return out;
  const text = (v) => (typeof v === "string" ? v : v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v);
  if (options.ca !== undefined) out.ca = [options.ca].flat().map(text);
  else out.ca = (await import("../dist/roots.js")).default; // from src/ and dist/ alike
  if (options.crl !== undefined) out.crls = [options.crl].flat().map(text);
  // Node's sigalgs: colon-separated (tlswire takes IANA names: ecdsa_secp256r1_sha256, ...).
  if (options.sigalgs !== undefined) out.signatureSchemes = String(options.sigalgs).split(":");
  const key = [options.key ?? []].flat()[0];
  const cert = [options.cert ?? []].flat()[0];
  if (cert !== undefined || key !== undefined) {
    out.certificate = text(cert ?? "");
    out.privateKey = text(key?.pem ?? key ?? "");
  }
  if (options.ALPNProtocols) {
    out.alpn = [...options.ALPNProtocols].map((p) => (typeof p === "string" ? p : Buffer.from(p).toString("latin1")));
  }
  for (const name of ["minVersion", "maxVersion"]) {
    const version = options[name];
    if (version === undefined) continue;
    if (!VERSIONS.includes(version)) throw new TlsError("MISUSE", `${name} ${version}: tlswire speaks ${VERSIONS.join(" and ")}`);
    out[name] = version;
  }
  if (options.rejectUnauthorized === false) {
    if (!warnedNoVerify) {
      warnedNoVerify = true;
      globalThis.process?.emitWarning?.("tlswire/node: rejectUnauthorized: false turns off certificate and host name verification (dangerouslyDisableVerification)", "SecurityWarning");
    }
    out.dangerouslyDisableVerification = true;
  }
  return out;
}

/** A TCP connection by Node's `net` (Node, Deno, Bun; workerd has none: pass `socket`). */
function openTcp(port, host) {
  const net = globalThis.process?.getBuiltinModule?.("node:net");
  if (!net) throw new TlsError("MISUSE", "tlswire/node connect(): this runtime has no node:net; pass options.socket");
  return net.connect({ port: Number(port), host });
}

/**
 * A Node socket (or any Duplex) as a {readable, writable} pair of bytes. Whatever the socket holds
 * unread (bytes after a STARTTLS reply) comes first. Bytes received before a socket error (a
 * peer's alert, then EPIPE on our next write) are read before the error is: Node's
 * `Duplex.toWeb` drops them. Reading stops (the socket pauses) while 64 KiB wait unread.
 */
export function fromNodeSocket(socket) {
  const HIGH_WATER = 64 * 1024;
  const queue = [];
  let queued = 0;
  let ended = false;
  let failure = null;
  let wake = null;
  const notify = () => (wake?.(), (wake = null));
  const onData = (data) => {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    queue.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    queued += bytes.byteLength;
    if (queued >= HIGH_WATER) socket.pause();
    notify();
  };
  const onEnd = () => ((ended = true), notify());
  // Kept for the socket's life: a later error event must not be an uncaught one.
  const onError = (e) => ((failure ??= e), (ended = true), notify());
  socket.on("data", onData);
  socket.once("end", onEnd);
  socket.once("close", onEnd);
  socket.on("error", onError);
  socket.resume();
  const readable = new ReadableStream(
    {
      async pull(controller) {
        while (!queue.length && !ended) await new Promise((resolve) => (wake = resolve));
        if (queue.length) {
          const bytes = queue.shift();
          queued -= bytes.byteLength;
          if (queued < HIGH_WATER && !ended) socket.resume();
          return controller.enqueue(bytes);
        }
        socket.off("data", onData);
        if (failure) controller.error(failure);
        else controller.close();
      },
      cancel() {
        socket.off("data", onData);
        queue.length = 0;
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream({
    write(chunk) {
      return new Promise((resolve, reject) => {
        if (socket.destroyed || socket.writableEnded) return reject(new Error("the socket is closed"));
        socket.write(chunk, (e) => (e ? reject(e) : resolve()));
      });
    },
    close() {
      return new Promise((resolve) => {
        if (socket.writableEnded || socket.destroyed) return resolve();
        socket.end(resolve);
      });
    },
    abort() {
      socket.destroy();
    },
  });
  return { readable, writable, close: () => socket.destroy() };
}

/** Node's getPeerCertificate(true) for a chain of DER certificates, by `X509Certificate`. */
function describeChain(chain) {
  const { X509Certificate } = globalThis.process?.getBuiltinModule?.("node:crypto") ?? {};
  let described = null;
  for (let i = chain.length - 1; i >= 0; i--) {
    const raw = Buffer.from(chain[i]);
    const entry = { raw };
    if (X509Certificate) {
      const x = new X509Certificate(raw);
      Object.assign(entry, {
        subject: attributes(x.subject),
        issuer: attributes(x.issuer),
        subjectaltname: x.subjectAltName,
        valid_from: x.validFrom,
        valid_to: x.validTo,
        serialNumber: x.serialNumber,
        fingerprint: x.fingerprint,
        fingerprint256: x.fingerprint256,
        fingerprint512: x.fingerprint512,
        ca: x.ca,
      });
      if (entry.subjectaltname === undefined) delete entry.subjectaltname;
    }
    // A self-signed last certificate is its own issuer, as Node shows a root.
    entry.issuerCertificate = described ?? (entry.subject && entry.issuer && JSON.stringify(entry.subject) === JSON.stringify(entry.issuer) ? entry : undefined);
    described = entry;
  }
  return described;
}

/** "C=US\nO=Example\nCN=db" → { C: "US", O: "Example", CN: "db" } (repeated names: arrays). */
function attributes(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 0) continue;
    const [name, value] = [line.slice(0, at), line.slice(at + 1)];
    out[name] = name in out ? [out[name]].flat().concat(value) : value;
  }
  return out;
}

export { DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION };
export default { connect, TLSSocket, DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION };
