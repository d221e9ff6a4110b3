// Types of `tlswire/sockets`: Cloudflare Workers' `connect()` (`cloudflare:sockets`) with TLS done
// by tlswire. Give it to your bundler as the alias of `cloudflare:sockets`.

import type { ConnectOptions, Transport } from "./index.js";

export interface SocketAddress {
  hostname: string;
  port: number;
}

export interface SocketOptions {
  /** `"off"` (default), `"on"` (TLS at once, by tlswire) or `"starttls"` (TLS on `startTls()`). */
  secureTransport?: "off" | "on" | "starttls";
  allowHalfOpen?: boolean;
}

/** What `startTls()` takes: Cloudflare's name, or Node's `tls` options as pg passes its `ssl` settings. */
export interface StartTlsOptions {
  expectedServerHostname?: string;
  servername?: string;
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  cert?: string | Uint8Array | Array<string | Uint8Array>;
  key?: string | Uint8Array | Array<string | Uint8Array>;
  /** `false`: no certificate or host name verification. Dangerous. */
  rejectUnauthorized?: boolean;
}

/** A Cloudflare `Socket`. */
export interface Socket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<{ remoteAddress?: string; localAddress?: string }>;
  readonly closed: Promise<void>;
  readonly upgraded: boolean;
  readonly secureTransport: "off" | "on" | "starttls";
  close(): Promise<void>;
  /** TLS by tlswire on this socket (opened with `secureTransport: "starttls"`); the new socket at once. */
  startTls(options?: StartTlsOptions): Socket;
}

/** `cloudflare:sockets`' `connect()`: the platform's TCP (or {@link setTransport}'s channel), tlswire's TLS. */
export function connect(address: string | SocketAddress, options?: SocketOptions): Socket;

/** TLS settings `startTls()` is not given: tlswire's `connect()` options (`ca`, `certificate`, `privateKey`, ...). */
export function setTlsDefaults(options?: Omit<ConnectOptions, "transport" | "serverName"> & { serverName?: string }): void;

/** Where there is no `cloudflare:sockets`: the channel to `hostname:port` (e.g. tlswire/wisp's `wisp(url, hostname, port)`); `null` for the platform's. */
export function setTransport(factory: ((hostname: string, port: number) => Transport | Promise<Transport>) | null): void;
