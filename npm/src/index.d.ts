/**
 * tlswire: TLS 1.3 and 1.2 in WebAssembly over any byte channel.
 *
 * ```ts
 * import { connect, webSocket } from "tlswire";
 * const tls = await connect({ transport: webSocket("wss://bridge.example/db"), serverName: "db.internal", ca: caPem });
 * await tls.write("PING\r\n");
 * console.log(new TextDecoder().decode(await tls.read()));
 * await tls.close();
 * ```
 */

/** A duplex byte channel: a WebTransport bidirectional stream, a Cloudflare `Socket`, `Duplex.toWeb()`, ... */
export interface Transport {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** One source of trusted CAs. */
export type CaSource = string | Uint8Array | { readonly trustAnchors: string };

/** Options for {@link connect}. */
export interface ConnectOptions extends ContextOptions {
  /** The channel to speak TLS over (or a promise of it, as {@link webTransport} returns). */
  transport: Transport | Promise<Transport>;
  /** The server's name: sent as SNI and checked against its certificate. */
  serverName: string;
  /**
   * Settings built once by {@link createContext}, instead of the {@link ContextOptions} here
   * (giving both is `MISUSE`).
   */
  context?: TlsContext | Promise<TlsContext>;
  /**
   * Called for every protocol message, from the first ClientHello on; also enables `message`
   * events. An exception it throws is reported like an event listener's (`reportError`, or an
   * uncaught exception) and does not change what the connection does.
   */
  onMessage?: (event: TlsMessageEvent) => void;
  /**
   * **Secrets**: called with each line of the connection's key log (SSLKEYLOGFILE format, as
   * `openssl s_client -keylogfile` writes it), for Wireshark; also enables `keylog` events.
   * Anyone with these lines can decrypt the connection. Without it no secret leaves the engine.
   *
   * ```ts
   * await connect({ ..., onKeylog: (e) => keylog.push(e.line + "\n") });
   * ```
   */
  onKeylog?: (event: TlsKeylogEvent) => void;
  /**
   * **Secrets**: called with each session the server gives (a TLS 1.3 ticket, a TLS 1.2
   * session), as bytes to keep and pass as {@link session} to a later `connect()` — in this
   * isolate or another (KV, IndexedDB, a file); also enables `session` events. Whoever has the
   * bytes can resume the session. Without it no session leaves the engine. A TLS 1.2 session
   * arrives with the handshake, before `connect()` resolves: only this callback sees it.
   *
   * ```ts
   * const tls = await connect({ ..., onSession: (e) => env.KV.put(`tls:${host}`, e.session) });
   * ```
   */
  onSession?: (event: TlsSessionEvent) => void;
  /**
   * Your own check of the server's certificate chain (Node's `checkServerIdentity` shape), run
   * during the handshake after tlswire's checks (CAs, name, validity, CRLs, pins) have passed —
   * or instead of them with `dangerouslyDisableVerification`. It gets the server name and the
   * chain as sent (DER, leaf first); return (or throw) an `Error` to refuse it: the handshake
   * fails with `CERT_REJECTED` (your message in it) and the alert certificate_unknown, before
   * anything is sent. On a resumed session (no certificate is sent) it judges the chain stored
   * with the session, before any data of the connection is read.
   *
   * ```ts
   * checkServerIdentity: (name, [leaf]) =>
   *   sha256(leaf) === PINNED ? undefined : new Error(`unexpected certificate for ${name}`)
   * ```
   */
  checkServerIdentity?: (serverName: string, certificates: Uint8Array[]) => Error | undefined | void;
  /**
   * Early data (TLS 1.3 0-RTT): bytes to send with the ClientHello when `session` (or the
   * context's memory) resumes a session that allows it; what does not fit, or early data is not
   * possible, is sent right after the handshake; what the server refuses is sent again then,
   * when the application protocol cannot have changed (no `alpn`, or one protocol, which the
   * server chose); otherwise the connection fails with `HANDSHAKE_INCOMPATIBLE`, saying how many
   * bytes were not sent (the server may now speak another protocol than the one they were
   * written for). `info.earlyData` / `info.earlyDataRejected` say which. Early data can be replayed by an
   * attacker: send only requests that may safely arrive twice (a GET, a read-only query).
   */
  earlyData?: Uint8Array | string;
  /**
   * A session to resume (bytes an earlier connection's `session` event gave). It is offered only
   * to the server name it came from, under the same CAs, pins, CRLs and client certificate, and
   * only before it expires; otherwise the handshake is a full one (`info.resumed` says which).
   * Bytes that are not a session are a `CONFIG` error. Offer each session once: a ticket used
   * twice links the two connections.
   *
   * ```ts
   * const tls = await connect({ ..., session: await env.KV.get(`tls:${host}`, "arrayBuffer").then((b) => b && new Uint8Array(b)) });
   * ```
   */
  session?: Uint8Array;
  /**
   * Keep the writing side open after the peer's close_notify ends `readable` (default `false`, as
   * for WinterTC / Cloudflare sockets and Node's `tls`: tlswire answers with its own close_notify
   * and closes the channel).
   */
  allowHalfOpen?: boolean;
  /**
   * Ends the connection when it aborts, during the handshake or after it (as Node's `signal`): the
   * handshake (`connect()`) or the connection (`closed`, reads, writes) fails with `CHANNEL_ERROR`
   * (the signal's reason as `cause`), nothing more is sent and the channel is closed. A signal
   * aborted already refuses at once.
   *
   * ```ts
   * const tls = await connect({ ..., signal: AbortSignal.timeout(10_000) }); // a handshake deadline
   * ```
   */
  signal?: AbortSignal;
}

/** The client settings: given per connection to {@link connect}, or once to {@link createContext}. */
export interface ContextOptions {
  /** ALPN protocols in preference order, e.g. `["h2", "http/1.1"]`. */
  alpn?: string[];
  /**
   * Trusted CAs: PEM text, DER bytes, the bundled Mozilla roots (`import roots from "tlswire/roots"`),
   * or an array of these. Required unless verification is disabled: the package trusts nothing by
   * default.
   */
  ca?: CaSource | CaSource[];
  /**
   * Certificate revocation lists (PEM text or DER bytes): the server's certificate is checked
   * against them, as OpenSSL's `-crl_check`. Revoked: `CERT_REVOKED`; an issuer with no CRL here:
   * `CERT_REVOCATION_UNKNOWN`.
   *
   * ```ts
   * const tls = await connect({ transport, serverName: "db.internal", ca: caPem, crls: [crlPem] });
   * ```
   */
  crls?: string | Uint8Array | (string | Uint8Array)[];
  /** Base64 SHA-256 hashes of acceptable SubjectPublicKeyInfos (in addition to CA verification). */
  pins?: string[];
  /** Client certificate chain (PEM) for client authentication, with {@link privateKey}. */
  certificate?: string;
  /** Private key (PEM) for {@link certificate}. */
  privateKey?: string;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Key exchange groups by OpenSSL name: X25519MLKEM768, X25519, P-256, P-384, P-521. */
  groups?: string[];
  /**
   * Signature schemes by IANA name in preference order (OpenSSL's `-sigalgs`), e.g.
   * `["ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"]`: the ones accepted from the server (and
   * advertised), and the order this client signs in with a client certificate. Default: all of
   * tlswire's.
   */
  signatureSchemes?: string[];
  /** At most this many bytes of data per record sent, 64 to 16384 (OpenSSL's `-max_send_frag`). */
  maxSendFragment?: number;
  /** Let connections from this context send `earlyData` (implied when `earlyData` is given to `connect()` without a context). */
  allowEarlyData?: boolean;
  /**
   * How many server names' sessions a context keeps in memory for its connections to resume
   * (default 256; 0: none; at most 20480, more is a `CONFIG` error). Sessions kept with
   * `onSession` and `session` do not need it.
   */
  sessionCache?: number;
  /**
   * Encrypted Client Hello (RFC 9849): the server's ECHConfigList, as bytes or base64 (the `ech=`
   * of its DNS HTTPS record). The server name, ALPN and the rest of the ClientHello go encrypted
   * to the server's key; only the list's public name is in the clear. TLS 1.3 only. A server that
   * does not take it fails the connection with `ECH_REJECTED`, whose `retryConfigs` (if the
   * server sent them) is the list to connect with instead. `info.ech` says `"accepted"`.
   */
  echConfigList?: Uint8Array | string;
  /** Send a GREASE ECH extension (hides nothing; keeps ECH deployable). TLS 1.3 only. */
  echGrease?: boolean;
  /** **Dangerous**: accept any certificate for any name. Anyone on the path can read and change the traffic. */
  dangerouslyDisableVerification?: boolean;
}

/**
 * Client settings parsed and built once (OpenSSL's `SSL_CTX`): CAs, pins, ALPN, client
 * certificate and key, versions, groups. Parsing a client key is most of a handshake's CPU time,
 * so a server or worker making many connections builds one context and passes it to each.
 *
 * ```ts
 * let context: Promise<TlsContext> | undefined; // one per isolate
 * context ??= createContext({ ca: env.CA, certificate: env.CERT, privateKey: env.KEY });
 * const tls = await startTls(socket, { serverName: "db.internal", context });
 * ```
 * @throws {TlsError} `CONFIG` for settings that do not parse.
 */
export function createContext(options: ContextOptions): Promise<TlsContext>;

/** Built client settings, from {@link createContext}. */
export class TlsContext {
  /** Frees the settings; connections already made with them keep working. */
  free(): void;
  [Symbol.dispose](): void;
}

/** Connection facts after the handshake. */
export interface TlsInfo {
  version: "TLSv1.2" | "TLSv1.3";
  /** IANA name, e.g. `TLS_AES_128_GCM_SHA256`. */
  cipherSuite: string;
  /** e.g. `X25519MLKEM768`, `X25519`, `secp256r1`. */
  group: string | null;
  alpn: string | null;
  /** The server's chain, DER, leaf first. */
  peerCertificates: Uint8Array[];
  /** The server certificate's subject, RFC 4514 (e.g. `CN=db.internal,O=Example`). */
  peerSubject: string | null;
  helloRetryRequest: boolean;
  /** Whether the session was resumed (a ticket or session ID the server accepted). */
  resumed: boolean;
  /**
   * The OCSP response the server stapled to its certificate (DER), as received, or `null`
   * (none stapled, or a resumed session). Not checked by tlswire: give it to an OCSP library
   * if you rely on it.
   */
  ocspResponse: Uint8Array | null;
  /** The scheme of this client's handshake signature (with a client certificate), e.g. `ecdsa_secp256r1_sha256`; else `null`. */
  signatureScheme: string | null;
  /** The scheme of the server's handshake signature, e.g. `rsa_pss_rsae_sha256`; `null` on a resumed session. */
  peerSignatureScheme: string | null;
  /** Bytes of `earlyData` the server accepted as 0-RTT data. */
  earlyData: number;
  /** Bytes of `earlyData` the server refused (tlswire sent them again right after the handshake, the application protocol being unchanged). */
  earlyDataRejected: number;
  /** Whether the ClientHello was encrypted (`echConfigList`) or carried GREASE ECH (`echGrease`). */
  ech: "none" | "grease" | "accepted";
  /**
   * The peer's record_size_limit (RFC 8449), or null if it sent none: the largest record it takes
   * (in TLS 1.3 counting the content type byte). tlswire's records to it are no larger.
   */
  peerRecordSizeLimit: number | null;
  /** A server's: which of its certificates it presented (0: `certificate`, then `moreCertificates`); else `null`. */
  certificate: number | null;
}

/**
 * Connects over `options.transport` and completes the handshake.
 *
 * ```ts
 * const tls = await connect({ transport: { readable, writable }, serverName: "mail.example", alpn: ["imap"] });
 * ```
 * @throws {TlsError} with a stable `code` (README table) when the handshake fails.
 */
export function connect(options: ConnectOptions): Promise<TlsConnection>;

/** Options for {@link startTls}: {@link ConnectOptions} without `transport`. */
export interface StartTlsOptions extends Omit<ConnectOptions, "transport" | "serverName"> {
  /** The server's name: sent as SNI and checked against its certificate. */
  serverName?: string;
  /** The same as {@link serverName}, under the name Cloudflare's `socket.startTls()` uses. */
  expectedServerHostname?: string;
}

/**
 * TLS on an open Cloudflare Workers `Socket` (opened with `secureTransport: "off"`) or any
 * {readable, writable} pair, with what the platform's own TLS lacks: private CAs, client
 * certificates, ALPN, pins, the peer's certificate and the handshake trace. Resolves after the
 * handshake to a connection shaped like a `Socket` (`readable`, `writable`, `opened`, `closed`,
 * `close()`), so code written for `connect()` sockets works with it.
 *
 * ```ts
 * import { connect } from "cloudflare:sockets";
 * import { startTls } from "tlswire";
 * const socket = connect("db.internal:5432", { secureTransport: "off" });
 * const tls = await startTls(socket, { serverName: "db.internal", ca: env.DB_CA, certificate: env.CERT, privateKey: env.KEY });
 * const writer = tls.writable.getWriter();
 * ```
 * @throws {TlsError} with a stable `code` when the handshake fails.
 */
export function startTls(socket: Transport & { opened?: Promise<unknown> }, options: StartTlsOptions): Promise<TlsConnection>;

/**
 * Instantiates the wasm engine. Runs by itself on the first connection, from the engine file next
 * to the package (read from disk in Node, fetched by URL in browsers and bundles). Call it first
 * where that URL does not work, with the engine as a compiled module, bytes, a URL or a response.
 * The package's `workerd` entry (Cloudflare Workers) already does, with the engine imported as a
 * wasm module. Later calls return the first call's promise.
 *
 * ```ts
 * import engine from "tlswire/engine.wasm"; // however the platform imports wasm
 * await initWasm(engine);
 * ```
 */
export function initWasm(source?: WebAssembly.Module | BufferSource | URL | string | Response | Promise<Response>): Promise<void>;

/**
 * The engine's memory: the size of the linear memory every connection in this realm shares (it
 * grows, never shrinks); `null` before the engine is instantiated.
 *
 * ```ts
 * console.log(memoryUsage()?.wasmBytes);
 * ```
 */
export function memoryUsage(): { wasmBytes: number } | null;

/**
 * Which of the platform's own ciphers the engine uses for bulk data: `"node:crypto"` (Node, Deno,
 * Bun: records of 1 KiB and more are encrypted and decrypted by the runtime's AES-GCM and
 * ChaCha20-Poly1305), `"webcrypto"` (browsers, Workers: received AES-GCM records are decrypted by
 * WebCrypto), or `null` (the engine's own ciphers, in wasm; also before the engine is
 * instantiated). The engine checks every record either way: errors, alerts and message events
 * are the same. `platformCrypto(false)` makes connections opened from then on use only the
 * engine's own ciphers; `platformCrypto(true)` undoes it.
 */
export function platformCrypto(enabled?: boolean): "node:crypto" | "webcrypto" | null;

/**
 * An established TLS connection. Also an `EventTarget` of `message` events when
 * `onMessage` was given. Its engine is freed when the connection ends (`close()`, a fatal error,
 * or close_notify both ways).
 *
 * ```ts
 * for await (const chunk of tls) process(chunk);
 * ```
 */
export class TlsConnection extends EventTarget {
  /** Decrypted bytes from the peer; ends at the peer's close_notify. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to encrypt and send. Closing it sends close_notify and half-closes: reading goes on. */
  readonly writable: WritableStream<Uint8Array | string>;
  /**
   * Resolves after the handshake with the channel's own `opened` value (a Cloudflare Socket's
   * `{remoteAddress, localAddress}`), or `{}` if it has none.
   */
  readonly opened: Promise<{ remoteAddress?: string; localAddress?: string }>;
  /** Resolves on a clean close; rejects with the {@link TlsError} that ended the connection. */
  readonly closed: Promise<void>;
  readonly info: TlsInfo;
  /**
   * Keying material for `label` and, if given, `context` (RFC 5705 / RFC 8446 section 7.5; what
   * `SSL_export_keying_material` and Node's `exportKeyingMaterial` compute): `length` bytes both
   * ends derive alike. After the handshake, until the connection closes; otherwise throws a
   * `TlsError` with code `MISUSE`, as it does for more than 16384 bytes (TLS 1.3 gives at most
   * 255 hash lengths: 8160 or 12240). In TLS 1.2 no context and an empty one differ.
   */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array | string): Uint8Array;
  /**
   * Sends a TLS 1.3 KeyUpdate: this side's keys change, and with `requestPeer` (default `true`)
   * the peer is asked to change its own. `MISUSE` on TLS 1.2, before the handshake, after close,
   * and with `requestPeer: false` (rustls 0.23 always asks the peer).
   */
  keyUpdate(requestPeer?: boolean): Promise<void>;
  /** Sends all of `data`; resolves when its records are handed to the channel. */
  write(data: Uint8Array | string): Promise<void>;
  /** The next chunk of plaintext, or `null` at close_notify. A channel that ends without it rejects with `TRUNCATED`. */
  read(): Promise<Uint8Array | null>;
  /**
   * Closes both directions, like a Cloudflare Socket's `close()`: sends close_notify, closes the
   * channel and ends {@link readable}.
   */
  close(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  [Symbol.asyncDispose](): Promise<void>;
  addEventListener(type: "message", listener: (event: TlsMessageEvent) => void, options?: AddEventListenerOptions | boolean): void;
  addEventListener(type: "keylog", listener: (event: TlsKeylogEvent) => void, options?: AddEventListenerOptions | boolean): void;
  addEventListener(type: "session", listener: (event: TlsSessionEvent) => void, options?: AddEventListenerOptions | boolean): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void;
}

/**
 * One protocol message (the `SSL_CTX_set_msg_callback` equivalent).
 *
 * ```ts
 * await connect({ ..., onMessage: (e) => console.log(formatMessage(e)) });
 * ```
 */
export class TlsMessageEvent extends Event {
  readonly direction: "sent" | "received";
  /** Version label, e.g. 0x0304 for TLS 1.3. */
  readonly version: number;
  /** 20 CCS, 21 alert, 22 handshake, 256 record header, 257 inner content type. */
  readonly contentType: number;
  /** A copy of the message bytes, valid after the handler returns. */
  readonly bytes: Uint8Array;
  readonly handshakeType?: number;
  readonly alert?: { level: number; description: number };
}

/**
 * One key log line (Node's `keylog` event): `LABEL <client random> <secret>` in hex, without the
 * newline. Only with `onKeylog`.
 *
 * ```ts
 * await connect({ ..., onKeylog: (e) => appendFileSync("keys.log", e.line + "\n") });
 * ```
 */
export class TlsKeylogEvent extends Event {
  readonly line: string;
}

/**
 * A session the server gave (Node's `session` event), to keep and pass as `session` to a later
 * `connect()`. Only with `onSession`; the bytes hold the session's secret.
 */
export class TlsSessionEvent extends Event {
  readonly session: Uint8Array;
}

/**
 * The `openssl s_client -msg` text for a message event.
 *
 * ```ts
 * onMessage: (e) => trace.push(formatMessage(e))
 * ```
 */
export function formatMessage(event: TlsMessageEvent): string;

/**
 * Every failure: `code` is stable (CERT_UNKNOWN_ISSUER, CERT_HOSTNAME_MISMATCH, CERT_EXPIRED,
 * CERT_PIN_MISMATCH, ALERT_RECEIVED, PROTOCOL_VIOLATION, TRUNCATED, CHANNEL_ERROR, MISUSE, ...).
 *
 * ```ts
 * try { await connect(opts); } catch (e) { if (e instanceof TlsError && e.code === "CERT_EXPIRED") ...; }
 * ```
 */
export class TlsError extends Error {
  readonly name: "TlsError";
  readonly code: string;
  /** For ALERT_RECEIVED: the alert's name, e.g. `certificate_required`. */
  readonly alert?: string;
  /** The alert tlswire sent, e.g. `unknown_ca`. */
  readonly alertSent?: string;
  /** For ECH_REJECTED: the ECHConfigList the server sent to retry with, if it sent one. */
  readonly retryConfigs?: Uint8Array;
  /** For CHANNEL_ERROR from {@link wisp}: the Wisp CLOSE reason (e.g. 0x42 unreachable, 0x44 refused). */
  readonly wispReason?: number;
  /**
   * For CHANNEL_ERROR: `true` when the wasm engine trapped (a panic, out of memory). Every
   * connection of that engine instance fails with this one error; later connections and
   * contexts get a fresh instance (contexts made before are refused with `MISUSE`).
   */
  readonly engineFailed?: true;
  /** What caused it: the AbortSignal's reason, the engine's `WebAssembly.RuntimeError`, a socket's error. */
  readonly cause?: unknown;
}

/** Options of {@link webSocket} and {@link wisp}. */
export interface ReceiveOptions {
  /**
   * Bytes received and not read yet past which the channel fails with `CHANNEL_ERROR` (and is
   * closed); what came before is read first. Default 16 MiB; `Infinity`: no cap. A WebSocket
   * has no backpressure of its own: where it can pause (Node's `ws` package) `webSocket()` stops
   * reading while 64 KiB wait unread, and the cap is not reached; the platform's WebSocket
   * (browsers, Deno, Bun, Workers) cannot. Wisp v1 streams share one WebSocket and have no flow
   * control toward the client: each stream has this cap. Each message counts as its bytes plus
   * 256 (what holding it costs), so a flood of tiny messages meets the cap too; empty ones are
   * dropped.
   */
  maxQueuedBytes?: number;
}

/**
 * A websockify-style WebSocket→TCP bridge as a transport (one WebSocket = one TCP connection).
 * What the peer sends waits for the application to read it, within `options.maxQueuedBytes`.
 *
 * ```ts
 * const tls = await connect({ transport: webSocket("wss://bridge.example/?target=db:5432"), serverName: "db", ca: caPem });
 * ```
 */
export function webSocket(target: string | URL | WebSocket, protocols?: string | string[], options?: ReceiveOptions): Transport & { opened: Promise<void> };
export function webSocket(target: string | URL | WebSocket, options?: ReceiveOptions): Transport & { opened: Promise<void> };

/**
 * A bidirectional stream of a WebTransport session as a transport.
 *
 * ```ts
 * const tls = await connect({ transport: webTransport(new WebTransport(url)), serverName: "db", ca: caPem });
 * ```
 */
export function webTransport(session: WebTransport): Promise<Transport>;

/**
 * A TCP stream to `host:port` through a Wisp server (many streams over one WebSocket; streams to
 * the same server URL share it). Wisp v1 with its flow control; a refused or unreachable target
 * rejects with `CHANNEL_ERROR` and {@link TlsError.wispReason}.
 *
 * ```ts
 * import roots from "tlswire/roots";
 * const tls = await connect({ transport: wisp("wss://wisp.example/", "imap.example.com", 993), serverName: "imap.example.com", ca: roots });
 * ```
 */
export function wisp(
  url: string | URL,
  host: string,
  port: number,
  options?: { WebSocket?: typeof WebSocket } & ReceiveOptions,
): Promise<Transport>;

/** A server's settings: given per connection to {@link accept}, or once to {@link createServerContext}. */
export interface ServerContextOptions {
  /** The server's certificate chain, PEM, leaf first. */
  certificate: string | Uint8Array;
  /** Its private key, PEM (PKCS#8, SEC1 or PKCS#1). */
  privateKey: string | Uint8Array;
  /**
   * More certificates (an RSA one beside an ECDSA one, one per host name): per client, the one
   * valid for the name it asked for whose key makes a signature it accepts, `certificate` first.
   * A client that names none of them gets `certificate` or one valid for its names.
   */
  moreCertificates?: { certificate: string | Uint8Array; privateKey: string | Uint8Array; ocspResponse?: Uint8Array }[];
  /** Ask clients for a certificate: `"required"` refuses those without one (`CERT_MISSING`). Needs {@link ca}. */
  requestCert?: "optional" | "required";
  /**
   * **Dangerous**: with `requestCert`, accept client certificates from any issuer, valid or not
   * (only the client's handshake signature with the certificate's key is checked), for
   * self-signed device certificates that `checkClientCertificate` judges. Without that hook every
   * client with a certificate is let in. Needs `requestCert` (else `CONFIG`).
   */
  dangerouslyAcceptAnyClientCertificate?: boolean;
  /** The CAs client certificates must chain to (PEM). */
  ca?: string | Uint8Array | (string | Uint8Array)[];
  /** CRLs client certificates are checked against. */
  crls?: string | Uint8Array | (string | Uint8Array)[];
  /** ALPN protocols the server accepts, in preference order. */
  alpn?: string[];
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  groups?: string[];
  signatureSchemes?: string[];
  maxSendFragment?: number;
  /** A DER OCSP response for `certificate`, stapled for clients that ask. */
  ocspResponse?: Uint8Array;
  /** Stateless session tickets under a key rotated every 6 hours (default `true`). */
  statelessTickets?: boolean;
  /** Sessions kept in memory (default 256; 0: none; at most 20480, more is a `CONFIG` error). */
  sessionCache?: number;
  /** TLS 1.3 tickets sent after each handshake (default 2; at most 16, more is a `CONFIG` error). */
  tickets?: number;
  /**
   * Accept up to this many bytes of 0-RTT early data from resuming clients (default 0: none).
   * Early data can be replayed; sessions are then single use. It comes first in `read()`.
   */
  maxEarlyData?: number;
}

/** Options for {@link accept}. */
export interface AcceptOptions extends Partial<ServerContextOptions> {
  /** The channel to the client (a Node socket through `Duplex.toWeb`, a Workers socket, ...). */
  transport: Transport | Promise<Transport>;
  /** Settings built once by {@link createServerContext} (then the settings above are not given). */
  context?: TlsServerContext | Promise<TlsServerContext>;
  /**
   * Judges the client's certificate chain (DER, leaf first) during the handshake, after the CA
   * check (or instead of it, with `dangerouslyAcceptAnyClientCertificate`): return nothing to
   * accept, an `Error` (or throw) to refuse with `CERT_REJECTED` and certificate_unknown. A client
   * that resumes with a ticket is judged by the chain stored with the ticket, before any of its
   * data (early data included) is read: a device refused today cannot come back with yesterday's
   * ticket. Needs `requestCert` (else `MISUSE`: no certificate would be asked for and every
   * client let in); with `requestCert: "optional"` a client that sends no certificate is let in
   * without calling the hook (check `info.peerCertificates` if that matters).
   */
  checkClientCertificate?: (certificates: Uint8Array[]) => Error | undefined | void;
  onMessage?: (event: TlsMessageEvent) => void;
  onKeylog?: (event: TlsKeylogEvent) => void;
  allowHalfOpen?: boolean;
  /**
   * Milliseconds the client has to complete its handshake, from `accept()`'s call (default
   * 120000, Node's `handshakeTimeout`; `0`: none). A client that sends nothing, or part of a
   * ClientHello, is dropped then: `accept()` rejects with `CHANNEL_ERROR` and the channel is
   * closed.
   *
   * ```ts
   * const tls = await accept({ transport, context, handshakeTimeout: 10_000 });
   * ```
   */
  handshakeTimeout?: number;
  /** As {@link ConnectOptions.signal}: aborting ends the handshake or the connection. */
  signal?: AbortSignal;
}

/** Built server settings, from {@link createServerContext}: shared session cache and ticket key. */
export class TlsServerContext {
  free(): void;
  [Symbol.dispose](): void;
}

/** Builds server settings once, for any number of {@link accept} calls. */
export function createServerContext(options: ServerContextOptions): Promise<TlsServerContext>;

/**
 * Instantiates the server's engine (`accept()` and `createServerContext()` load it on first use,
 * next to the package's files): the client's engine (what `connect()` loads) leaves rustls's
 * server out, so a browser's download is smaller. Call it first where there is no such URL — in
 * Cloudflare Workers, with the compiled module: `import serverWasm from
 * "tlswire/server-engine.wasm"; await initServerWasm(serverWasm)`.
 */
export function initServerWasm(source?: WebAssembly.Module | BufferSource | URL | string | Response | Promise<Response>): Promise<void>;

/**
 * The server's side of a TLS connection over `options.transport`: resolves once the handshake is
 * done, with a connection whose `info.peerCertificates` are the client's.
 *
 * ```ts
 * net.createServer(async (socket) => {
 *   const tls = await accept({ transport: Duplex.toWeb(socket), certificate, privateKey });
 *   for await (const chunk of tls) await tls.write(chunk);
 * });
 * ```
 * @throws {TlsError} with a stable `code` when the handshake fails.
 */
export function accept(options: AcceptOptions): Promise<TlsConnection>;
