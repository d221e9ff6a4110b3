// Client settings built once (the SSL_CTX) and shared by connections.

import { Config } from "../dist/wasm/tlswire.js";
import { initWasm, usePlatform } from "./engine.js";
import { TlsError } from "./errors.js";

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
/** Text as UTF-8 bytes; bytes as they are. */
export const asBytes = (v) => (typeof v === "string" ? new TextEncoder().encode(v) : v);

// The options that configure the client rather than one connection (they make a TlsContext).
export const CONTEXT_OPTIONS = ["ca", "crls", "pins", "alpn", "certificate", "privateKey", "minVersion", "maxVersion", "groups", "maxSendFragment", "sessionCache", "signatureSchemes", "allowEarlyData", "echConfigList", "echGrease", "dangerouslyDisableVerification"];
export const contexts = new WeakMap(); // TlsContext → the engine's built Context

/** Parses and builds client settings into the engine's Context (the caller frees it). */
export function buildContext(options) {
  const config = new Config();
  try {
    for (const ca of [options.ca ?? []].flat()) {
      if (typeof ca?.trustAnchors === "string") config.addTrustAnchors(fromBase64(ca.trustAnchors));
      else config.addCa(asBytes(ca));
    }
    for (const crl of [options.crls ?? []].flat()) config.addCrl(asBytes(crl));
    for (const pin of [options.pins ?? []].flat()) config.addPin(fromBase64(pin));
    if (options.alpn) config.alpn(options.alpn);
    if (options.certificate || options.privateKey) config.clientAuth(asBytes(options.certificate ?? ""), asBytes(options.privateKey ?? ""));
    if (options.minVersion || options.maxVersion) config.versions(options.minVersion ?? "TLSv1.2", options.maxVersion ?? "TLSv1.3");
    if (options.groups) config.groups(options.groups);
    if (options.signatureSchemes) config.signatureSchemes(options.signatureSchemes);
    // Early data needs the context's permission; `earlyData` given to connect() asks for it.
    if (options.allowEarlyData || options.earlyData !== undefined) config.earlyData(true);
    if (options.maxSendFragment !== undefined) config.maxSendFragment(options.maxSendFragment);
    if (options.sessionCache !== undefined) {
      if (!Number.isInteger(options.sessionCache) || options.sessionCache < 0) throw new TlsError("CONFIG", "sessionCache must be a whole number of sessions (0: none)");
      config.sessionCache(options.sessionCache);
    }
    // An ECHConfigList as bytes, or base64 as in a DNS HTTPS record's `ech=`.
    if (options.echConfigList !== undefined) config.echConfigList(typeof options.echConfigList === "string" ? fromBase64(options.echConfigList) : options.echConfigList);
    if (options.echGrease) config.echGrease(true);
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
  usePlatform();
  const context = new TlsContext();
  contexts.set(context, buildContext(options));
  return context;
}
