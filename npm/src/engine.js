// The wasm engines: loading them (once per realm), their memory, and the runtime's own ciphers
// they may use. The client's engine (dist/wasm) is what connect() loads; accept() loads a second
// one with the server (dist/wasm-server, server.js), so a client's download leaves the server out.

import init, { __wbg_reset_state, initSync, setPlatformCrypto } from "../dist/wasm/tlswire.js";
import { TlsError } from "./errors.js";

let ready;
let wasmMemory;
let nodeLoader = null; // loads node:crypto, where the runtime has it (nodeCryptoLoader)
let nodePlatform; // node:crypto's ciphers and verifier (nodeCrypto), made on first use: usePlatform()
let platformEnabled = true;
// Every instantiated engine (the client's first): its glue's setPlatformCrypto, initSync and
// __wbg_reset_state, its memory, its generation (how many times a trap replaced its instance) and
// its live connections (what a trap fails).
const engines = [];
/** The client's engine (connect(), createContext()), once {@link initWasm} has resolved. @internal */
export let clientEngine = null;

/**
 * Instantiates the wasm engine. Called on the first connection with the engine next to this file
 * (Node: read from disk; browsers and bundlers: fetched by URL); call it first where there is no
 * such URL, with a compiled `WebAssembly.Module` (Cloudflare Workers' `import wasm from "….wasm"`),
 * the bytes, a URL or a `Response`. Later calls return the first call's promise.
 */
export function initWasm(source) {
  ready ??= (async () => {
    const exports = await instantiate(init, initSync, () => new URL("../dist/wasm/tlswire_bg.wasm", import.meta.url), source);
    nodeLoader = await nodeCryptoLoader();
    wasmMemory = exports.memory;
    clientEngine = { setPlatformCrypto, initSync, reset: __wbg_reset_state, memory: exports.memory, generation: 0, live: new Set() };
    engines.push(clientEngine);
  })();
  return ready;
}

/** Whether `e`, thrown by a call into an engine, is a trap (a panic, out of memory). @internal */
export const isTrap = (e) => e instanceof WebAssembly.RuntimeError;

/**
 * After a trap in `engine` (a panic or an out-of-memory: Rust state may be left half-changed, a
 * borrow held): its instance is replaced by a fresh one for later connections and contexts, and
 * every connection it served fails with one error (returned). @internal
 */
export function engineTrapped(engine, trap) {
  const error = new TlsError("CHANNEL_ERROR", `the TLS engine failed (wasm trap: ${trap?.message ?? trap}): its connections are closed; new connections use a fresh engine`, { cause: trap, engineFailed: true });
  const live = [...engine.live];
  engine.live.clear();
  engine.generation++;
  try {
    engine.reset(); // a new WebAssembly.Instance of the same module; old objects are refused
    engine.memory = engine.initSync().memory;
    if (engine === clientEngine) wasmMemory = engine.memory;
    if (nodePlatform && platformEnabled) engine.setPlatformCrypto(nodePlatform);
  } catch (e) {
    // No fresh instance: every later call into this engine fails (and says why).
    engine.broken = new TlsError("CHANNEL_ERROR", `the TLS engine failed and could not be loaded again: ${e?.message ?? e}`, { cause: e, engineFailed: true });
  }
  for (const connection of live) connection._engineFailed(error);
  return error;
}

/**
 * Runs `fn`, a call into `engine` outside any connection (settings being built): a trap there
 * replaces the engine as {@link engineTrapped} says. @internal
 */
export function callEngine(engine, fn) {
  if (engine?.broken) throw engine.broken;
  try {
    return fn();
  } catch (e) {
    if (isTrap(e) && engine) throw engineTrapped(engine, e);
    throw e;
  }
}

/**
 * Instantiates a wasm-bindgen engine (`init`/`initSync` of its glue) from `source`, or from the
 * URL `where()` gives (Node: read from disk; elsewhere fetched) when there is none: only then, as
 * some platforms (workerd) have no URL for a module. @internal
 */
export async function instantiate(init, initSync, where, source) {
  if (source === undefined) {
    const url = where();
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
  return sync ? initSync({ module: source }) : await init({ module_or_path: source });
}

/**
 * Adds a second engine (the server's, server.js) once the first is loaded: it gets the same
 * platform ciphers, now and when {@link platformCrypto} changes them, and counts in
 * {@link memoryUsage}. @internal
 */
export function addEngine(glue, memory) {
  const engine = { setPlatformCrypto: glue.setPlatformCrypto, initSync: glue.initSync, reset: glue.__wbg_reset_state, memory, generation: 0, live: new Set() };
  engines.push(engine);
  if (nodePlatform && platformEnabled) engine.setPlatformCrypto(nodePlatform);
  return engine;
}

/**
 * Hands the engine the runtime's ciphers, once, when the first connection or context is made
 * rather than at load: setting them up (and the engine's first call) is ~1.3 ms of Node's start.
 * Called only after {@link initWasm} has resolved.
 */
export function usePlatform() {
  if (nodePlatform !== undefined) return;
  nodePlatform = nodeLoader ? nodeCrypto(nodeLoader) : null;
  if (nodePlatform && platformEnabled) for (const e of engines) e.setPlatformCrypto(nodePlatform);
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
  if (wasmMemory) usePlatform();
  if (enabled !== undefined) {
    platformEnabled = Boolean(enabled);
    if (wasmMemory) for (const e of engines) e.setPlatformCrypto(platformEnabled ? nodePlatform : null);
  }
  if (!platformEnabled || !wasmMemory) return null;
  if (nodePlatform) return "node:crypto";
  return typeof globalThis.crypto?.subtle?.decrypt === "function" ? "webcrypto" : null;
}

/**
 * A function that returns the `node:crypto` module (Node, Deno, Bun), or `null` where the runtime
 * has none (browsers, Workers).
 */
async function nodeCryptoLoader() {
  try {
    if (typeof globalThis.process?.versions?.node !== "string") return null;
    const name = "node:crypto"; // not a static import: bundlers leave it alone
    const getBuiltinModule = globalThis.process.getBuiltinModule;
    if (typeof getBuiltinModule === "function") {
      // Loading node:crypto takes ~6 ms in a fresh Node process: done on first use, not at load.
      let node;
      return () => (node ??= getBuiltinModule(name));
    }
    const node = await import(/* @vite-ignore */ name);
    return () => node;
  } catch {
    return null;
  }
}

/**
 * The runtime's synchronous ciphers and signature verification (`node:crypto`, from `load`), for
 * the engine to protect full-size records with and check ECDSA and RSA signatures with
 * (crates/tlswire-crypto/src/platform.rs). Each algorithm is used only once it has passed a
 * known-answer check. Browsers and Workers have only WebCrypto, which is asynchronous: there the
 * engine hands received AES-GCM records out instead (`#openElsewhere`).
 */
function nodeCrypto(load) {
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
      key = load().createPublicKey({ key: { kty: "EC", crv: curve, x: b64url(bytes.subarray(1, 1 + n)), y: b64url(bytes.subarray(1 + n)) }, format: "jwk" });
    } else key = load().createPublicKey({ key: bytes, format: "der", type: "pkcs1" });
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
      const cipher = load().createCipheriv(aeads[algorithm], key, nonce, TAG);
      cipher.setAAD(aad);
      const sealed = cipher.update(data);
      cipher.final();
      data.set(sealed);
      tag.set(cipher.getAuthTag());
      return true;
    },
    open(algorithm, key, nonce, aad, data, tag) {
      if (!usable(algorithm)) return null;
      const decipher = load().createDecipheriv(aeads[algorithm], key, nonce, TAG);
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
          : shape ? { key, padding: load().constants.RSA_PKCS1_PSS_PADDING, saltLength: shape } : { key };
        return load().verify(hash, message, options, signature);
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
 * this realm shares (it grows, never shrinks); with the server's engine loaded (by `accept()`),
 * both engines' together. `null` before the engine is instantiated.
 */
export function memoryUsage() {
  return wasmMemory ? { wasmBytes: engines.reduce((n, e) => n + e.memory.buffer.byteLength, 0) } : null;
}
