// Client settings built once (the SSL_CTX) and shared by connections.

import { Config } from "../dist/wasm/tlswire.js";
import { callEngine, clientEngine, initWasm, usePlatform } from "./engine.js";
import { TlsError } from "./errors.js";

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
/** Text as UTF-8 bytes; bytes as they are. */
export const asBytes = (v) => (typeof v === "string" ? new TextEncoder().encode(v) : v);

// The options that configure the client rather than one connection (they make a TlsContext).
export const CONTEXT_OPTIONS = ["ca", "crls", "pins", "alpn", "certificate", "privateKey", "minVersion", "maxVersion", "groups", "maxSendFragment", "sessionCache", "signatureSchemes", "allowEarlyData", "echConfigList", "echGrease", "dangerouslyDisableVerification"];
export const contexts = new WeakMap(); // TlsContext → {built: the engine's Context, generation}

/** Parses and builds client settings into the engine's Context (the caller frees it). */
export function buildContext(options) {
  return callEngine(clientEngine, () => buildClient(options));
}

function buildClient(options) {
  const config = new Config();
  let trapped = false;
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
    trapped = e instanceof WebAssembly.RuntimeError; // callEngine's to report
    throw trapped ? e : TlsError.from(e);
  } finally {
    // Not after a trap: the object belongs to the instance the trap ended.
    if (!trapped) config.free();
  }
}

/**
 * The built Context of a live TlsContext, or `null` (freed, not from createContext(), or built by
 * an engine instance a trap has since replaced). @internal
 */
export function builtContext(context) {
  const entry = contexts.get(context);
  return entry && entry.generation === clientEngine.generation ? entry.built : null;
}

/**
 * Client settings parsed and built once, for any number of connections: OpenSSL's `SSL_CTX`.
 * Made by {@link createContext}; pass it as `options.context`.
 */
export class TlsContext {
  /** Frees the built settings. Connections already made with them keep working. */
  free() {
    // An engine instance a trap replaced is gone, and what it built with it.
    builtContext(this)?.free();
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
  contexts.set(context, { built: buildContext(options), generation: clientEngine.generation });
  return context;
}
