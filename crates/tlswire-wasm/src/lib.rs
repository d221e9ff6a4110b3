//! wasm-bindgen binding of the tlswire core: the engine behind the npm package.
//!
//! Thin by design: each method is one core call. The JavaScript layer (`npm/src`) moves bytes
//! between this engine and a `{readable, writable}` channel and turns states into promises.
//!
//! Status codes returned to JS: `0` done, `1` want read (feed more), `2` want write (drain output).

use js_sys::{Array, Object, Reflect, Uint8Array};
use tlswire::{ClientConfig, ClientContext, Connection, Direction, Error, Status, Version};
use tlswire_crypto::platform;
use wasm_bindgen::prelude::*;

/// The server (`accept()`): its own engine build, so that a client's download leaves it out.
#[cfg(feature = "server")]
mod server;

const DONE: u8 = 0;
const WANT_READ: u8 = 1;
const WANT_WRITE: u8 = 2;

/// Client settings (the `SSL_CTX`), built once and shared by connections.
#[wasm_bindgen]
pub struct Config {
    inner: ClientConfig,
}

#[wasm_bindgen]
impl Config {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Config {
        Config { inner: ClientConfig::new() }
    }

    /// Trusts the CA certificates in PEM text or DER bytes.
    #[wasm_bindgen(js_name = addCa)]
    pub fn add_ca(&mut self, pem_or_der: &[u8]) -> Result<(), JsValue> {
        self.inner.add_ca(pem_or_der).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// Checks the server's certificate against the CRLs in PEM text or DER bytes.
    #[wasm_bindgen(js_name = addCrl)]
    pub fn add_crl(&mut self, pem_or_der: &[u8]) -> Result<(), JsValue> {
        self.inner.add_crl(pem_or_der).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// At most `bytes` of data per record sent (64..=16384).
    #[wasm_bindgen(js_name = maxSendFragment)]
    pub fn max_send_fragment(&mut self, bytes: usize) -> Result<(), JsValue> {
        self.inner.max_send_fragment(bytes).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// Lets connections send early data (TLS 1.3 0-RTT) when resuming a session that allows it.
    #[wasm_bindgen(js_name = earlyData)]
    pub fn early_data(&mut self, on: bool) {
        self.inner.early_data(on);
    }

    /// How many server names' sessions the context keeps in memory (0: none).
    #[wasm_bindgen(js_name = sessionCache)]
    pub fn session_cache(&mut self, sessions: usize) {
        self.inner.session_cache(sessions);
    }

    /// Encrypted Client Hello with the server's ECHConfigList (TLS 1.3 only).
    #[wasm_bindgen(js_name = echConfigList)]
    pub fn ech_config_list(&mut self, list: &[u8]) -> Result<(), JsValue> {
        self.inner.ech_config_list(list).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// GREASE ECH (TLS 1.3 only).
    #[wasm_bindgen(js_name = echGrease)]
    pub fn ech_grease(&mut self, on: bool) {
        self.inner.ech_grease(on);
    }

    /// Trusts the packed trust anchors of `tlswire/roots` (`tlswire::anchors` format).
    #[wasm_bindgen(js_name = addTrustAnchors)]
    pub fn add_trust_anchors(&mut self, packed: &[u8]) -> Result<(), JsValue> {
        self.inner.add_packed_trust_anchors(packed).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// Requires a presented certificate's SPKI SHA-256 (32 bytes) to match.
    #[wasm_bindgen(js_name = addPin)]
    pub fn add_pin(&mut self, sha256: &[u8]) -> Result<(), JsValue> {
        let pin: [u8; 32] = sha256.try_into().map_err(|_| {
            js_error(&Error::Config(tlswire::ConfigError::Rejected("a pin is 32 bytes (SHA-256)".into())))
        })?;
        self.inner.pin_spki_sha256(pin);
        Ok(())
    }

    /// ALPN protocol names, in preference order.
    pub fn alpn(&mut self, protocols: Vec<String>) {
        self.inner.alpn(&protocols);
    }

    /// Client certificate chain and private key (PEM text or DER bytes).
    #[wasm_bindgen(js_name = clientAuth)]
    pub fn client_auth(&mut self, chain: &[u8], key: &[u8]) -> Result<(), JsValue> {
        self.inner.client_auth(chain, key).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// Version bounds: "TLSv1.2" or "TLSv1.3".
    pub fn versions(&mut self, min: &str, max: &str) -> Result<(), JsValue> {
        let parse = |v: &str| match v {
            "TLSv1.2" => Ok(Version::Tls12),
            "TLSv1.3" => Ok(Version::Tls13),
            other => Err(js_error(&Error::Config(tlswire::ConfigError::UnknownName(other.to_string())))),
        };
        self.inner.versions(parse(min)?, parse(max)?);
        Ok(())
    }

    /// Signature schemes by IANA name, in preference order, for this side's signatures and the
    /// server's.
    #[wasm_bindgen(js_name = signatureSchemes)]
    pub fn signature_schemes(&mut self, names: Vec<String>) -> Result<(), JsValue> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.inner.signature_schemes(&names).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// Key exchange groups by OpenSSL name, in preference order.
    pub fn groups(&mut self, names: Vec<String>) -> Result<(), JsValue> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.inner.groups(&names).map(drop).map_err(|e| js_error(&Error::Config(e)))
    }

    /// **Dangerous**: accept any server certificate.
    #[wasm_bindgen(js_name = dangerouslyDisableVerification)]
    pub fn dangerously_disable_verification(&mut self) {
        self.inner.dangerously_disable_verification();
    }

    /// Validates the settings.
    pub fn build(&self) -> Result<Context, JsValue> {
        self.inner.build().map(|ctx| Context { ctx }).map_err(|e| js_error(&Error::Config(e)))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// A built configuration.
#[wasm_bindgen]
pub struct Context {
    ctx: ClientContext,
}

/// One TLS client connection: the sans-IO core.
#[wasm_bindgen]
pub struct Engine {
    conn: Connection,
    /// Key log lines not taken yet (only when asked for: [`Engine::client`]'s `key_log`).
    key_log: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
}

#[wasm_bindgen]
impl Engine {
    /// A client connection to `server_name`; `observe` records protocol messages for
    /// [`Engine::take_messages`]; `offload` hands received AES-GCM records out for the
    /// platform's AES-GCM ([`Engine::offload_jobs`]); `key_log` keeps the connection's secrets
    /// as SSLKEYLOGFILE lines for [`Engine::take_key_log`] (the explicit key-log API only);
    /// `sessions` keeps the sessions the server gives for [`Engine::take_sessions`]; `session`
    /// is one to offer (bytes an earlier `take_sessions` gave).
    // Flat arguments: one call across the JS boundary, no options object to read field by field.
    #[allow(clippy::too_many_arguments)]
    pub fn client(
        ctx: &Context,
        server_name: &str,
        observe: bool,
        offload: bool,
        key_log: bool,
        sessions: bool,
        session: Option<Vec<u8>>,
        verify: Option<js_sys::Function>,
    ) -> Result<Engine, JsValue> {
        let mut conn = match session {
            Some(s) => Connection::client_resuming(&ctx.ctx, server_name, &s),
            None => Connection::client(&ctx.ctx, server_name),
        }
        .map_err(|e| js_error(&e))?;
        if sessions {
            conn.record_sessions();
        }
        if let Some(f) = verify {
            conn.set_verify_hook(verify_hook(JsHook(f))).map_err(|e| js_error(&e))?;
        }
        Engine::with(conn, observe, offload, key_log)
    }

    /// The engine around a new connection, recording messages and key log lines if asked.
    pub(crate) fn with(mut conn: Connection, observe: bool, offload: bool, key_log: bool) -> Result<Engine, JsValue> {
        if observe {
            conn.record_messages().map_err(|e| js_error(&e))?;
        }
        conn.set_record_offload(offload).map_err(|e| js_error(&e))?;
        let key_log = key_log.then(std::sync::Arc::<std::sync::Mutex<Vec<String>>>::default);
        if let Some(lines) = &key_log {
            let lines = lines.clone();
            conn.set_key_log(Box::new(move |line: &str| {
                lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line.to_string());
            }))
            .map_err(|e| js_error(&e))?;
        }
        Ok(Engine { conn, key_log })
    }

    /// Key log lines recorded since the last call (none unless `key_log` was asked for).
    #[wasm_bindgen(js_name = takeKeyLog)]
    pub fn take_key_log(&mut self) -> Vec<String> {
        match &self.key_log {
            Some(lines) => std::mem::take(&mut *lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)),
            None => Vec::new(),
        }
    }

    /// Sessions received since the last call (`Uint8Array`s), oldest first.
    #[wasm_bindgen(js_name = takeSessions)]
    pub fn take_sessions(&mut self) -> Array {
        self.conn.take_sessions().into_iter().map(|s| JsValue::from(Uint8Array::from(&s[..]))).collect()
    }

    /// Decryption jobs for the received records not handed out yet, in the core's encoding
    /// (`Connection::offload_jobs`); empty if none.
    #[wasm_bindgen(js_name = offloadJobs)]
    pub fn offload_jobs(&mut self) -> Vec<u8> {
        self.conn.offload_jobs()
    }

    /// The raw AES key of offload generation `generation`, or `undefined` if it is no longer
    /// current.
    #[wasm_bindgen(js_name = offloadKey)]
    pub fn offload_key(&self, generation: u32) -> Option<Uint8Array> {
        // Copied straight from the key into a JavaScript array: no copy is left behind in the
        // engine's heap (a returned `Vec` would be freed there without being cleared).
        self.conn.offload_key(generation).map(Uint8Array::from)
    }

    /// The plaintext the platform's AES-GCM produced (and authenticated) for job `seq`.
    #[wasm_bindgen(js_name = offloadOpened)]
    pub fn offload_opened(&mut self, generation: u32, seq: f64, plaintext: Vec<u8>) {
        self.conn.offload_opened(generation, seq as u64, plaintext);
    }

    /// Received bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.conn.feed(bytes).map_err(|e| js_error(&e))
    }

    /// The channel ended.
    #[wasm_bindgen(js_name = feedEof)]
    pub fn feed_eof(&mut self) {
        self.conn.feed_eof();
    }

    /// All bytes waiting to be sent (empty if none).
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&mut self) -> Vec<u8> {
        self.conn.take_output()
    }

    /// `SSL_do_handshake`: 0 done, 1 want read, 2 want write.
    #[wasm_bindgen(js_name = doHandshake)]
    pub fn do_handshake(&mut self) -> Result<u8, JsValue> {
        self.conn.do_handshake().map(code).map_err(|e| js_error(&e))
    }

    /// `SSL_write`: bytes taken (>= 0), or -1 want read / -2 want write (nothing taken).
    pub fn write(&mut self, data: &[u8]) -> Result<f64, JsValue> {
        match self.conn.write(data).map_err(|e| js_error(&e))? {
            Status::Done(n) => Ok(n as f64),
            Status::WantRead => Ok(-1.0),
            Status::WantWrite => Ok(-2.0),
        }
    }

    /// `SSL_read`: a `Uint8Array` of all the plaintext decrypted so far, `null` at close_notify,
    /// or the number 1 (want read) / 2 (want write).
    pub fn read(&mut self) -> Result<JsValue, JsValue> {
        match self.conn.read_available().map_err(|e| js_error(&e))? {
            Status::Done([]) => Ok(JsValue::NULL),
            Status::Done(plaintext) => Ok(Uint8Array::from(plaintext).into()),
            Status::WantRead => Ok(WANT_READ.into()),
            Status::WantWrite => Ok(WANT_WRITE.into()),
        }
    }

    /// Whether the handshake is complete (our last flight may still be waiting in the output).
    #[wasm_bindgen(getter, js_name = handshakeDone)]
    pub fn handshake_done(&self) -> bool {
        self.conn.is_handshake_done()
    }

    /// Early data (0-RTT), before the handshake: how many bytes of `data` go with the
    /// ClientHello (0 when early data is not possible); the caller writes the rest afterwards.
    #[wasm_bindgen(js_name = writeEarlyData)]
    pub fn write_early_data(&mut self, data: &[u8]) -> Result<u32, JsValue> {
        self.conn.write_early_data(data).map(|n| n as u32).map_err(|e| js_error(&e))
    }

    /// Queues a TLS 1.3 KeyUpdate (`request_peer`: ask the peer to update too).
    #[wasm_bindgen(js_name = keyUpdate)]
    pub fn key_update(&mut self, request_peer: bool) -> Result<(), JsValue> {
        self.conn.key_update(request_peer).map_err(|e| js_error(&e))
    }

    /// Queues close_notify.
    pub fn close(&mut self) -> Result<(), JsValue> {
        self.conn.close().map_err(|e| js_error(&e))
    }

    /// `{version, cipherSuite, group, alpn, peerCertificates, peerSubject, helloRetryRequest, resumed, ocspResponse}` after the
    /// handshake, else `null`.
    pub fn info(&self) -> JsValue {
        let Some(info) = self.conn.info() else {
            return JsValue::NULL;
        };
        let subject = info.peer_subject();
        let o = Object::new();
        let version = match info.version {
            Version::Tls13 => "TLSv1.3",
            Version::Tls12 => "TLSv1.2",
        };
        set(&o, "version", &version.into());
        set(&o, "cipherSuite", &info.cipher_suite.into());
        set(&o, "group", &info.group.map_or(JsValue::NULL, JsValue::from));
        set(&o, "alpn", &info.alpn.map_or(JsValue::NULL, |p| String::from_utf8_lossy(&p).into_owned().into()));
        let certs: Array = info.peer_certificates.iter().map(|c| JsValue::from(Uint8Array::from(&c[..]))).collect();
        set(&o, "peerCertificates", &certs);
        set(&o, "peerSubject", &subject.map_or(JsValue::NULL, JsValue::from));
        set(&o, "helloRetryRequest", &info.hello_retry_request.into());
        set(&o, "resumed", &info.resumed.into());
        set(&o, "ocspResponse", &info.ocsp_response.map_or(JsValue::NULL, |r| Uint8Array::from(&r[..]).into()));
        set(&o, "signatureScheme", &info.signature_scheme.map_or(JsValue::NULL, JsValue::from));
        set(&o, "peerSignatureScheme", &info.peer_signature_scheme.map_or(JsValue::NULL, JsValue::from));
        set(&o, "earlyData", &(info.early_data as u32).into());
        set(&o, "earlyDataRejected", &(info.early_data_rejected as u32).into());
        set(&o, "ech", &info.ech.name().into());
        set(&o, "peerRecordSizeLimit", &info.peer_record_size_limit.map_or(JsValue::NULL, |n| u32::from(n).into()));
        set(&o, "certificate", &info.certificate.map_or(JsValue::NULL, |i| JsValue::from(i as u32)));
        o.into()
    }

    /// `SSL_export_keying_material`: `length` bytes for `label` and, if given, `context` (RFC 5705
    /// / RFC 8446 section 7.5), once the handshake is done.
    #[wasm_bindgen(js_name = exportKeyingMaterial)]
    pub fn export_keying_material(
        &self,
        length: u32,
        label: &[u8],
        context: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, JsValue> {
        // Never more than the core gives plus one byte, which the core then refuses (MISUSE).
        let mut out = vec![0u8; (length as usize).min(tlswire::MAX_EXPORT + 1)];
        self.conn.export_keying_material(&mut out, label, context.as_deref()).map_err(|e| js_error(&e))?;
        Ok(out)
    }

    /// Protocol messages recorded since the last call, oldest first:
    /// `{direction, version, contentType, bytes}`.
    #[wasm_bindgen(js_name = takeMessages)]
    pub fn take_messages(&mut self) -> Array {
        self.conn
            .take_messages()
            .into_iter()
            .map(|m| {
                let o = Object::new();
                let direction = match m.direction {
                    Direction::Sent => "sent",
                    Direction::Received => "received",
                };
                set(&o, "direction", &direction.into());
                set(&o, "version", &m.version.into());
                set(&o, "contentType", &m.content_type.into());
                set(&o, "line", &tlswire::format_message(&m.as_message()).into());
                set(&o, "bytes", &Uint8Array::from(&m.bytes[..]));
                JsValue::from(o)
            })
            .collect()
    }
}

#[wasm_bindgen]
extern "C" {
    /// The host's synchronous ciphers and signature verification (`npm/src`: `node:crypto`),
    /// shaped like `tlswire_crypto::platform::{Aead, Verifier}` with algorithms as their codes
    /// (AEADs: 1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305; signatures: see
    /// `platform::Signature`): `seal` returns whether it sealed; `open` and `verify` return the
    /// verdict, or `null` when they could not try.
    pub type PlatformCrypto;

    #[wasm_bindgen(method, catch)]
    fn seal(
        this: &PlatformCrypto,
        algorithm: u8,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<bool, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn open(
        this: &PlatformCrypto,
        algorithm: u8,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<Option<bool>, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn verify(
        this: &PlatformCrypto,
        algorithm: u8,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<Option<bool>, JsValue>;
}

struct Platform(PlatformCrypto);

impl platform::Aead for Platform {
    fn seal(
        &self,
        algorithm: platform::Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> bool {
        self.0.seal(algorithm as u8, key, nonce, aad, data, tag).unwrap_or(false)
    }

    fn open(
        &self,
        algorithm: platform::Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool> {
        self.0.open(algorithm as u8, key, nonce, aad, data, tag).ok().flatten()
    }
}

impl platform::Verifier for Platform {
    fn verify(
        &self,
        algorithm: platform::Signature,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        self.0.verify(algorithm as u8, public_key, message, signature).ok().flatten()
    }
}

/// Installs the host's synchronous ciphers (for records of at least 1 KiB) and signature
/// verification; `null` removes them.
/// The caller's `checkServerIdentity(serverName, certificates)`: JavaScript, called
/// synchronously from inside the engine's handshake step.
pub(crate) struct JsHook(pub(crate) js_sys::Function);

// SAFETY: this crate is built for wasm32-unknown-unknown without threads (no shared memory, no
// atomics): the engine and every JavaScript value live on the one thread there is, and the hook
// is only called from inside that thread's engine calls. `Send` is what the core's hook type asks
// for the sake of native callers with threads.
unsafe impl Send for JsHook {}

pub(crate) fn verify_hook(hook: JsHook) -> tlswire::VerifyHook {
    Box::new(move |name: &str, chain: &[&[u8]]| {
        let certificates: Array = chain.iter().map(|c| JsValue::from(Uint8Array::from(*c))).collect();
        let refusal = |v: &JsValue| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| v.as_string())
                .unwrap_or_else(|| "refused".into())
        };
        match hook.0.call2(&JsValue::NULL, &JsValue::from(name), &certificates) {
            Ok(v) if v.is_undefined() || v.is_null() => Ok(()),
            Ok(v) => Err(refusal(&v)),
            Err(thrown) => Err(refusal(&thrown)),
        }
    })
}

#[wasm_bindgen(js_name = setPlatformCrypto)]
pub fn set_platform_crypto(crypto: Option<PlatformCrypto>) {
    let platform = crypto.map(|c| std::rc::Rc::new(Platform(c)));
    platform::install(platform.clone().map(|p| p as std::rc::Rc<dyn platform::Aead>));
    platform::install_verifier(platform.map(|p| p as std::rc::Rc<dyn platform::Verifier>));
}

fn code(s: Status<()>) -> u8 {
    match s {
        Status::Done(()) => DONE,
        Status::WantRead => WANT_READ,
        Status::WantWrite => WANT_WRITE,
    }
}

fn set(o: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(o, &key.into(), value);
}

/// A JS `Error` with `code` (stable, see the README) and, where known, `alert` / `alertSent`.
pub(crate) fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("TlsError");
    set(&err, "code", &e.code().into());
    if let Error::AlertReceived(alert) = e {
        set(&err, "alert", &tlswire::alert_name(u8::from(*alert)).into());
    }
    if let Some(sent) = e.alert_sent() {
        set(&err, "alertSent", &tlswire::alert_name(u8::from(sent)).into());
    }
    if let Error::Protocol { error: tlswire::ProtocolError::EchRejected { retry_configs: Some(list) }, .. } = e {
        set(&err, "retryConfigs", &js_sys::Uint8Array::from(&list[..]).into());
    }
    err.into()
}
