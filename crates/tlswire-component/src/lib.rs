//! tlswire as a WebAssembly component (`wasm32-wasip2`): exports the `tlswire:tls` interfaces of
//! `wit/` over `wasi:io` streams handed in by the host.
//!
//! A thin driver, like the npm engine: it moves bytes between the core's sans-IO `Connection`
//! and the host's streams, waiting on their pollables, and maps types; every TLS decision is
//! the core's.
//!
//! Only meaningful for `wasm32`: on other targets (a host `cargo build --workspace`) the crate is
//! empty, since its exports are component-model symbols a native linker cannot express.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use tlswire::{
    ClientAuth, ClientConfig, ClientContext, Connection, Direction, ServerConfig, ServerContext, Status, Version,
};

wit_bindgen::generate!({
    path: "../../wit",
    world: "tlswire",
    generate_all,
});

use exports::tlswire::tls::connections::{self, ClientContextBorrow, ServerContextBorrow};
use exports::tlswire::tls::handshakes;
use exports::tlswire::tls::types::{self as wit, Error as WitError};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

/// Largest read asked of the input stream: one TLS record with its header and AEAD overhead.
const READ_CHUNK: u64 = 16 * 1024 + 256;

struct Component;

export!(Component);

impl wit::Guest for Component {
    fn error_code(error: WitError) -> String {
        code(&error)
    }
}

impl connections::Guest for Component {
    type ClientContext = Client;
    type ServerContext = Server;
    type Connection = Conn;
}

/// A built client configuration.
pub struct Client {
    ctx: ClientContext,
    observe: bool,
    key_log: bool,
    keep_sessions: bool,
}

impl Client {
    /// A client connection of this context over the host's streams, with its recording settings.
    fn conn(&self, mut tls: Connection, input: InputStream, output: OutputStream) -> Result<Conn, WitError> {
        if self.keep_sessions {
            tls.record_sessions();
        }
        Conn::new(tls, self.observe, self.key_log, input, output)
    }
}

/// A built server configuration.
pub struct Server {
    ctx: ServerContext,
    observe: bool,
    key_log: bool,
}

impl connections::GuestClientContext for Client {
    fn build(config: wit::ClientConfig) -> Result<connections::ClientContext, WitError> {
        let mut c = ClientConfig::new();
        for ca in &config.ca_certificates {
            c.add_ca(ca).map_err(config_error)?;
        }
        for pin in &config.pins {
            let pin: [u8; 32] =
                pin.as_slice().try_into().map_err(|_| WitError::Config("a pin is 32 bytes (SHA-256)".into()))?;
            c.pin_spki_sha256(pin);
        }
        for crl in &config.crls {
            c.add_crl(crl).map_err(config_error)?;
        }
        if let Some(bytes) = config.max_send_fragment {
            c.max_send_fragment(bytes as usize).map_err(config_error)?;
        }
        if let Some(sessions) = config.session_cache {
            c.session_cache(sessions as usize);
        }
        c.early_data(config.early_data);
        if let Some(list) = &config.ech_config_list {
            c.ech_config_list(list).map_err(config_error)?;
        }
        c.ech_grease(config.ech_grease);
        if !config.signature_schemes.is_empty() {
            c.signature_schemes(&strs(&config.signature_schemes)).map_err(config_error)?;
        }
        c.alpn(&config.alpn);
        if let Some(key) = &config.client_certificate {
            c.client_auth(&key.chain, &key.private_key).map_err(config_error)?;
        }
        c.versions(version(config.min_version, Version::Tls12), version(config.max_version, Version::Tls13));
        if !config.cipher_suites.is_empty() {
            c.cipher_suites(&strs(&config.cipher_suites)).map_err(config_error)?;
        }
        if !config.groups.is_empty() {
            c.groups(&strs(&config.groups)).map_err(config_error)?;
        }
        if config.dangerously_disable_verification {
            c.dangerously_disable_verification();
        }
        let ctx = c.build().map_err(config_error)?;
        Ok(connections::ClientContext::new(Client {
            ctx,
            observe: config.observe,
            key_log: config.key_log,
            keep_sessions: config.keep_sessions,
        }))
    }
}

impl connections::GuestServerContext for Server {
    fn build(config: wit::ServerConfig) -> Result<connections::ServerContext, WitError> {
        let mut s =
            ServerConfig::new(&config.certificate.chain, &config.certificate.private_key).map_err(config_error)?;
        let mode = match config.client_auth {
            wit::ClientAuth::None => ClientAuth::None,
            wit::ClientAuth::Optional => ClientAuth::Optional,
            wit::ClientAuth::Required => ClientAuth::Required,
        };
        if config.dangerously_accept_any_client_certificate {
            s.dangerously_accept_any_client_certificate(mode);
        } else if mode != ClientAuth::None {
            let cas = config.client_ca_certificates.concat();
            s.client_auth(mode, &cas).map_err(config_error)?;
        }
        for crl in &config.crls {
            s.add_crl(crl).map_err(config_error)?;
        }
        if let Some(bytes) = config.max_send_fragment {
            s.max_send_fragment(bytes as usize).map_err(config_error)?;
        }
        if let Some(on) = config.stateless_tickets {
            s.stateless_tickets(on);
        }
        if let Some(sessions) = config.session_cache {
            s.session_cache(sessions as usize);
        }
        if let Some(n) = config.tickets {
            s.tickets(n as usize);
        }
        if let Some(response) = &config.ocsp_response {
            s.ocsp_response(response).map_err(config_error)?;
        }
        if !config.signature_schemes.is_empty() {
            s.signature_schemes(&strs(&config.signature_schemes)).map_err(config_error)?;
        }
        if let Some(bytes) = config.max_early_data {
            s.max_early_data(bytes);
        }
        for more in &config.more_certificates {
            s.add_certificate(&more.chain, &more.private_key, None).map_err(config_error)?;
        }
        s.alpn(&config.alpn);
        s.versions(version(config.min_version, Version::Tls12), version(config.max_version, Version::Tls13));
        if !config.cipher_suites.is_empty() {
            s.cipher_suites(&strs(&config.cipher_suites)).map_err(config_error)?;
        }
        if !config.groups.is_empty() {
            s.groups(&strs(&config.groups)).map_err(config_error)?;
        }
        let ctx = s.build().map_err(config_error)?;
        Ok(connections::ServerContext::new(Server { ctx, observe: config.observe, key_log: config.key_log }))
    }
}

/// One connection: the core plus the host's two streams.
pub struct Conn {
    /// Shared with a handshake's future while it lives (so it can subscribe to the input).
    state: std::rc::Rc<RefCell<State>>,
}

struct State {
    tls: Connection,
    input: InputStream,
    output: OutputStream,
    /// Key log lines not taken yet (with `key-log` in the config).
    key_log: Arc<Mutex<Vec<String>>>,
}

impl Conn {
    fn open(
        tls: Connection,
        observe: bool,
        key_log: bool,
        input: InputStream,
        output: OutputStream,
    ) -> Result<connections::Connection, WitError> {
        Conn::new(tls, observe, key_log, input, output).map(connections::Connection::new)
    }

    fn new(
        mut tls: Connection,
        observe: bool,
        key_log: bool,
        input: InputStream,
        output: OutputStream,
    ) -> Result<Conn, WitError> {
        if observe {
            tls.record_messages().map_err(|e| to_wit(&e))?;
        }
        let lines = Arc::<Mutex<Vec<String>>>::default();
        if key_log {
            let sink = lines.clone();
            tls.set_key_log(Box::new(move |line: &str| {
                sink.lock().unwrap_or_else(PoisonError::into_inner).push(line.to_string());
            }))
            .map_err(|e| to_wit(&e))?;
        }
        let state = State { key_log: lines, ..State::new(tls, input, output) };
        Ok(Conn { state: std::rc::Rc::new(RefCell::new(state)) })
    }
}

impl State {
    fn new(tls: Connection, input: InputStream, output: OutputStream) -> Self {
        State { tls, input, output, key_log: Arc::default() }
    }
}

/// The wasi-tls-shaped handshake (`handshakes` in `wit/`): a client connection not driven yet,
/// or, when the constructor (which cannot fail in WIT) could not make one, why, with the streams
/// (so that `subscribe` still has an input to wait on).
pub struct Handshake {
    made: Result<Conn, (WitError, InputStream)>,
}

/// The handshake in progress, moved on by `get` without blocking on input.
pub struct FutureConnection {
    made: RefCell<Option<Result<Conn, WitError>>>,
    input: Subscribable,
}

/// What a future's `subscribe` waits on: the connection's input stream, shared with it.
enum Subscribable {
    Shared(std::rc::Rc<RefCell<State>>),
    Alone(InputStream),
}

/// The constructor's settings: the bundled Mozilla roots, built once.
fn default_client() -> Result<&'static ClientContext, WitError> {
    static CONTEXT: std::sync::OnceLock<Result<ClientContext, String>> = std::sync::OnceLock::new();
    CONTEXT
        .get_or_init(|| ClientConfig::new().build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| WitError::Config(e.clone()))
}

impl handshakes::Guest for Component {
    type ClientHandshake = Handshake;
    type FutureClientConnection = FutureConnection;
}

impl handshakes::GuestClientHandshake for Handshake {
    fn new(server_name: String, input: InputStream, output: OutputStream) -> Self {
        // A constructor cannot fail in WIT: a bad name or settings surface from `get`.
        let tls = default_client().and_then(|ctx| Connection::client(ctx, &server_name).map_err(|e| to_wit(&e)));
        let made = match tls {
            Ok(tls) => Ok(Conn { state: std::rc::Rc::new(RefCell::new(State::new(tls, input, output))) }),
            Err(e) => Err((e, input)),
        };
        Handshake { made }
    }

    fn with_context(
        context: ClientContextBorrow<'_>,
        server_name: String,
        input: InputStream,
        output: OutputStream,
    ) -> Result<handshakes::ClientHandshake, WitError> {
        let client: &Client = context.get();
        let tls = Connection::client(&client.ctx, &server_name).map_err(|e| to_wit(&e))?;
        let conn = client.conn(tls, input, output)?;
        Ok(handshakes::ClientHandshake::new(Handshake { made: Ok(conn) }))
    }

    fn finish(this: handshakes::ClientHandshake) -> handshakes::FutureClientConnection {
        let (made, input) = match this.into_inner::<Handshake>().made {
            Ok(conn) => {
                let shared = Subscribable::Shared(conn.state.clone());
                (Ok(conn), shared)
            }
            Err((error, input)) => (Err(error), Subscribable::Alone(input)),
        };
        handshakes::FutureClientConnection::new(FutureConnection { made: RefCell::new(Some(made)), input })
    }
}

impl handshakes::GuestFutureClientConnection for FutureConnection {
    fn subscribe(&self) -> wasi::io::poll::Pollable {
        match &self.input {
            Subscribable::Shared(state) => state.borrow().input.subscribe(),
            Subscribable::Alone(input) => input.subscribe(),
        }
    }

    fn get(&self) -> Option<Result<Result<connections::Connection, WitError>, ()>> {
        let mut slot = self.made.borrow_mut();
        let outcome = match slot.as_ref() {
            None => return Some(Err(())), // the outcome was given already
            Some(Err(_)) => Err(()),
            Some(Ok(conn)) => Ok(conn.state.borrow_mut().step_handshake()?),
        };
        let made = slot.take();
        Some(Ok(match (outcome, made) {
            (Ok(Ok(())), Some(Ok(conn))) => Ok(connections::Connection::new(conn)),
            (Ok(Err(e)), _) | (_, Some(Err(e))) => Err(e),
            _ => Err(WitError::Misuse("the handshake's outcome was taken".into())),
        }))
    }
}

impl connections::GuestConnection for Conn {
    fn client(
        context: ClientContextBorrow<'_>,
        server_name: String,
        input: InputStream,
        output: OutputStream,
    ) -> Result<connections::Connection, WitError> {
        let client: &Client = context.get();
        let tls = Connection::client(&client.ctx, &server_name).map_err(|e| to_wit(&e))?;
        client.conn(tls, input, output).map(connections::Connection::new)
    }

    fn client_resuming(
        context: ClientContextBorrow<'_>,
        server_name: String,
        session: Vec<u8>,
        input: InputStream,
        output: OutputStream,
    ) -> Result<connections::Connection, WitError> {
        let client: &Client = context.get();
        let tls = Connection::client_resuming(&client.ctx, &server_name, &session).map_err(|e| to_wit(&e))?;
        client.conn(tls, input, output).map(connections::Connection::new)
    }

    fn server(
        context: ServerContextBorrow<'_>,
        input: InputStream,
        output: OutputStream,
    ) -> Result<connections::Connection, WitError> {
        let server: &Server = context.get();
        let tls = Connection::server(&server.ctx).map_err(|e| to_wit(&e))?;
        Conn::open(tls, server.observe, server.key_log, input, output)
    }

    fn write_early_data(&self, data: Vec<u8>) -> Result<u32, WitError> {
        let mut state = self.state.borrow_mut();
        let n = state.tls.write_early_data(&data).map_err(|e| to_wit(&e))?;
        state.flush()?;
        Ok(n as u32)
    }

    fn handshake(&self) -> Result<(), WitError> {
        self.state.borrow_mut().drive(|tls| tls.do_handshake())
    }

    fn write(&self, data: Vec<u8>) -> Result<(), WitError> {
        let mut state = self.state.borrow_mut();
        let mut rest = &data[..];
        while !rest.is_empty() {
            // Whole-buffer writes: the core takes all of `rest` or nothing (want-write: flush,
            // then retry the same bytes).
            let n = state.drive(|tls| tls.write(rest))?;
            rest = &rest[n..];
        }
        Ok(())
    }

    fn read(&self, max_len: u32) -> Result<Vec<u8>, WitError> {
        let mut buf = vec![0u8; (max_len as usize).clamp(1, 1 << 20)];
        let n = self.state.borrow_mut().drive(|tls| tls.read(&mut buf))?;
        buf.truncate(n);
        Ok(buf)
    }

    fn reject(&self, reason: String) -> WitError {
        let mut state = self.state.borrow_mut();
        let error = to_wit(&state.tls.reject_peer(&reason));
        // The alert is best effort: the connection has failed either way.
        let _ = state.flush();
        error
    }

    fn key_update(&self, request_peer: bool) -> Result<(), WitError> {
        let mut state = self.state.borrow_mut();
        state.tls.key_update(request_peer).map_err(|e| to_wit(&e))?;
        state.flush()
    }

    fn close(&self) -> Result<(), WitError> {
        let mut state = self.state.borrow_mut();
        let closed = state.tls.close().map_err(|e| to_wit(&e));
        state.flush()?;
        closed
    }

    fn info(&self) -> Option<wit::ConnectionInfo> {
        let state = self.state.borrow();
        let info = state.tls.info()?;
        Some(wit::ConnectionInfo {
            version: match info.version {
                Version::Tls12 => wit::Version::Tls12,
                Version::Tls13 => wit::Version::Tls13,
            },
            cipher_suite: info.cipher_suite,
            group: info.group,
            alpn: info.alpn.map(|p| String::from_utf8_lossy(&p).into_owned()),
            peer_certificates: info.peer_certificates,
            hello_retry_request: info.hello_retry_request,
            resumed: info.resumed,
            ocsp_response: info.ocsp_response,
            signature_scheme: info.signature_scheme,
            peer_signature_scheme: info.peer_signature_scheme,
            certificate: info.certificate.map(|i| i as u32),
            early_data: info.early_data as u32,
            early_data_rejected: info.early_data_rejected as u32,
            ech: match info.ech {
                tlswire::EchStatus::Grease => wit::EchStatus::Grease,
                tlswire::EchStatus::Accepted => wit::EchStatus::Accepted,
                _ => wit::EchStatus::None,
            },
            peer_record_size_limit: info.peer_record_size_limit,
        })
    }

    fn export_keying_material(
        &self,
        length: u32,
        label: String,
        context: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, WitError> {
        // Never more than the core gives plus one byte, which the core then refuses (MISUSE).
        let mut out = vec![0u8; (length as usize).min(tlswire::MAX_EXPORT + 1)];
        self.state
            .borrow()
            .tls
            .export_keying_material(&mut out, label.as_bytes(), context.as_deref())
            .map_err(|e| to_wit(&e))?;
        Ok(out)
    }

    fn take_sessions(&self) -> Vec<Vec<u8>> {
        self.state.borrow_mut().tls.take_sessions()
    }

    fn take_key_log(&self) -> Vec<String> {
        let state = self.state.borrow();
        let mut lines = state.key_log.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *lines)
    }

    fn take_messages(&self) -> Vec<wit::ProtocolMessage> {
        self.state
            .borrow_mut()
            .tls
            .take_messages()
            .into_iter()
            .map(|m| {
                let line = tlswire::format_message(&m.as_message()).lines().next().unwrap_or_default().to_string();
                wit::ProtocolMessage {
                    direction: match m.direction {
                        Direction::Sent => wit::Direction::Sent,
                        Direction::Received => wit::Direction::Received,
                    },
                    version: m.version,
                    content_type: m.content_type,
                    bytes: m.bytes,
                    line,
                }
            })
            .collect()
    }
}

impl State {
    /// Runs `op` until it completes: sends what the core produced after every call (the alert
    /// too, when it failed), and feeds it input when it wants some.
    fn drive<T>(
        &mut self,
        mut op: impl FnMut(&mut Connection) -> Result<Status<T>, tlswire::Error>,
    ) -> Result<T, WitError> {
        loop {
            let status = op(&mut self.tls);
            let flushed = self.flush();
            match status {
                Err(e) => return Err(to_wit(&e)),
                Ok(Status::Done(v)) => return flushed.map(|()| v),
                Ok(Status::WantWrite) => flushed?,
                Ok(Status::WantRead) => {
                    flushed?;
                    self.fill()?;
                }
            }
        }
    }

    /// Moves the handshake on without waiting for input: `None` while it needs bytes that have
    /// not arrived, else its outcome.
    fn step_handshake(&mut self) -> Option<Result<(), WitError>> {
        loop {
            let status = self.tls.do_handshake();
            if let Err(e) = self.flush() {
                return Some(Err(e));
            }
            match status {
                Err(e) => return Some(Err(to_wit(&e))),
                Ok(Status::Done(())) => return Some(Ok(())),
                Ok(Status::WantWrite) => {}
                Ok(Status::WantRead) => match self.input.read(READ_CHUNK) {
                    Ok(bytes) if bytes.is_empty() => return None,
                    Ok(bytes) => {
                        if let Err(e) = self.tls.feed(&bytes) {
                            return Some(Err(to_wit(&e)));
                        }
                    }
                    Err(StreamError::Closed) => self.tls.feed_eof(),
                    Err(e) => return Some(Err(stream_error(e))),
                },
            }
        }
    }

    /// Writes all pending output, waiting on the output stream's pollable when it is full.
    fn flush(&mut self) -> Result<(), WitError> {
        let out = self.tls.take_output();
        if out.is_empty() {
            return Ok(());
        }
        let mut rest = &out[..];
        while !rest.is_empty() {
            let permit = self.output.check_write().map_err(stream_error)?;
            if permit == 0 {
                self.output.subscribe().block();
                continue;
            }
            let n = rest.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output.write(&rest[..n]).map_err(stream_error)?;
            rest = &rest[n..];
        }
        self.output.blocking_flush().map_err(stream_error)
    }

    /// Feeds the core one chunk of input (blocking until some arrives), or the end of stream.
    fn fill(&mut self) -> Result<(), WitError> {
        match self.input.blocking_read(READ_CHUNK) {
            Ok(bytes) => self.tls.feed(&bytes).map_err(|e| to_wit(&e)),
            Err(StreamError::Closed) => {
                self.tls.feed_eof();
                Ok(())
            }
            Err(e) => Err(stream_error(e)),
        }
    }
}

fn stream_error(e: StreamError) -> WitError {
    match e {
        StreamError::Closed => WitError::Transport("stream closed".into()),
        StreamError::LastOperationFailed(err) => WitError::Transport(err.to_debug_string()),
    }
}

fn version(v: Option<wit::Version>, default: Version) -> Version {
    match v {
        None => default,
        Some(wit::Version::Tls12) => Version::Tls12,
        Some(wit::Version::Tls13) => Version::Tls13,
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn config_error(e: tlswire::ConfigError) -> WitError {
    to_wit(&tlswire::Error::Config(e))
}

fn alert(description: tlswire::AlertDescription) -> wit::Alert {
    let n = u8::from(description);
    wit::Alert { description: n, name: tlswire::alert_name(n).to_string() }
}

/// The core's error as the WIT `error` variant.
fn to_wit(e: &tlswire::Error) -> WitError {
    use tlswire::{CertificateError as C, Error as E, ProtocolError as P, TransportError as T};
    let detail = e.to_string();
    let alert_sent = e.alert_sent().map(alert);
    let code = e.code().to_string();
    match e {
        E::Certificate { error, .. } => {
            use wit::CertificateErrorKind as K;
            let kind = match error {
                C::UnknownIssuer => K::UnknownIssuer,
                C::HostnameMismatch => K::HostnameMismatch,
                C::Expired => K::Expired,
                C::NotYetValid => K::NotYetValid,
                C::Revoked => K::Revoked,
                C::BadSignature => K::BadSignature,
                C::PinMismatch => K::PinMismatch,
                C::Missing => K::Missing,
                C::Malformed(_) => K::Malformed,
                C::NameConstraints => K::NameConstraints,
                C::KeyUsage => K::KeyUsage,
                C::Purpose => K::Purpose,
                C::UnsupportedAlgorithm(_) => K::UnsupportedAlgorithm,
                C::WeakKey(_) => K::WeakKey,
                C::CaUsedAsEndEntity => K::CaAsEndEntity,
                C::EndEntityUsedAsCa => K::EndEntityAsCa,
                C::PathLength => K::PathLength,
                C::RevocationUnknown(_) => K::RevocationUnknown,
                C::TooLarge => K::TooLarge,
                C::Rejected(_) => K::Rejected,
                _ => K::Invalid,
            };
            WitError::Certificate(wit::CertificateFailure { kind, code, alert_sent, detail })
        }
        E::Protocol { error, .. } => {
            let kind = match error {
                P::BadRecordMac => wit::ProtocolErrorKind::BadRecordMac,
                P::Malformed(_) => wit::ProtocolErrorKind::Malformed,
                P::Misbehaved(_) => wit::ProtocolErrorKind::Violation,
                P::Incompatible(_) => wit::ProtocolErrorKind::Incompatible,
                P::NoApplicationProtocol => wit::ProtocolErrorKind::NoApplicationProtocol,
                P::EchRejected { .. } => wit::ProtocolErrorKind::EchRejected,
                _ => wit::ProtocolErrorKind::Other,
            };
            let ech_retry_configs = match error {
                P::EchRejected { retry_configs } => retry_configs.clone(),
                _ => None,
            };
            WitError::Protocol(wit::ProtocolFailure { kind, code, alert_sent, detail, ech_retry_configs })
        }
        E::AlertReceived(description) => WitError::AlertReceived(alert(*description)),
        E::Transport(t) => WitError::Truncation(match t {
            T::ClosedDuringHandshake => wit::Truncation::DuringHandshake,
            T::ClosedMidRecord => wit::Truncation::MidRecord,
            _ => wit::Truncation::NoCloseNotify,
        }),
        E::Misuse(_) => WitError::Misuse(detail),
        _ => WitError::Config(detail),
    }
}

/// The stable code of a WIT error: the core's, carried by the failure records or named by
/// `tlswire::codes` (no second table here).
fn code(e: &WitError) -> String {
    use tlswire::codes;
    use wit::Truncation as T;
    match e {
        WitError::Certificate(f) => f.code.clone(),
        WitError::Protocol(f) => f.code.clone(),
        WitError::AlertReceived(_) => codes::ALERT_RECEIVED.into(),
        WitError::Truncation(T::DuringHandshake) => codes::CLOSED_DURING_HANDSHAKE.into(),
        WitError::Truncation(T::MidRecord) => codes::CLOSED_MID_RECORD.into(),
        WitError::Truncation(T::NoCloseNotify) => codes::TRUNCATED.into(),
        WitError::Transport(_) => codes::CHANNEL_ERROR.into(),
        WitError::Misuse(_) => codes::MISUSE.into(),
        WitError::Config(_) => codes::CONFIG.into(),
    }
}
