//! The server half of the engine (`accept()` in the npm package), built only with the `server`
//! feature: the client-only engine a browser downloads leaves rustls's server out.

use tlswire::{ClientAuth, Connection, Error, ServerConfig, ServerContext, Version};
use wasm_bindgen::prelude::*;

use crate::{js_error, verify_hook, Engine, JsHook};

/// Server settings (the server's `SSL_CTX`), built once and shared by connections.
#[wasm_bindgen(js_name = ServerConfig)]
pub struct ServerSettings {
    inner: ServerConfig,
}

fn version_named(v: &str) -> Result<Version, JsValue> {
    match v {
        "TLSv1.2" => Ok(Version::Tls12),
        "TLSv1.3" => Ok(Version::Tls13),
        other => Err(js_error(&Error::Config(tlswire::ConfigError::UnknownName(other.to_string())))),
    }
}

fn config_err(e: tlswire::ConfigError) -> JsValue {
    js_error(&Error::Config(e))
}

#[wasm_bindgen(js_class = ServerConfig)]
impl ServerSettings {
    /// A server with this certificate chain and key (PEM text or DER bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(chain: &[u8], key: &[u8]) -> Result<ServerSettings, JsValue> {
        ServerConfig::new(chain, key).map(|inner| ServerSettings { inner }).map_err(config_err)
    }

    /// Another certificate chain and key, with its stapled OCSP response if any.
    #[wasm_bindgen(js_name = addCertificate)]
    pub fn add_certificate(&mut self, chain: &[u8], key: &[u8], ocsp: Option<Vec<u8>>) -> Result<(), JsValue> {
        self.inner.add_certificate(chain, key, ocsp.as_deref()).map(drop).map_err(config_err)
    }

    /// Asks clients for certificates issued by these CAs: `required` refuses clients without one.
    #[wasm_bindgen(js_name = clientAuth)]
    pub fn client_auth(&mut self, required: bool, ca: &[u8]) -> Result<(), JsValue> {
        let mode = if required { ClientAuth::Required } else { ClientAuth::Optional };
        self.inner.client_auth(mode, ca).map(drop).map_err(config_err)
    }

    /// **Dangerous**: asks clients for certificates and accepts any issuer; a connection's
    /// `checkClientCertificate` decides.
    #[wasm_bindgen(js_name = dangerouslyAcceptAnyClientCertificate)]
    pub fn dangerously_accept_any_client_certificate(&mut self, required: bool) {
        let mode = if required { ClientAuth::Required } else { ClientAuth::Optional };
        self.inner.dangerously_accept_any_client_certificate(mode);
    }

    /// Checks client certificates against these CRLs.
    #[wasm_bindgen(js_name = addCrl)]
    pub fn add_crl(&mut self, pem_or_der: &[u8]) -> Result<(), JsValue> {
        self.inner.add_crl(pem_or_der).map(drop).map_err(config_err)
    }

    /// ALPN protocols the server accepts, in preference order.
    pub fn alpn(&mut self, protocols: Vec<String>) {
        self.inner.alpn(&protocols);
    }

    /// Version bounds: "TLSv1.2" or "TLSv1.3".
    pub fn versions(&mut self, min: &str, max: &str) -> Result<(), JsValue> {
        self.inner.versions(version_named(min)?, version_named(max)?);
        Ok(())
    }

    /// Key exchange groups by OpenSSL name, in preference order.
    pub fn groups(&mut self, names: Vec<String>) -> Result<(), JsValue> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.inner.groups(&names).map(drop).map_err(config_err)
    }

    /// Signature schemes by IANA name, in preference order.
    #[wasm_bindgen(js_name = signatureSchemes)]
    pub fn signature_schemes(&mut self, names: Vec<String>) -> Result<(), JsValue> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.inner.signature_schemes(&names).map(drop).map_err(config_err)
    }

    /// At most `bytes` of data per record sent (64..=16384).
    #[wasm_bindgen(js_name = maxSendFragment)]
    pub fn max_send_fragment(&mut self, bytes: usize) -> Result<(), JsValue> {
        self.inner.max_send_fragment(bytes).map(drop).map_err(config_err)
    }

    /// Staples this DER OCSP response to the (first) certificate.
    #[wasm_bindgen(js_name = ocspResponse)]
    pub fn ocsp_response(&mut self, response: &[u8]) -> Result<(), JsValue> {
        self.inner.ocsp_response(response).map(drop).map_err(config_err)
    }

    /// Stateless session tickets under a rotating key (default on).
    #[wasm_bindgen(js_name = statelessTickets)]
    pub fn stateless_tickets(&mut self, on: bool) {
        self.inner.stateless_tickets(on);
    }

    /// Sessions kept in memory (default 256; 0: none).
    #[wasm_bindgen(js_name = sessionCache)]
    pub fn session_cache(&mut self, sessions: usize) {
        self.inner.session_cache(sessions);
    }

    /// TLS 1.3 tickets sent after each handshake (default 2).
    pub fn tickets(&mut self, n: usize) {
        self.inner.tickets(n);
    }

    /// Accepts up to `bytes` of early data (0-RTT) from resuming clients.
    #[wasm_bindgen(js_name = maxEarlyData)]
    pub fn max_early_data(&mut self, bytes: u32) {
        self.inner.max_early_data(bytes);
    }

    /// Validates the settings.
    pub fn build(&self) -> Result<ServerSettingsBuilt, JsValue> {
        self.inner.build().map(|ctx| ServerSettingsBuilt { ctx }).map_err(config_err)
    }
}

/// Built server settings.
#[wasm_bindgen(js_name = ServerContext)]
pub struct ServerSettingsBuilt {
    ctx: ServerContext,
}

#[wasm_bindgen]
impl Engine {
    /// A server connection, waiting for a ClientHello; `observe`, `offload` and `key_log` as for
    /// [`Engine::client`]; `verify(name, certificates)` judges a client's certificate.
    pub fn server(
        ctx: &ServerSettingsBuilt,
        observe: bool,
        offload: bool,
        key_log: bool,
        verify: Option<js_sys::Function>,
    ) -> Result<Engine, JsValue> {
        let mut conn = Connection::server(&ctx.ctx).map_err(|e| js_error(&e))?;
        if let Some(f) = verify {
            conn.set_verify_hook(verify_hook(JsHook(f))).map_err(|e| js_error(&e))?;
        }
        Engine::with(conn, observe, offload, key_log)
    }
}
