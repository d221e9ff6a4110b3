// tlswire for JavaScript: TLS 1.3/1.2 in WebAssembly over any {readable, writable} byte channel.
//
// This file only moves bytes between the wasm engine (crates/tlswire-wasm) and the channel and
// turns the engine's states into promises; every TLS decision is made in the engine.

import init, { Config, Engine, initSync, setPlatformCrypto } from "../dist/wasm/tlswire.js";

const WANT_READ = 1;
const WANT_WRITE = 2;
// Plaintext handed to the engine per call by write(): four full records.
const WRITE_SLICE = 4 * 16384;
// Received records out for decryption by the platform's AES-GCM at once, at most: the channel is
// read ahead while they decrypt, up to this many (16 KiB each).
const OPENING_MAX = 64;

let ready;
let wasmMemory;
let platformAead = null; // the runtime's synchronous ciphers and verifier, if it has them (nodeCrypto)
let platformEnabled = true;

/**
 * Instantiates the wasm engine. Called on the first connection with the engine next to this file
 * (Node: read from disk; browsers and bundlers: fetched by URL); call it first where there is no
 * such URL, with a compiled `WebAssembly.Module` (Cloudflare Workers' `import wasm from "….wasm"`),
 * the bytes, a URL or a `Response`. Later calls return the first call's promise.
 */
export function initWasm(source) {
  ready ??= (async () => {
    if (source === undefined) {
      const url = new URL("../dist/wasm/tlswire_bg.wasm", import.meta.url);
      if (url.protocol === "file:") {
        // Node (no fetch of file: URLs). Not a static import, so bundlers leave it alone.
        const fsName = "node:fs/promises";
        const fs = globalThis.process?.getBuiltinModule?.(fsName) ?? (await import(/* @vite-ignore */ fsName));
        source = await WebAssembly.compile(await fs.readFile(url));
      } else {
        source = url;
      }
    }
    // A compiled module outside a browser page (Node, workerd, Deno, Bun, workers) is
    // instantiated synchronously: V8's async instantiate took ~45 ms more in Node (it compiles
    // eagerly what the sync path compiles on first call), more than the first handshakes win.
    const sync = source instanceof WebAssembly.Module && typeof document === "undefined";
    const exports = sync ? initSync({ module: source }) : await init({ module_or_path: source });
    wasmMemory = exports.memory;
    platformAead = await nodeCrypto();
    if (platformAead && platformEnabled) setPlatformCrypto(platformAead);
  })();
  return ready;
}

/**
 * Which of the platform's own ciphers the engine uses for bulk data: `"node:crypto"` (Node, Deno,
 * Bun: records of 1 KiB and more are encrypted and decrypted by the runtime's AES-GCM and
 * ChaCha20-Poly1305, and ECDSA and RSA signatures are checked by it), `"webcrypto"` (browsers, Workers: received AES-GCM records are decrypted by
 * WebCrypto), or `null` (the engine's own ciphers, in wasm, for everything; also before the engine
 * is instantiated). Either way the engine checks every record and reports the same errors, alerts
 * and messages. `platformCrypto(false)` makes connections opened from then on use only the
 * engine's own ciphers (and `true` undoes it).
 * @param {boolean} [enabled]
 * @returns {"node:crypto" | "webcrypto" | null}
 */
export function platformCrypto(enabled) {
  if (enabled !== undefined) {
    platformEnabled = Boolean(enabled);
    if (wasmMemory) setPlatformCrypto(platformEnabled ? platformAead : null);
  }
  if (!platformEnabled || !wasmMemory) return null;
  if (platformAead) return "node:crypto";
  return typeof globalThis.crypto?.subtle?.decrypt === "function" ? "webcrypto" : null;
}

/**
 * The runtime's synchronous ciphers and signature verification (`node:crypto`: Node, Deno, Bun),
 * for the engine to protect full-size records with and check ECDSA and RSA signatures with
 * (crates/tlswire-crypto/src/platform.rs), or `null` where there is no `node:crypto` or it fails a
 * known-answer check. Browsers and Workers have only WebCrypto, which is asynchronous: there the
 * engine hands received AES-GCM records out instead (`#openElsewhere`).
 */
async function nodeCrypto() {
  let node;
  try {
    if (typeof globalThis.process?.versions?.node !== "string") return null;
    const name = "node:crypto"; // not a static import: bundlers leave it alone
    node = globalThis.process.getBuiltinModule?.(name) ?? (await import(/* @vite-ignore */ name));
  } catch {
    return null;
  }
  // The engine's codes. AEADs: 1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305.
  const aeads = [, "aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"];
  const TAG = { authTagLength: 16 };
  // Signatures 1–10: ECDSA P-256 SHA-256/384, P-384 SHA-256/384, RSA PKCS#1 SHA-256/384/512,
  // RSA-PSS SHA-256/384/512: [hash, curve (ECDSA) or salt length (PSS) or 0 (PKCS#1)].
  const signatures = [, ["sha256", "P-256"], ["sha384", "P-256"], ["sha256", "P-384"], ["sha384", "P-384"],
    ["sha256", 0], ["sha384", 0], ["sha512", 0], ["sha256", 32], ["sha384", 48], ["sha512", 64]];
  const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  // Parsed public keys, most recently used last: a server's key is parsed once, not per handshake.
  const keys = new Map();
  const publicKey = (curve, bytes) => {
    const id = `${curve}:${String.fromCharCode(...bytes)}`;
    let key = keys.get(id);
    if (key) keys.delete(id);
    else if (curve !== "rsa") {
      const n = curve === "P-256" ? 32 : 48;
      if (bytes.length !== 1 + 2 * n || bytes[0] !== 4) return null; // uncompressed points only
      key = node.createPublicKey({ key: { kty: "EC", crv: curve, x: b64url(bytes.subarray(1, 1 + n)), y: b64url(bytes.subarray(1 + n)) }, format: "jwk" });
    } else key = node.createPublicKey({ key: bytes, format: "der", type: "pkcs1" });
    keys.set(id, key);
    if (keys.size > 16) keys.delete(keys.keys().next().value);
    return key;
  };
  // Each algorithm (AEAD code, or "verify") is used only once it has given its known answers
  // (below), checked on first use so that loading the engine costs nothing more. Bun, for one,
  // has no ChaCha20-Poly1305: there the engine keeps its own.
  const checked = new Map();
  const usable = (what) => {
    let ok = checked.get(what);
    if (ok === undefined) {
      checked.set(what, true); // while its own check runs
      ok = passes(what === "verify" ? verifiesKnownAnswers : () => sealsKnownAnswer(what));
      checked.set(what, ok);
      keys.clear();
    }
    return ok;
  };
  const crypto = {
    seal(algorithm, key, nonce, aad, data, tag) {
      if (!usable(algorithm)) return false;
      const cipher = node.createCipheriv(aeads[algorithm], key, nonce, TAG);
      cipher.setAAD(aad);
      const sealed = cipher.update(data);
      cipher.final();
      data.set(sealed);
      tag.set(cipher.getAuthTag());
      return true;
    },
    open(algorithm, key, nonce, aad, data, tag) {
      if (!usable(algorithm)) return null;
      const decipher = node.createDecipheriv(aeads[algorithm], key, nonce, TAG);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const opened = decipher.update(data);
      try {
        decipher.final();
      } catch {
        return false;
      }
      data.set(opened);
      return true;
    },
    verify(algorithm, keyBytes, message, signature) {
      const [hash, shape] = signatures[algorithm] ?? [];
      if (!hash || !usable("verify")) return null;
      try {
        const key = publicKey(typeof shape === "string" ? shape : "rsa", keyBytes);
        if (!key) return null;
        const options = typeof shape === "string" ? { key, dsaEncoding: "der" }
          : shape ? { key, padding: node.constants.RSA_PKCS1_PSS_PADDING, saltLength: shape } : { key };
        return node.verify(hash, message, options, signature);
      } catch {
        return null; // malformed input: the engine's own verifier decides
      }
    },
  };
  // The known answers, each both ways (and tampered): the first 32 bytes of GCM test cases 4 and 16
  // (AES-128, AES-256) and of RFC 8439 §2.8.2 (ChaCha20-Poly1305), an ECDSA P-256 SHA-256 and an
  // RSA-PSS SHA-256 signature; tags and signatures made independently (Python's `cryptography`).
  const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
  const toHex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  const vectors = [
    [1, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e", "e13e1434285a9426addfbfc270d27f16"],
    [2, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa", "cf9bffa9bd334d8240c868342b36b506"],
    [3, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
      "4c616469657320616e642047656e746c656d656e206f662074686520636c6173",
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6", "e3d0496173937e240fd6a6796bc60b16"],
  ];
  const message = new TextEncoder().encode("tlswire platform check");
  const signed = [
    [1, "04058fd79a584400b2c6a435c2d86b9ab247361856ae2013c3e24e0ae21abb5d6674b414f3d5bbe3ed50a6aad0bba4e9eafbf5eb5b470bfd70e7a36260909830ce",
      "304502205de25ed802e00b87120dbd519711ec22e596811ff6c921a1342b3252d84f747f022100906a34fe9a2b9b30706a219c3fb321843f627f6a1023864b525305b90b4a1ee5"],
    [8, "3082010a0282010100a8f34750dd923ebefd0c9c7750e4fc6a5cfa116f0d6477e2a104f38a1cb31da32d02f9d24db3e7887cf0024a890c3463b5a8b954c3c44d4e099c22dcb0136e6774aa5bf04e6bd1082bc4ac7a178ad11cb4135d4b7906d5e81ccc1557fcdabb13170078eb09ff66012415bbd7c076e45b9320a023139dbaf5192828da410d48cfe9b89b7e4585ac333a0b3a7d3dba7195058842a1b00be15891e029e8d93f96e4400cf1cc617ba0869b3aded600dadcef3b290621dab5f9a09354e8f8a5901dec3fbecf1daaddc1d708af17f88dd8e36f8140920038fcf84a607b3cc3935945ac4a53414cc14eeaf66aa4f2ce4a41aa1c7430c271d4a9946d733d89fbdaf0cadf0203010001",
      "2b929e25a659de8421ececdf7ad9c552a6e39674a960d1556faf8443d4720fe7841adfdd8f19e14ba75fbd6e693ca8102d9e9696c5559e468f1205b46129acff55bc15c5bd03a41eeedbdd36c38dd69dc72c8c2898d5145c79db1cfe6c46a5063bc1e11a4a866f46c1ebfe5e7535263bba5438f00bbd4816ba6b968b623473d7933e2f8d98c8143955091f011365fc63d439b25a584da9d55fd243139f3859e8aea8aeb430a2d66ea05e41bdaedfa16955915d2b88ac4734fce8b0c09180cd5956e92d4a5a084ce4a25b37afe7ca8a84b31ecfba507774525652d17cf665f83a78bc13eacce27f74b9426b7ae17cbef87a6ca56eca5f5c32085a0b5ce931fc1d"],
  ];
  const passes = (check) => {
    try {
      return check();
    } catch {
      return false;
    }
  };
  const sealsKnownAnswer = (algorithm) => {
    const [, key, nonce, aad, plain, sealed, expectTag] = vectors.find((v) => v[0] === algorithm) ?? [];
    if (!key) return false;
    const data = hex(plain);
    const tag = new Uint8Array(16);
    if (!crypto.seal(algorithm, hex(key), hex(nonce), hex(aad), data, tag)) return false;
    if (toHex(data) !== sealed || toHex(tag) !== expectTag) return false;
    if (!crypto.open(algorithm, hex(key), hex(nonce), hex(aad), data, tag) || toHex(data) !== plain) return false;
    tag[0] ^= 1;
    return crypto.open(algorithm, hex(key), hex(nonce), hex(aad), hex(sealed), tag) === false;
  };
  const verifiesKnownAnswers = () => signed.every(([algorithm, key, signature]) => {
    const sig = hex(signature);
    if (crypto.verify(algorithm, hex(key), message, sig) !== true) return false;
    sig[sig.length - 1] ^= 1;
    if (crypto.verify(algorithm, hex(key), message, sig) === true) return false;
    return crypto.verify(algorithm, hex(key), message.subarray(1), hex(signature)) !== true;
  });
  return crypto;
}

/**
 * The engine's memory: `{ wasmBytes }`, the size of its linear memory, which every connection in
 * this realm shares (it grows, never shrinks). `null` before the engine is instantiated.
 */
export function memoryUsage() {
  return wasmMemory ? { wasmBytes: wasmMemory.buffer.byteLength } : null;
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

/** Reports an exception thrown by a caller's callback, as the platform does for event listeners. */
const reportLater = (e) => (typeof globalThis.reportError === "function" ? globalThis.reportError(e) : queueMicrotask(() => {
  throw e;
}));

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const asBytes = (v) => (typeof v === "string" ? new TextEncoder().encode(v) : v);

// The options that configure the client rather than one connection (they make a TlsContext).
const CONTEXT_OPTIONS = ["ca", "pins", "alpn", "certificate", "privateKey", "minVersion", "maxVersion", "groups", "dangerouslyDisableVerification"];
const contexts = new WeakMap(); // TlsContext → the engine's built Context

/** Parses and builds client settings into the engine's Context (the caller frees it). */
function buildContext(options) {
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
    return config.build();
  } catch (e) {
    throw TlsError.from(e);
  } finally {
    config.free();
  }
}

/**
 * Client settings parsed and built once, for any number of connections: OpenSSL's `SSL_CTX`.
 * Made by {@link createContext}; pass it as `options.context`.
 */
export class TlsContext {
  /** Frees the built settings. Connections already made with them keep working. */
  free() {
    contexts.get(this)?.free();
    contexts.delete(this);
  }

  [Symbol.dispose]() {
    this.free();
  }
}

/**
 * Parses and builds the client settings of {@link connect}'s options (CAs, pins, ALPN, client
 * certificate and key, versions, groups) once. Connections given it as `options.context` skip that
 * work: the CA and key parsing is most of a handshake's CPU time when a client key is used.
 * @returns {Promise<TlsContext>}
 */
export async function createContext(options = {}) {
  await initWasm();
  const context = new TlsContext();
  contexts.set(context, buildContext(options));
  return context;
}

/**
 * Connects over `options.transport` and completes the handshake.
 * @returns {Promise<TlsConnection>}
 */
export async function connect(options) {
  await initWasm();
  const transport = await options.transport;
  if (!transport?.readable || !transport?.writable) {
    throw new TlsError("MISUSE", "options.transport must be a {readable, writable} pair");
  }
  // A Cloudflare Socket's `opened` rejects when the connection fails; the streams report that too.
  Promise.resolve(transport.opened).catch(() => {});
  const serverName = options.serverName ?? options.expectedServerHostname;
  try {
    if (typeof serverName !== "string") throw new TlsError("MISUSE", "options.serverName is required");
    const shared = await options.context;
    let context;
    if (shared) {
      const misplaced = CONTEXT_OPTIONS.find((name) => options[name] !== undefined);
      if (misplaced) throw new TlsError("MISUSE", `options.${misplaced} belongs in createContext() when options.context is given`);
      context = contexts.get(shared);
      if (!context) throw new TlsError("MISUSE", "options.context is not a live TlsContext (freed, or not from createContext())");
    } else {
      context = buildContext(options);
    }
    let engine;
    try {
      const offload = platformCrypto() === "webcrypto";
      engine = Engine.client(context, serverName, typeof options.onMessage === "function", offload);
    } finally {
      if (!shared) context.free(); // the engine holds its own reference
    }
    const conn = new TlsConnection(engine, transport, options.onMessage, options.allowHalfOpen === true);
    await conn._handshake();
    return conn;
  } catch (e) {
    // A connection that failed its handshake has released the channel; a bad configuration
    // fails before one exists, so release the channel here.
    if (!transport.readable.locked) transport.readable.cancel().catch(() => {});
    if (!transport.writable.locked) transport.writable.abort().catch(() => {});
    throw TlsError.from(e);
  }
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
  #allowHalfOpen; // keep writing after the peer's close_notify (else answer it and close)

  constructor(engine, transport, onMessage, allowHalfOpen = false) {
    super();
    this.#engine = engine;
    this.#allowHalfOpen = allowHalfOpen;
    this.#closeTransport = () => (typeof transport.close === "function" ? Promise.resolve(transport.close()).catch(() => {}) : undefined);
    this.#reader = transport.readable.getReader();
    this.#writer = transport.writable.getWriter();
    this.#onMessage = onMessage;
    const socketInfo = Promise.resolve(transport.opened).then((i) => (i && typeof i === "object" ? i : {}), () => ({}));
    this.#opened = new Promise((resolve) => (this.#resolveOpened = () => resolve(socketInfo)));
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
   * (a Cloudflare Socket's `{remoteAddress, localAddress}`), else `{}`. */
  get opened() {
    return this.#opened;
  }

  /** Resolves when the connection has closed cleanly; rejects with the TlsError that ended it. */
  get closed() {
    return this.#closed;
  }

  /** {version, cipherSuite, group, alpn, peerCertificates, peerSubject, helloRetryRequest} */
  get info() {
    return this.#info ?? this.#engine?.info() ?? null;
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
      } else if (n === -1) await this.#fill();
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

  async _handshake() {
    for (;;) {
      const status = this.#call(() => this.#engine.doHandshake());
      if (this.#engine.handshakeDone) {
        this.#info = this.#engine.info();
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
      await this.#flush();
      try {
        await this.#writer.close();
      } catch {
        // The channel may already be closed by the peer.
      }
      this.#writeDone = true;
      if (this.#readDone) this.#release();
    })();
    return this.#writeShutdown;
  }

  async #pull(controller) {
    try {
      for (;;) {
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

  /** One engine call: dispatches the messages it recorded; a failure becomes a TlsError. */
  #call(fn) {
    if (!this.#engine) throw this.#failure ?? new TlsError("MISUSE", "the connection is closed");
    let result;
    let error = null;
    try {
      result = fn();
    } catch (e) {
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

  /** After a fatal error: send the alert the engine queued, release the channel and the engine. */
  #fail(error) {
    if (this.#failure) return;
    this.#failure = error;
    this.#rejectClosed(error);
    const alert = this.#engine?.takeOutput() ?? new Uint8Array(0);
    const writer = this.#writer;
    (alert.length ? writer.write(alert) : Promise.resolve())
      .then(() => writer.close())
      .catch(() => writer.abort().catch(() => {}))
      .then(this.#closeTransport);
    this.#reader.cancel().catch(() => {});
    this.#release();
  }

  #release() {
    this.#engine?.free();
    this.#engine = null;
  }

  #dispatch() {
    if (!this.#onMessage) return;
    for (const m of this.#engine.takeMessages()) {
      const event = new TlsMessageEvent(m);
      try {
        this.#onMessage(event);
      } catch (e) {
        // As for an event listener: reported, and the connection's own handling goes on.
        reportLater(e);
      }
      this.dispatchEvent(event);
    }
  }

  /** Hands pending output to the channel (in order; the writer queues it). */
  #flush() {
    const out = this.#engine?.takeOutput();
    if (!out?.length) return Promise.resolve();
    return this.#writer.write(out).catch((e) => {
      this.#fail(e instanceof TlsError ? e : new TlsError("CHANNEL_ERROR", `channel write failed: ${e?.message ?? e}`, { cause: e }));
      throw this.#failure;
    });
  }

  /** Reads one chunk from the channel into the engine (end of channel included); one at a time. */
  #fill() {
    return (this.#filling ??= this.#fillOnce().finally(() => (this.#filling = null)));
  }

  async #fillOnce() {
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
      this.#call(() => this.#engine.feedEof());
    }
    else {
      this.#call(() => this.#engine.feed(chunk.value));
      this.#openElsewhere();
    }
  }

  /**
   * Sends the received records the engine hands out to the platform's AES-GCM (WebCrypto, native
   * code), all at once, and hands back, in order, the plaintext of those that authenticated. The
   * engine decrypts anything without a result itself, so a failure here only costs speed.
   */
  #openElsewhere() {
    const jobs = this.#engine?.offloadJobs();
    if (!jobs?.length) return;
    const { subtle } = globalThis.crypto;
    const view = new DataView(jobs.buffer, jobs.byteOffset, jobs.byteLength);
    const generation = view.getUint32(0);
    if (generation !== this.#rxGeneration) {
      const raw = this.#engine.offloadKey(generation);
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
          if (result && this.#engine) this.#engine.offloadOpened(generation, result[0], new Uint8Array(result[1]));
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
