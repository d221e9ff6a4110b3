// TLS servers: `accept()` does the server's handshake over any {readable, writable} channel (a
// Node socket through `fromNodeSocket`, a Workers socket, a WebSocket from a bridge) and gives
// the same TlsConnection a client gets. Every TLS decision is the engine's.

import { asBytes } from "./context.js";
import { addEngine, callEngine, initWasm, instantiate, usePlatform } from "./engine.js";
import { TlsError } from "./errors.js";
import { openConnection } from "./connection.js";

let serverReady;
let glue; // the server engine's wasm-bindgen module, imported by initServerWasm: nothing of the
// server is downloaded or compiled until accept() or createServerContext() is first called
let serverEngine; // its record in engine.js (generation, live connections)

/**
 * Instantiates the server's engine (dist/wasm-server: the client's engine plus rustls's server),
 * which {@link accept} and {@link createServerContext} load on first use, next to this file;
 * call it first where there is no such URL (Cloudflare Workers: `import serverWasm from
 * "tlswire/server-engine.wasm"`), with a compiled `WebAssembly.Module`, the bytes, a URL or a
 * `Response`. Later calls return the first call's promise.
 */
export function initServerWasm(source) {
  serverReady ??= (async () => {
    await initWasm();
    const module = await import("../dist/wasm-server/tlswire.js");
    const exports = await instantiate(module.default, module.initSync, () => new URL("../dist/wasm-server/tlswire_bg.wasm", import.meta.url), source);
    serverEngine = addEngine(module, exports.memory);
    glue = module;
  })();
  return serverReady;
}

// The options that configure the server rather than one connection (they make a TlsServerContext).
export const SERVER_CONTEXT_OPTIONS = ["certificate", "privateKey", "moreCertificates", "requestCert", "dangerouslyAcceptAnyClientCertificate", "ca", "crls", "alpn", "minVersion", "maxVersion", "groups", "signatureSchemes", "maxSendFragment", "ocspResponse", "statelessTickets", "sessionCache", "tickets", "maxEarlyData"];
const serverContexts = new WeakMap(); // TlsServerContext → {built: the engine's ServerContext, generation}

/** The built ServerContext of a live TlsServerContext (of the engine's current instance), or `null`. */
function builtServerContext(context) {
  const entry = serverContexts.get(context);
  return entry && entry.generation === serverEngine.generation ? entry.built : null;
}

/** Parses and builds server settings into the engine's ServerContext (the caller frees it). */
function buildServerContext(options) {
  return callEngine(serverEngine, () => buildServer(options));
}

function buildServer(options) {
  if (options.certificate === undefined || options.privateKey === undefined) {
    throw new TlsError("CONFIG", "a server needs options.certificate and options.privateKey (PEM)");
  }
  let config;
  let trapped = false;
  try {
    config = new glue.ServerConfig(asBytes(options.certificate), asBytes(options.privateKey));
    for (const more of options.moreCertificates ?? []) {
      config.addCertificate(asBytes(more.certificate), asBytes(more.privateKey), more.ocspResponse && asBytes(more.ocspResponse));
    }
    if (options.dangerouslyAcceptAnyClientCertificate && !options.requestCert) {
      // Without requestCert no certificate is asked for: every client is let in, which is
      // certainly not what an app that set this meant.
      throw new TlsError("CONFIG", "options.dangerouslyAcceptAnyClientCertificate needs options.requestCert (\"optional\" or \"required\")");
    }
    if (options.requestCert) {
      if (options.requestCert !== "optional" && options.requestCert !== "required") throw new TlsError("CONFIG", 'options.requestCert is "optional" or "required"');
      if (options.dangerouslyAcceptAnyClientCertificate) {
        config.dangerouslyAcceptAnyClientCertificate(options.requestCert === "required");
      } else {
        if (options.ca === undefined) throw new TlsError("CONFIG", "options.requestCert needs options.ca: the CAs client certificates must chain to");
        const cas = [options.ca].flat().map((ca) => (typeof ca === "string" ? ca : new TextDecoder().decode(ca))).join("\n");
        config.clientAuth(options.requestCert === "required", asBytes(cas));
      }
    }
    for (const crl of [options.crls ?? []].flat()) config.addCrl(asBytes(crl));
    if (options.alpn) config.alpn(options.alpn);
    if (options.minVersion || options.maxVersion) config.versions(options.minVersion ?? "TLSv1.2", options.maxVersion ?? "TLSv1.3");
    if (options.groups) config.groups(options.groups);
    if (options.signatureSchemes) config.signatureSchemes(options.signatureSchemes);
    if (options.maxSendFragment !== undefined) config.maxSendFragment(options.maxSendFragment);
    if (options.ocspResponse !== undefined) config.ocspResponse(asBytes(options.ocspResponse));
    if (options.statelessTickets !== undefined) config.statelessTickets(options.statelessTickets !== false);
    if (options.sessionCache !== undefined) config.sessionCache(options.sessionCache);
    if (options.tickets !== undefined) config.tickets(options.tickets);
    if (options.maxEarlyData !== undefined) config.maxEarlyData(options.maxEarlyData);
    return config.build();
  } catch (e) {
    trapped = e instanceof WebAssembly.RuntimeError; // callEngine's to report
    throw trapped ? e : TlsError.from(e);
  } finally {
    // Not after a trap: the object belongs to the instance the trap ended.
    if (!trapped) config?.free();
  }
}

/**
 * Server settings parsed and built once (the server's `SSL_CTX`): certificates and keys, client
 * certificate CAs, ALPN, tickets. Made by {@link createServerContext}; pass it as
 * `options.context` to {@link accept}. Connections share its session cache and ticket key.
 */
export class TlsServerContext {
  /** Frees the built settings. Connections already made with them keep working. */
  free() {
    // An engine instance a trap replaced is gone, and what it built with it.
    builtServerContext(this)?.free();
    serverContexts.delete(this);
  }

  [Symbol.dispose]() {
    this.free();
  }
}

/** Builds server settings once, for any number of {@link accept} calls. */
export async function createServerContext(options = {}) {
  await initServerWasm();
  usePlatform();
  const context = new TlsServerContext();
  serverContexts.set(context, { built: buildServerContext(options), generation: serverEngine.generation, requestCert: Boolean(options.requestCert) });
  return context;
}

/**
 * The server's side of a TLS connection over `options.transport`: resolves once the handshake
 * is done, with a {@link TlsConnection} (its `info.peerCertificates` are the client's).
 * @returns {Promise<import("./connection.js").TlsConnection>}
 */
export async function accept(options) {
  const open = (context, observe, offload, keylog, check) => glue.Engine.server(context, observe, offload, keylog, check);
  return openConnection(options, "server", async () => {
    await initServerWasm();
    usePlatform();
    const shared = await options.context;
    // A hook on client certificates with none asked for would never run: every client would be
    // let in, the opposite of what the app meant.
    const asksForCertificates = shared ? serverContexts.get(shared)?.requestCert : Boolean(options.requestCert);
    if (options.checkClientCertificate !== undefined && !asksForCertificates) {
      throw new TlsError("MISUSE", "options.checkClientCertificate needs requestCert (\"optional\" or \"required\"): without it no client certificate is asked for and every client is let in");
    }
    if (!shared) return { context: buildServerContext(options), owned: true, open, engine: serverEngine };
    const misplaced = SERVER_CONTEXT_OPTIONS.find((name) => options[name] !== undefined);
    if (misplaced) throw new TlsError("MISUSE", `options.${misplaced} belongs in createServerContext() when options.context is given`);
    const context = builtServerContext(shared);
    if (!context) throw new TlsError("MISUSE", "options.context is not a live TlsServerContext (freed, not from createServerContext(), or built by an engine that has since failed)");
    return { context, owned: false, open, engine: serverEngine };
  });
}
