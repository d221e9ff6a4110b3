// Types of `tlswire/node`: the part of Node's `tls` module that client libraries use, done by
// tlswire. Give it to your bundler as the alias of `tls` (README: "With your database or broker
// client").

import type { Duplex } from "node:stream";
import type { CaSource, TlsContext, TlsMessageEvent, Transport } from "./index.js";

/** Options of {@link connect}: Node's `tls.connect()` options that tlswire honours, and its own. */
export interface ConnectionOptions {
  /** A connected (or connecting) Node socket or Duplex, e.g. after a STARTTLS exchange, or a {readable, writable} pair. */
  socket?: Duplex | Transport;
  host?: string;
  port?: number;
  /** SNI and the name checked against the certificate (default: `host`, else `"localhost"`). */
  servername?: string;
  /** Trusted CAs (PEM or DER, or tlswire/roots). Default: Mozilla's roots (tlswire/roots), as Node's default. */
  ca?: CaSource | CaSource[];
  /** Certificate revocation lists (PEM or DER), as Node's `crl`: a revoked server certificate fails with `CERT_REVOKED`. */
  crl?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate chain (PEM). */
  cert?: string | Uint8Array | Array<string | Uint8Array>;
  /** Private key (PEM) of `cert`. */
  key?: string | Uint8Array | Array<string | Uint8Array | { pem: string | Uint8Array }>;
  ALPNProtocols?: Array<string | Uint8Array>;
  /** Node's: colon-separated signature schemes, IANA names (`ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256`). */
  sigalgs?: string;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * `false` turns off certificate and host name verification (tlswire's
   * `dangerouslyDisableVerification`), with a `SecurityWarning`. Anyone on the path can read and
   * change the traffic.
   */
  rejectUnauthorized?: boolean;
  allowHalfOpen?: boolean;
  /** tlswire: SPKI pins (base64 SHA-256). */
  pins?: string[];
  /** tlswire: key exchange groups by OpenSSL name. */
  groups?: string[];
  /** tlswire: every protocol message, as `s_client -msg` prints it. */
  onMessage?: (event: TlsMessageEvent) => void;
  /** tlswire: settings built once by `createContext()` (then `ca`, `cert`, `key`, ... are not given). */
  context?: TlsContext | Promise<TlsContext>;
  /**
   * Node's `checkServerIdentity(hostname, cert)` (`cert` as `getPeerCertificate(true)` gives
   * it): return an `Error` to refuse the server. Unlike Node's, it runs after tlswire's own
   * checks, host name included: it can refuse more, not accept what those refused.
   */
  checkServerIdentity?: (hostname: string, cert: DetailedPeerCertificate) => Error | undefined;
  /** Node's: emit `OCSPResponse` with the response the server stapled, if any (not checked). */
  requestOCSP?: boolean;
  /** A session to resume, as a `session` event or `getSession()` gave it (Node's option). */
  session?: Buffer | Uint8Array;
}

/** Node's description of a certificate (`tls.PeerCertificate`), parsed by the runtime's `X509Certificate`. */
export interface PeerCertificate {
  subject: Record<string, string | string[]>;
  issuer: Record<string, string | string[]>;
  subjectaltname?: string;
  valid_from: string;
  valid_to: string;
  serialNumber: string;
  fingerprint: string;
  fingerprint256: string;
  fingerprint512: string;
  ca: boolean;
  raw: Buffer;
}

export interface DetailedPeerCertificate extends PeerCertificate {
  issuerCertificate?: DetailedPeerCertificate;
}

/**
 * A TLS client connection shaped like Node's `tls.TLSSocket`: a Duplex of plaintext. Events as
 * Node's: `secureConnect`, `data`, `end`, `close`, `error`, and `keylog` (a `Buffer` line of the
 * connection's secrets in the SSLKEYLOGFILE format, for a listener attached before the handshake).
 *
 * ```ts
 * const socket = connect({ host: "db.internal", port: 5432, ca });
 * socket.on("keylog", (line) => appendFileSync("keys.log", line));
 * ```
 */
export class TLSSocket extends Duplex {
  on(event: "keylog", listener: (line: Buffer) => void): this;
  /** Node's: each session the server gives, to pass back as the `session` option (it holds the session's secret). */
  on(event: "session", listener: (session: Buffer) => void): this;
  /** Node's: the server's stapled OCSP response (with `requestOCSP`), before `secureConnect`. */
  on(event: "OCSPResponse", listener: (response: Buffer) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  readonly encrypted: true;
  /** Whether the server's certificate was verified (`false` with `rejectUnauthorized: false`). */
  authorized: boolean;
  /** `"VERIFICATION_DISABLED"` when `authorized` is false, else `null`. */
  authorizationError: string | null;
  /** The agreed ALPN protocol, or `false`. */
  alpnProtocol: string | false;
  servername: string | null;
  readonly connecting: boolean;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly remoteFamily?: string;
  readonly localAddress?: string;
  readonly localPort?: number;
  address(): object;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  setTimeout(timeout: number, callback?: () => void): this;
  ref(): this;
  unref(): this;
  getProtocol(): "TLSv1.2" | "TLSv1.3" | null;
  getCipher(): { name: string; standardName: string; version: string } | undefined;
  getEphemeralKeyInfo(): { type?: "ECDH"; name?: string };
  getPeerCertificate(detailed: true): DetailedPeerCertificate | Record<string, never>;
  getPeerCertificate(detailed?: false): PeerCertificate | Record<string, never>;
  /**
   * Keying material for `label` (and `context`, if given): RFC 5705 / RFC 8446 section 7.5, as
   * Node's; at most 16384 bytes (more throws a `TlsError` with code `MISUSE`).
   */
  exportKeyingMaterial(length: number, label: string, context?: Buffer | Uint8Array): Buffer;
  isSessionReused(): boolean;
  /** The newest session the server gave, or `undefined`. */
  getSession(): Buffer | undefined;
}

/** Opens a TLS client connection, as Node's `tls.connect()`; `callback` runs on `secureConnect`. */
export function connect(options: ConnectionOptions, callback?: () => void): TLSSocket;
export function connect(port: number, host?: string, options?: ConnectionOptions, callback?: () => void): TLSSocket;
export function connect(port: number, options?: ConnectionOptions, callback?: () => void): TLSSocket;

/** A Node socket (or Duplex) as a {readable, writable} pair; bytes received before an error are read first. */
export function fromNodeSocket(socket: Duplex): Transport & { close(): void };

export const DEFAULT_MIN_VERSION: "TLSv1.2";
export const DEFAULT_MAX_VERSION: "TLSv1.3";

declare const tls: {
  connect: typeof connect;
  TLSSocket: typeof TLSSocket;
  DEFAULT_MIN_VERSION: "TLSv1.2";
  DEFAULT_MAX_VERSION: "TLSv1.3";
};
export default tls;

