//! [`Connection`]: one TLS connection in client or server state, driven like OpenSSL's `SSL` over
//! memory BIOs.

use std::sync::{Arc, Mutex};

use pki_types::ServerName;
use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus};
use rustls::{AlertDescription, HandshakeKind};
use tlswire_crypto::offload::{self, RxKey, Window};
use tlswire_crypto::{sealer, tap};

use crate::config::{ClientContext, ServerContext, Version};
use crate::error::{CertificateError, ConfigError, Error, Misuse, ProtocolError, TransportError};
use crate::exporter;
use crate::hello;
use crate::keylog;
use crate::observer::{Callback, Observer, OwnedMessage};
use crate::session::{self, Offer};

/// A verification hook ([`Connection::set_verify_hook`]): gets the server name (a client's; empty
/// on a server) and the chain the peer sent (DER, leaf first); `Err(reason)` refuses it.
pub type VerifyHook = Box<dyn FnMut(&str, &[&[u8]]) -> Result<(), String> + Send>;

/// The key log callback: called with each line, in the order rustls derives the secrets.
pub type KeyLogCallback = Box<dyn FnMut(&str) + Send>;

type SessionGroups = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>;

/// Largest plaintext in one record (RFC 8446 §5.1).
pub const MAX_RECORD_PLAINTEXT: usize = 16384;
/// Default output high-water mark: writes are refused (want-write) while this much is unsent.
pub const DEFAULT_OUTPUT_LIMIT: usize = 4 * (MAX_RECORD_PLAINTEXT + 256);
/// Smallest protected record handed out for decryption elsewhere ([`Connection::offload_jobs`]):
/// below this, a round trip through the platform's asynchronous AES-GCM costs more than opening
/// the record here.
pub const OFFLOAD_MIN_RECORD: usize = 2048;
/// Bound on alert-flush iterations after a failure (each yields at most one record).
const MAX_FLUSH_STEPS: usize = 8;

/// What a call needs before it can make progress — OpenSSL's `SSL_ERROR_WANT_READ/WRITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The call completed with this value.
    Done(T),
    /// Feed more received bytes ([`Connection::feed`]), then call again.
    WantRead,
    /// Send the pending output ([`Connection::output`]), then call again.
    WantWrite,
}

/// Facts about an established connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    pub version: Version,
    /// IANA name, e.g. `TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// Key exchange group, e.g. `X25519MLKEM768`, `X25519`, `secp256r1`. A client's resumed TLS
    /// 1.2 session exchanges no key: it reports the group of the handshake that made the session
    /// (as OpenSSL and BoringSSL do); a server's, none.
    pub group: Option<String>,
    /// The agreed ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The peer's certificate chain (DER, leaf first); empty if it sent none.
    pub peer_certificates: Vec<Vec<u8>>,
    /// Whether the server answered with a HelloRetryRequest (also on a resumed connection).
    pub hello_retry_request: bool,
    /// Whether the session was resumed (a ticket or session ID the server accepted).
    pub resumed: bool,
    /// A client's: the OCSP response the server stapled to its certificate (DER), as received.
    /// tlswire does not check it (nor does rustls): hand it to an OCSP library if you rely on
    /// it. `None` when the server stapled none, and on a resumed session.
    pub ocsp_response: Option<Vec<u8>>,
    /// The signature scheme of this side's handshake signature (IANA name, e.g.
    /// `ecdsa_secp256r1_sha256`); `None` if it made none (a client without a certificate, a
    /// resumed session).
    pub signature_scheme: Option<String>,
    /// The signature scheme of the peer's handshake signature; `None` if it made none.
    pub peer_signature_scheme: Option<String>,
    /// A server's: which of its certificates it presented (0: the one given to
    /// `ServerConfig::new`, then those added in order); `None` for a client and on a resumption.
    pub certificate: Option<usize>,
    /// Bytes of early data (0-RTT) accepted: a server's, received and handed to `read` first
    /// in the stream; a client's, sent with [`Connection::write_early_data`]. 0 if none.
    pub early_data: usize,
    /// A client's: bytes of early data the server refused, which tlswire then sent again as
    /// ordinary data right after the handshake (nothing is lost; when the application protocol
    /// may have changed the connection fails instead: [`Connection::write_early_data`]). 0 if
    /// none.
    pub early_data_rejected: usize,
    /// A client's: whether its ClientHello was encrypted (ECH) or carried GREASE ECH.
    pub ech: crate::EchStatus,
    /// The peer's record_size_limit (RFC 8449), if it sent one: the largest record it accepts
    /// (in TLS 1.3 counting the content type byte). tlswire's records to it are no larger, and
    /// tlswire says it takes records of any size.
    pub peer_record_size_limit: Option<u16>,
}

impl Info {
    /// The peer's leaf certificate's subject, RFC 4514 ([`crate::certificate_subject`]).
    pub fn peer_subject(&self) -> Option<String> {
        crate::certificate_subject(self.peer_certificates.first()?)
    }
}

enum Tls {
    Client(UnbufferedClientConnection),
    Server(UnbufferedServerConnection),
}

/// One TLS connection, client or server, with no I/O of its own.
///
/// # Call protocol
/// The connection owns two byte queues and the caller moves bytes between them and the network:
///
/// ```text
///   network --recv--> feed(bytes) / feed_eof()        output() / consume_output(n) --send--> network
///                              \                      /
///                  do_handshake()  write(plaintext)  read(buf)  close()
/// ```
///
/// 1. [`feed`](Self::feed) every received byte (any chunking: one byte at a time works), and
///    [`feed_eof`](Self::feed_eof) when the transport reports end of stream.
/// 2. Call [`do_handshake`](Self::do_handshake), [`write`](Self::write),
///    [`read`](Self::read) or [`close`](Self::close). Each returns [`Status::WantWrite`] while
///    output is waiting, [`Status::WantRead`] when it needs more input, or `Done`.
/// 3. After **every** call, send whatever [`output`](Self::output) holds and
///    [`consume_output`](Self::consume_output) it (or use [`take_output`](Self::take_output)).
///
/// `write` and `read` drive the handshake themselves, as `SSL_write`/`SSL_read` do. Errors are
/// sticky: once a call fails, every later call returns the same error, and the alert sent for it
/// is already in the output queue.
pub struct Connection {
    tls: Tls,
    /// Received bytes; `incoming[incoming_start..]` is what rustls has not discarded yet.
    incoming: Vec<u8>,
    /// Bytes at the front of `incoming` already discarded (compacted lazily, so a large
    /// buffered input costs O(n), not one front-drain per record).
    incoming_start: usize,
    /// Stream offset of `incoming[incoming_start]`: bytes received and discarded before it.
    incoming_offset: u64,
    /// How many bytes after `incoming_start` rustls may look at.
    released: usize,
    /// Bytes for the peer, oldest first.
    outgoing: Vec<u8>,
    /// Decrypted application data; `plaintext[plaintext_read..]` is not read yet.
    plaintext: Vec<u8>,
    plaintext_read: usize,
    observer: Option<Observer>,
    /// Messages kept for [`Connection::take_messages`] (set by [`Connection::record_messages`]).
    recorded: Option<Arc<Mutex<Vec<OwnedMessage>>>>,
    started: bool,
    eof: bool,
    peer_closed: bool,
    close_sent: bool,
    handshake_done: bool,
    failed: Option<Error>,
    partial_writes: bool,
    output_limit: usize,
    max_version: Version,
    /// A server's: the client's first ClientHello being gathered for its check
    /// ([`crate::hello`]); `None` once checked (and always on a client).
    hello: Option<hello::Gatherer>,
    /// Set by [`Connection::set_key_log`].
    key_log: Option<KeyLogCallback>,
    /// Set by [`Connection::set_verify_hook`].
    verify_hook: Option<VerifyHook>,
    /// The verify hook has judged the chain of a resumed session (see [`Connection::pump`]).
    resumption_judged: bool,
    /// The schemes of the peer's and this side's handshake signatures.
    peer_scheme: Option<rustls::SignatureScheme>,
    own_scheme: Option<rustls::SignatureScheme>,
    /// A server's: which of its certificates it presented.
    certificate: Option<usize>,
    /// A server's: whether the handshake will be TLS 1.3, from the ClientHello ([`crate::hello`]).
    client_tls13: Option<bool>,
    /// Whether TLS 1.2 uses the extended master secret (RFC 7627), read from the hello that
    /// decides it (a server's: the ClientHello; a client's: the ServerHello); `None`: unknown.
    ems: Option<bool>,
    /// Bytes of early data (0-RTT) accepted: a server's received, a client's sent.
    early_data: usize,
    /// A client's early data, kept until the server says whether it accepted it.
    early_sent: Option<Vec<u8>>,
    /// A client's early data the server refused (sent again after the handshake).
    early_rejected: usize,
    /// A client's ALPN protocols as offered, to judge refused early data by.
    offered_alpn: Vec<Vec<u8>>,
    /// The OCSP response the server stapled (a client's, [`Info::ocsp_response`]).
    ocsp: Option<Vec<u8>>,
    /// Sessions to hand out, oldest first (`Some` once [`Connection::record_sessions`] asked).
    sessions: Option<std::collections::VecDeque<Vec<u8>>>,
    /// A client's context's session policy ([`crate::session`]).
    policy: Option<[u8; 32]>,
    ech: crate::EchStatus,
    /// What [`Connection::export_keying_material`] derives from.
    exporter: exporter::Secrets,
    /// A client's context's TLS 1.2 session groups and this connection's server name
    /// ([`crate::ClientContext`]).
    session_groups: Option<(SessionGroups, String)>,
    /// Stream offset of the next record header whose length is not checked yet.
    header_check: u64,
    /// [`Connection::check_record_lengths`] has passed a ChangeCipherSpec record of the peer's:
    /// in TLS 1.2 the records after it are protected (longer limit), those before it plaintext.
    peer_ccs_checked: bool,
    /// Stream offset of the first record longer than TLS allows: rustls gets the input before
    /// it, then the connection fails with record_overflow.
    overflow_at: Option<u64>,
    /// Set by [`Connection::set_record_offload`].
    offload: Option<Offload>,
    /// The encrypter rustls protects its records with now, and any it made since (see
    /// [`Connection::seal_missing_alert`]).
    sealers: Vec<sealer::Sealer>,
    /// Data decrypted before a failure that `read` met itself, handed out before the failure.
    unread_before_failure: std::cell::Cell<bool>,
    /// A HelloRetryRequest was sent or received. rustls reports one only until a resumption
    /// replaces its handshake kind with "resumed", which always happens in a later call.
    hello_retry_request: bool,
}

fn parse_server_name(server_name: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(server_name.to_string())
        .map_err(|_| ConfigError::BadServerName(server_name.to_string()).into())
}

/// Decryption handed out to the caller: the current receive key, if it is AES-GCM.
#[derive(Default)]
struct Offload {
    rx: Option<Arc<RxKey>>,
    /// Counts receive keys, so results computed under an earlier key are told apart.
    generation: u32,
    /// Records under the current key with a sequence number below this were handed out already.
    jobbed_to: u64,
}

impl Connection {
    /// A client connection to `server_name` (a DNS name or IP address; sent as SNI if a name,
    /// and the name the server certificate is verified against).
    pub fn client(ctx: &ClientContext, server_name: &str) -> Result<Self, Error> {
        Self::client_offering(ctx, server_name, None)
    }

    /// A client connection that offers `session`, bytes an earlier connection's
    /// [`take_sessions`](Self::take_sessions) gave, perhaps in another process, instead of a
    /// session from the context's memory. The session is offered only to the server name it
    /// came from, under the verification settings that made it, if its suite is allowed and it
    /// has not expired; otherwise the handshake is a full one ([`Info::resumed`] says which).
    /// Bytes that are not a tlswire session are [`ConfigError::BadSession`].
    pub fn client_resuming(ctx: &ClientContext, server_name: &str, session: &[u8]) -> Result<Self, Error> {
        let opened = session::open_envelope(session)?;
        let name = parse_server_name(server_name)?;
        let decoded = session::decode(opened.tls13, opened.value, &name, &ctx.config)?;
        let offer = decoded.filter(|_| opened.server_name == server_name && opened.policy == ctx.policy);
        if let (Some(Offer::Tls12(..)), false) = (&offer, opened.group.is_empty()) {
            let mut groups = ctx.tls12_groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            groups.insert(server_name.to_string(), opened.group.to_string());
        }
        Self::client_offering(ctx, server_name, Some(offer))
    }

    fn client_offering(ctx: &ClientContext, server_name: &str, offer: Option<Option<Offer>>) -> Result<Self, Error> {
        let name = parse_server_name(server_name)?;
        // rustls looks for a session to offer as it writes the ClientHello, here; and it makes
        // the early-data encrypter here, which the core must know to protect an alert after
        // early data as rustls would.
        let capture = offer.is_some().then(|| session::open(false, offer));
        let listening = sealer::listen();
        let conn = UnbufferedClientConnection::new(ctx.config.clone(), name)
            .map_err(|e| Error::Config(ConfigError::Rejected(e.to_string())))?;
        let sealers = sealer::take();
        drop(listening);
        drop(capture);
        let mut connection = Self::new(Tls::Client(conn), ctx.max_version);
        connection.sealers = sealers;
        connection.session_groups = Some((ctx.tls12_groups.clone(), server_name.to_string()));
        connection.policy = Some(ctx.policy);
        connection.ech = ctx.ech;
        connection.offered_alpn = ctx.config.alpn_protocols.clone();
        Ok(connection)
    }

    /// A server connection.
    pub fn server(ctx: &ServerContext) -> Result<Self, Error> {
        let conn = UnbufferedServerConnection::new(ctx.config.clone())
            .map_err(|e| Error::Config(ConfigError::Rejected(e.to_string())))?;
        Ok(Self::new(Tls::Server(conn), ctx.max_version))
    }

    fn new(tls: Tls, max_version: Version) -> Self {
        Self {
            hello: matches!(tls, Tls::Server(_)).then(hello::Gatherer::default),
            key_log: None,
            exporter: exporter::Secrets::default(),
            sessions: None,
            policy: None,
            ech: crate::EchStatus::NotOffered,
            ocsp: None,
            verify_hook: None,
            resumption_judged: false,
            peer_scheme: None,
            own_scheme: None,
            certificate: None,
            client_tls13: None,
            ems: None,
            early_data: 0,
            early_sent: None,
            early_rejected: 0,
            offered_alpn: Vec::new(),
            session_groups: None,
            header_check: 0,
            peer_ccs_checked: false,
            overflow_at: None,
            tls,
            incoming: Vec::new(),
            incoming_start: 0,
            incoming_offset: 0,
            released: 0,
            outgoing: Vec::new(),
            plaintext: Vec::new(),
            plaintext_read: 0,
            observer: None,
            recorded: None,
            started: false,
            eof: false,
            peer_closed: false,
            close_sent: false,
            handshake_done: false,
            failed: None,
            partial_writes: false,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            max_version,
            offload: None,
            sealers: Vec::new(),
            hello_retry_request: false,
            unread_before_failure: std::cell::Cell::new(false),
        }
    }

    /// Sets the message observer (`SSL_set_msg_callback`). Must be called before the first
    /// `feed`/`do_handshake`/`write`/`read`; later it is refused, since messages already passed
    /// could not be reported.
    pub fn set_msg_callback(&mut self, callback: Callback) -> Result<(), Error> {
        if self.started {
            return Err(Misuse::ObserverTooLate.into());
        }
        let is_client = matches!(self.tls, Tls::Client(_));
        self.observer = Some(Observer::new(callback, self.max_version.wire(), is_client));
        Ok(())
    }

    /// Hands this connection's secrets to `callback` as key log lines (`SSLKEYLOGFILE`, NSS
    /// format, without the newline), e.g. `CLIENT_TRAFFIC_SECRET_0 <client random> <secret>` in
    /// hex; for TLS 1.2 one `CLIENT_RANDOM` line. **Anyone with these lines can decrypt the
    /// connection**: for debugging with Wireshark only. The only way tlswire reveals secrets.
    /// Must be called before the connection starts, like [`Connection::set_msg_callback`].
    pub fn set_key_log(&mut self, callback: KeyLogCallback) -> Result<(), Error> {
        if self.started {
            return Err(Misuse::KeyLogTooLate.into());
        }
        self.key_log = Some(callback);
        Ok(())
    }

    /// This side's own check of the peer's certificate chain, run during the handshake after
    /// tlswire's have passed (a client's: CAs, name, validity, revocation, pins; a server's: the
    /// client CAs) — or instead of them when the context was built with
    /// `dangerously_disable_verification` (a client) or
    /// `dangerously_accept_any_client_certificate` (a server). It gets the server name (a
    /// client's; empty on a server) and the chain as sent (DER, leaf first: the leaf's key signs
    /// the handshake; the certificates after it are as the peer sent them, unverified: judge the
    /// leaf, or verify the rest yourself); `Err(reason)` fails
    /// the handshake with [`CertificateError::Rejected`] (`CERT_REJECTED`) and the alert
    /// certificate_unknown. On a resumed session (where no certificate is sent) it judges the
    /// chain stored with the session, as soon as rustls accepts the session and before any data
    /// of the connection, early data included, is handed out: a certificate the hook refuses
    /// now cannot come back through a ticket issued before. Not run on a server for a client
    /// that sends no certificate. Must be set before the connection starts.
    pub fn set_verify_hook(&mut self, hook: VerifyHook) -> Result<(), Error> {
        if self.started {
            return Err(Misuse::HookTooLate.into());
        }
        self.verify_hook = Some(hook);
        Ok(())
    }

    /// Refuses the peer after the handshake, for callers that check it then rather than with a
    /// hook (a host reading [`Connection::info`] before its first write): sends the fatal alert
    /// certificate_unknown and fails the connection with [`CertificateError::Rejected`]
    /// (`CERT_REJECTED`, sticky like every failure). Before the handshake completes it is
    /// [`Misuse::HandshakeNotDone`]; after a failure, that failure.
    pub fn reject_peer(&mut self, reason: &str) -> Error {
        if let Some(e) = self.reported_failure() {
            return e;
        }
        if !self.handshake_done {
            return Misuse::HandshakeNotDone.into();
        }
        self.refuse_certificate(reason)
    }

    /// Fails the connection with [`CertificateError::Rejected`] and the alert
    /// certificate_unknown, protected as rustls protects its records now.
    fn refuse_certificate(&mut self, reason: &str) -> Error {
        let mut capture = tap::open(tap::Scope::All);
        let start = self.outgoing.len();
        let sent = self.seal_alert(2, u8::from(AlertDescription::CertificateUnknown));
        let tapped = capture.take();
        drop(capture);
        if let Some(obs) = &mut self.observer {
            obs.add_tapped(tapped);
            obs.report_sent(self.outgoing.get(start..).unwrap_or_default());
        }
        let error = Error::Certificate {
            error: CertificateError::Rejected(reason.to_string()),
            alert_sent: sent.then_some(AlertDescription::CertificateUnknown),
        };
        self.failed = Some(error.clone());
        error
    }

    /// A client's early data (TLS 1.3 0-RTT, OpenSSL's `SSL_write_early_data`): on a connection
    /// made with [`Connection::client_resuming`] (or resuming from the context's memory) whose
    /// session allows it, with `early_data` on in the config, encrypts as much of `data` as the
    /// server's limit allows, to go out with the ClientHello, and returns how much (0 when early
    /// data is not possible: call it before the handshake, and write the rest normally; 0 too
    /// with a verify hook set, which could not judge the server before the data left). If the
    /// server refuses it, tlswire sends it again as ordinary data right after the handshake when
    /// the application protocol cannot have changed (no ALPN offered, or a single protocol, which
    /// the server chose); otherwise the server may now speak another protocol than the one the
    /// data was written for (RFC 8446 section 4.2.10), and the connection fails
    /// (`HANDSHAKE_INCOMPATIBLE`, saying how many bytes were not sent) for the caller to connect
    /// again. [`Info::early_data`] and [`Info::early_data_rejected`] say which. Early data can be
    /// replayed by an attacker: send only what may safely arrive twice.
    pub fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        self.check_not_abandoned()?;
        let Tls::Client(client) = &mut self.tls else { return Ok(0) };
        // Early data leaves with the ClientHello, before the verify hook can judge the server the
        // session came from: with a hook, everything waits for the handshake.
        if self.handshake_done || data.is_empty() || self.verify_hook.is_some() {
            return Ok(0);
        }
        #[cfg(client_early_data)]
        let n = client.write_early_data(data).unwrap_or(0);
        #[cfg(not(client_early_data))]
        let n = {
            let _ = client;
            0
        };
        if n > 0 {
            // rustls took the first `n` bytes of `data`.
            self.early_sent.get_or_insert_with(Vec::new).extend_from_slice(data.get(..n).unwrap_or(data));
            self.started = true;
            self.pump(&mut Want::Nothing)?;
        }
        Ok(n)
    }

    /// Keeps each session the server gives (a TLS 1.3 ticket, a TLS 1.2 session) for
    /// [`Connection::take_sessions`]. Call before the handshake (a TLS 1.2 session is stored as
    /// it ends). A no-op for servers.
    pub fn record_sessions(&mut self) {
        if self.policy.is_some() && self.sessions.is_none() {
            self.sessions = Some(Default::default());
        }
    }

    /// The sessions received since the last call, oldest first, as bytes to keep (a file, KV,
    /// IndexedDB) and offer later with [`Connection::client_resuming`], in this process or
    /// another. At most the newest 8 wait. **The bytes hold the session's secret**: whoever has
    /// them can resume the session (and, for TLS 1.2, decrypt the connections that resume it).
    /// Offer each TLS 1.3 session once: a ticket used twice links the two connections.
    pub fn take_sessions(&mut self) -> Vec<Vec<u8>> {
        self.sessions.as_mut().map(|q| q.drain(..).collect()).unwrap_or_default()
    }

    /// Keeps every protocol message for [`Connection::take_messages`]: the message observer for
    /// callers that drain messages rather than take callbacks (bindings). Same rule as
    /// [`Connection::set_msg_callback`], which it replaces.
    pub fn record_messages(&mut self) -> Result<(), Error> {
        let queue: Arc<Mutex<Vec<OwnedMessage>>> = Arc::default();
        let sink = queue.clone();
        self.set_msg_callback(Box::new(move |m| {
            if let Ok(mut q) = sink.lock() {
                q.push(m.to_owned());
            }
        }))?;
        self.recorded = Some(queue);
        Ok(())
    }

    /// The messages recorded since the last call, oldest first (none unless
    /// [`Connection::record_messages`] was called).
    pub fn take_messages(&mut self) -> Vec<OwnedMessage> {
        match &self.recorded {
            Some(q) => q.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Lets the caller decrypt received application data with its own AES-GCM (the platform's
    /// WebCrypto, say), ahead of the connection: [`offload_jobs`](Self::offload_jobs) hands out
    /// each received record's nonce, additional data and ciphertext, and
    /// [`offload_opened`](Self::offload_opened) takes back the plaintext of those that
    /// authenticated. Records without a result are decrypted here as always, so errors, alerts,
    /// KeyUpdate and the message observer do not change. Same rule as
    /// [`set_msg_callback`](Self::set_msg_callback): before the connection starts.
    pub fn set_record_offload(&mut self, on: bool) -> Result<(), Error> {
        if self.started {
            return Err(Misuse::OffloadTooLate.into());
        }
        self.offload = on.then(Offload::default);
        Ok(())
    }

    /// Decryption jobs for the complete received records not handed out before, encoded for
    /// bindings (all integers big-endian):
    ///
    /// ```text
    /// generation u32, then per record: seq u64, nonce [12], aad_len u8, aad, body_len u32, body
    /// ```
    ///
    /// `body` is AES-GCM ciphertext with its 16-byte tag, under the key
    /// [`offload_key`](Self::offload_key) returns for `generation`. Empty when there is nothing
    /// to hand out: offload off, the handshake not done, a key that is not AES-GCM, or no record
    /// of at least [`OFFLOAD_MIN_RECORD`] bytes.
    pub fn offload_jobs(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.handshake_done || self.failed.is_some() || self.peer_closed {
            return out;
        }
        let tls13 = self.common().protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let Some(off) = self.offload.as_mut() else {
            return out;
        };
        let Some(rx) = off.rx.clone() else {
            return out;
        };
        let window = self.incoming.get(self.incoming_start..).unwrap_or_default();
        for (seq, (_, header, payload)) in (rx.next_seq()..).zip(protected_records(window, tls13)) {
            if header[0] != 23
                || seq < off.jobbed_to
                || !(OFFLOAD_MIN_RECORD..=MAX_RECORD_PLAINTEXT + 256).contains(&payload.len())
            {
                continue;
            }
            // A record too short for the key is no job (nor is one whose body is not in it).
            let Some(job) = rx.job(seq, &header, payload) else { continue };
            let Some(body) = payload.get(job.body) else { continue };
            if out.is_empty() {
                out.extend_from_slice(&off.generation.to_be_bytes());
            }
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&job.nonce);
            out.push(job.aad.len() as u8);
            out.extend_from_slice(&job.aad);
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(body);
            off.jobbed_to = seq + 1;
        }
        out
    }

    /// The AES key (16 or 32 bytes) of offload generation `generation`, if it is current.
    pub fn offload_key(&self, generation: u32) -> Option<&[u8]> {
        let off = self.offload.as_ref()?;
        (off.generation == generation).then_some(off.rx.as_deref()?.key())
    }

    /// The plaintext the caller's AES-GCM produced, and authenticated, for the job `seq` of
    /// `generation`. Results for a key no longer current, or for records already processed, are
    /// dropped.
    pub fn offload_opened(&mut self, generation: u32, seq: u64, plaintext: Vec<u8>) {
        let tls13 = self.common().protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let Some(rx) = self.offload.as_ref().filter(|o| o.generation == generation).and_then(|o| o.rx.clone()) else {
            return;
        };
        let first = rx.next_seq();
        let Some(index) = seq.checked_sub(first) else {
            return;
        };
        let window = self.incoming.get(self.incoming_start..).unwrap_or_default();
        if let Some((at, header, _)) = protected_records(window, tls13).nth(index as usize) {
            rx.offer(seq, self.incoming_offset + at as u64, header, plaintext);
        }
    }

    /// Opt-in partial writes (`SSL_MODE_ENABLE_PARTIAL_WRITE`): `write` may accept a prefix made
    /// of whole records and report its length.
    pub fn set_partial_writes(&mut self, on: bool) {
        self.partial_writes = on;
    }

    /// Output high-water mark: `write` answers want-write while at least this much is unsent.
    pub fn set_output_limit(&mut self, bytes: usize) {
        self.output_limit = bytes.max(1);
    }

    /// Received bytes, in order, in any chunking.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        if self.eof {
            return Err(Misuse::InputAfterEof.into());
        }
        self.started = true;
        if let Some(obs) = &mut self.observer {
            obs.scan_received(bytes);
        }
        self.incoming.extend_from_slice(bytes);
        Ok(())
    }

    /// The transport reached end of stream: no more bytes will be fed.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes waiting to be sent to the peer.
    pub fn output(&self) -> &[u8] {
        &self.outgoing
    }

    /// Marks the first `n` bytes of [`output`](Self::output) as sent.
    pub fn consume_output(&mut self, n: usize) {
        self.outgoing.drain(..n.min(self.outgoing.len()));
    }

    /// Takes all pending output.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.outgoing)
    }

    /// Whether the handshake has completed.
    pub fn is_handshake_done(&self) -> bool {
        self.handshake_done
    }

    /// Whether the peer has sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// `SSL_do_handshake`: drives the handshake as far as the input allows.
    pub fn do_handshake(&mut self) -> Result<Status<()>, Error> {
        self.check_not_abandoned()?;
        self.pump(&mut Want::Nothing)?;
        if !self.outgoing.is_empty() {
            return Ok(Status::WantWrite);
        }
        if self.handshake_done {
            return Ok(Status::Done(()));
        }
        self.need_input()
    }

    /// `SSL_write`. By default the whole of `data` is accepted or none of it: while the handshake
    /// is incomplete or the output queue is above its limit the answer is want-read/want-write
    /// and nothing is consumed, so retrying with the same bytes is always right. With
    /// [`set_partial_writes`](Self::set_partial_writes), a prefix of whole records (each at most
    /// 16 KiB of plaintext) may be taken; `Done(n)` says how much.
    pub fn write(&mut self, data: &[u8]) -> Result<Status<usize>, Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        if self.close_sent {
            return Err(Misuse::WriteAfterClose.into());
        }
        self.pump(&mut Want::Nothing)?;
        if !self.handshake_done {
            return if self.outgoing.is_empty() { self.need_input() } else { Ok(Status::WantWrite) };
        }
        if data.is_empty() {
            return Ok(Status::Done(0));
        }
        if self.outgoing.len() >= self.output_limit {
            return Ok(Status::WantWrite);
        }
        let take = if self.partial_writes {
            let records = (self.output_limit - self.outgoing.len()).div_ceil(MAX_RECORD_PLAINTEXT + 256);
            data.len().min(records.max(1) * MAX_RECORD_PLAINTEXT)
        } else {
            data.len()
        };
        let mut want = Want::Encrypt(data.get(..take).unwrap_or(data));
        self.pump(&mut want)?;
        match want {
            Want::Nothing => Ok(Status::Done(take)),
            _ => self.need_input(),
        }
    }

    /// `SSL_read`: decrypted application data into `buf`. `Done(0)` (for a non-empty `buf`) is a
    /// clean end of stream: the peer sent close_notify. Transport EOF without close_notify is
    /// [`TransportError::Truncated`], never a silent end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Status<usize>, Error> {
        match self.read_available()? {
            Status::Done(unread) => {
                let n = buf.len().min(unread.len());
                for (dst, src) in buf.iter_mut().zip(unread) {
                    *dst = *src;
                }
                // Hand back what did not fit.
                self.plaintext_read -= unread.len() - n;
                Ok(Status::Done(n))
            }
            Status::WantRead => Ok(Status::WantRead),
            Status::WantWrite => Ok(Status::WantWrite),
        }
    }

    /// [`read`](Self::read) without the copy: all application data decrypted so far, as one
    /// slice, now counted as read. `Done` with an empty slice is the clean end of stream
    /// (close_notify); the other answers are `read`'s. For bindings that copy the plaintext out
    /// anyway (into a JavaScript array, say): one copy and one call per batch of records.
    pub fn read_available(&mut self) -> Result<Status<&[u8]>, Error> {
        self.check_not_abandoned()?;
        // A failure another call returned is sticky: nothing decrypted before it comes after it.
        if let (Some(e), false) = (&self.failed, self.unread_before_failure.get()) {
            return Err(e.clone());
        }
        if self.plaintext_read == self.plaintext.len() {
            self.plaintext.clear();
            self.plaintext_read = 0;
            // Data that authenticated before a failure in the same input is handed out first;
            // the failure is sticky and answers the next call.
            if let Err(e) = self.pump(&mut Want::Nothing) {
                if self.plaintext.is_empty() {
                    return Err(e);
                }
                self.unread_before_failure.set(true);
            }
        }
        if self.plaintext_read < self.plaintext.len() {
            let start = std::mem::replace(&mut self.plaintext_read, self.plaintext.len());
            return Ok(Status::Done(self.plaintext.get(start..).unwrap_or_default()));
        }
        self.unread_before_failure.set(false);
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        if self.peer_closed {
            return Ok(Status::Done(&[]));
        }
        if !self.outgoing.is_empty() {
            return Ok(Status::WantWrite);
        }
        self.need_input()
    }

    /// Queues close_notify (`SSL_shutdown`). Reading goes on until the peer's close_notify.
    /// Before the handshake completes, a warning user_canceled goes first (RFC 8446 §6.1) and
    /// the connection ends for good: every later call that could move the handshake on
    /// (`do_handshake`, `read`, `key_update`, `write_early_data`) is
    /// [`Misuse::HandshakeAfterClose`] and writes nothing. After a
    /// failure, returns that failure (errors are sticky).
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        if self.close_sent {
            return Ok(());
        }
        self.pump(&mut Want::Nothing)?;
        if self.handshake_done {
            self.close_sent = true;
            self.pump(&mut Want::CloseNotify)?;
        } else if self.started {
            let mut capture = tap::open(tap::Scope::All);
            let start = self.outgoing.len();
            let warning = 1;
            for description in [AlertDescription::UserCanceled, AlertDescription::CloseNotify] {
                self.seal_alert(warning, u8::from(description));
            }
            let tapped = capture.take();
            drop(capture);
            if let Some(obs) = &mut self.observer {
                obs.add_tapped(tapped);
                obs.report_sent(self.outgoing.get(start..).unwrap_or_default());
            }
        }
        self.close_sent = true;
        Ok(())
    }

    /// The failure, if any, as a call returns it. Once the caller has been told of it, nothing
    /// decrypted before the failure is handed out after it: errors are sticky.
    fn reported_failure(&self) -> Option<Error> {
        let e = self.failed.clone()?;
        self.unread_before_failure.set(false);
        Some(e)
    }

    /// After `close` ended the connection mid-handshake, the handshake goes no further.
    fn check_not_abandoned(&self) -> Result<(), Error> {
        if self.close_sent && !self.handshake_done {
            return Err(Misuse::HandshakeAfterClose.into());
        }
        Ok(())
    }

    /// `SSL_key_update`: sends a TLS 1.3 KeyUpdate and sends from now on under new keys (RFC
    /// 8446 section 4.6.3); with `request_peer` (`SSL_KEY_UPDATE_REQUESTED`) the peer is asked
    /// to update its keys too. A peer's KeyUpdate is answered without being asked.
    /// [`Misuse::BadKeyUpdate`] before the handshake completes, after `close`, on TLS 1.2
    /// (which has no KeyUpdate), and for `request_peer == false`: rustls 0.23 sends only
    /// `update_requested`.
    pub fn key_update(&mut self, request_peer: bool) -> Result<(), Error> {
        if !request_peer {
            return Err(Misuse::BadKeyUpdate("only update_requested is supported (rustls 0.23)").into());
        }
        self.pump(&mut Want::Nothing)?;
        let tls13 = self.common().protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        if !self.handshake_done {
            return Err(Misuse::BadKeyUpdate("the handshake is not complete").into());
        }
        if self.close_sent {
            return Err(Misuse::BadKeyUpdate("the connection is closed").into());
        }
        if !tls13 {
            return Err(Misuse::BadKeyUpdate("TLS 1.2 has no KeyUpdate").into());
        }
        self.pump(&mut Want::KeyUpdate)
    }

    /// `SSL_export_keying_material`: fills `out` with keying material for `label` and
    /// `context`, by RFC 8446 section 7.5 (TLS 1.3) or RFC 5705 (TLS 1.2), once the handshake
    /// is done. In TLS 1.2 no context (`None`) and an empty one differ; in TLS 1.3 they are the
    /// same. Both ends get the same bytes for the same label and context, and nobody else can.
    /// A TLS 1.2 connection without the extended master secret (RFC 7627) exports nothing
    /// ([`Misuse::BadExport`]): its master secret could be shared with another connection. At
    /// most [`crate::MAX_EXPORT`] bytes at a time.
    pub fn export_keying_material(&self, out: &mut [u8], label: &[u8], context: Option<&[u8]>) -> Result<(), Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        if !self.handshake_done {
            return Err(Misuse::BadExport("the handshake is not complete").into());
        }
        let suite = self.common().negotiated_cipher_suite().ok_or(Misuse::BadExport("no cipher suite"))?;
        // RFC 7627 section 5.4: without the extended master secret a TLS 1.2 master secret can
        // be the same on two connections with different peers (the triple handshake), so
        // material exported from it binds nothing.
        if matches!(suite, rustls::SupportedCipherSuite::Tls12(_)) && self.ems != Some(true) {
            return Err(Misuse::BadExport("TLS 1.2 without the extended master secret (RFC 7627)").into());
        }
        self.exporter.export(suite, out, label, context)
    }

    /// Version, suite, group, ALPN, peer chain and HRR, once the handshake is done.
    pub fn info(&self) -> Option<Info> {
        if !self.handshake_done {
            return None;
        }
        let common = self.common();
        let version = match common.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => Version::Tls13,
            _ => Version::Tls12,
        };
        let suite = common.negotiated_cipher_suite()?;
        // rustls asks the certificate resolver (and so a key to choose its scheme) for every
        // ClientHello, a resumption's too, though nothing is sent or signed then.
        let resumed = common.handshake_kind() == Some(HandshakeKind::Resumed);
        Some(Info {
            version,
            cipher_suite: crate::config::suite_name(suite.suite()),
            group: common
                .negotiated_key_exchange_group()
                .map(|g| crate::config::group_name(g.name()))
                .or_else(|| self.session_group().filter(|_| version == Version::Tls12)),
            alpn: common.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: common
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
                .unwrap_or_default(),
            hello_retry_request: self.hello_retry_request,
            resumed,
            ocsp_response: self.ocsp.clone(),
            signature_scheme: self.own_scheme.filter(|_| !resumed).map(crate::config::scheme_name),
            peer_signature_scheme: self.peer_scheme.filter(|_| !resumed).map(crate::config::scheme_name),
            certificate: self.certificate.filter(|_| !resumed),
            early_data: self.early_data,
            early_data_rejected: self.early_rejected,
            ech: self.ech,
            #[cfg(record_size_limit)]
            peer_record_size_limit: common.peer_record_size_limit(),
            #[cfg(not(record_size_limit))]
            peer_record_size_limit: None,
        })
    }

    /// Queues a session rustls stored, in tlswire's envelope.
    fn keep_session(&mut self, stored: &session::Stored) {
        let (Some(policy), Some((_, name))) = (self.policy, &self.session_groups) else { return };
        let group = if stored.tls13 {
            None
        } else {
            self.common()
                .negotiated_key_exchange_group()
                .map(|g| crate::config::group_name(g.name()))
                .or_else(|| self.session_group())
        };
        let bytes = session::envelope(stored, name, &policy, group.as_deref());
        if let Some(queue) = self.sessions.as_mut() {
            if queue.len() == session::MAX_QUEUED {
                queue.pop_front();
            }
            queue.push_back(bytes);
        }
    }

    /// A client's full TLS 1.2 handshake: remembers its group for the sessions that resume it.
    fn note_session_group(&self) {
        let Some((groups, name)) = &self.session_groups else { return };
        let common = self.common();
        let full = common.handshake_kind() == Some(HandshakeKind::Full);
        if let (true, Some(rustls::ProtocolVersion::TLSv1_2), Some(group)) =
            (full, common.protocol_version(), common.negotiated_key_exchange_group())
        {
            let mut groups = groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if groups.len() >= 256 && !groups.contains_key(name) {
                groups.clear(); // as many names as rustls's session cache keeps
            }
            groups.insert(name.clone(), crate::config::group_name(group.name()));
        }
    }

    /// The group of a resumed TLS 1.2 session: that of the full handshake that made it.
    fn session_group(&self) -> Option<String> {
        let (groups, name) = self.session_groups.as_ref()?;
        groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(name).cloned()
    }

    fn common(&self) -> &rustls::CommonState {
        match &self.tls {
            Tls::Client(c) => c,
            Tls::Server(s) => s,
        }
    }

    /// What to answer when nothing more can be done without input.
    fn need_input<T>(&mut self) -> Result<Status<T>, Error> {
        if !self.eof {
            return Ok(Status::WantRead);
        }
        let error = Error::Transport(if !self.handshake_done {
            TransportError::ClosedDuringHandshake
        } else if self.incoming.len() > self.incoming_start {
            TransportError::ClosedMidRecord
        } else {
            TransportError::Truncated
        });
        self.failed = Some(error.clone());
        Err(error)
    }

    /// Runs rustls until it is idle (needs input), doing `want` once traffic keys are available.
    /// Never after `close` ended the handshake: the alerts it sealed took sequence numbers that
    /// rustls's record layer does not know were used, so nothing rustls seals may follow them.
    fn pump(&mut self, want: &mut Want<'_>) -> Result<(), Error> {
        self.check_not_abandoned()?;
        let _sealers = sealer::listen();
        let mut secrets = keylog::open(self.key_log.is_some());
        let mut stored = self.sessions.is_some().then(|| session::open(true, None));
        let mut facts = (!self.handshake_done).then(|| crate::verify::facts::open(self.client_tls13));
        let hook = self.verify_hook.take().filter(|_| !self.handshake_done).map(crate::verify::hook::lend);
        let result = self.pump_offloaded(want);
        if let Some(lent) = hook {
            self.verify_hook = lent.give_back();
        }
        if let Some(seen) = facts.as_mut().map(crate::verify::facts::Capture::take) {
            self.ocsp = seen.ocsp.or(self.ocsp.take());
            self.peer_scheme = seen.peer_scheme.or(self.peer_scheme);
            self.own_scheme = seen.own_scheme.or(self.own_scheme);
            self.certificate = seen.certificate.or(self.certificate);
        }
        drop(facts);
        for s in stored.as_mut().map(session::Capture::take).unwrap_or_default() {
            self.keep_session(&s);
        }
        drop(stored);
        for secret in secrets.take() {
            if let Some(callback) = self.key_log.as_mut() {
                callback(&secret.line());
            }
            match secret.label {
                keylog::EXPORTER_SECRET => self.exporter.tls13 = Some(secret.secret),
                keylog::CLIENT_RANDOM => self.exporter.master = Some(secret.secret),
                _ => {}
            }
        }
        drop(secrets);
        self.note_sealers();
        self.hello_retry_request |= self.common().handshake_kind() == Some(HandshakeKind::FullWithHelloRetryRequest);
        // Even when the call failed: data decrypted before a failure is handed out first, and
        // none of it may come from a peer the hook refuses.
        self.judge_resumed_chain()?;
        if result.is_ok() && self.handshake_done {
            self.settle_early_data()?;
        }
        result
    }

    /// A resumed session sends no certificate, so the verifier, and the hook in it, never runs:
    /// the hook judges the chain stored with the session instead, once rustls has taken the
    /// session. Data decrypted in the same call (a server's early data) is not handed out if it
    /// refuses.
    fn judge_resumed_chain(&mut self) -> Result<(), Error> {
        if self.resumption_judged || self.common().handshake_kind() != Some(HandshakeKind::Resumed) {
            return Ok(());
        }
        self.resumption_judged = true;
        let Some(mut hook) = self.verify_hook.take() else { return Ok(()) };
        let chain: Vec<Vec<u8>> =
            self.common().peer_certificates().unwrap_or_default().iter().map(|c| c.as_ref().to_vec()).collect();
        let name = match (&self.tls, &self.session_groups) {
            (Tls::Client(_), Some((_, name))) => name.clone(),
            _ => String::new(),
        };
        let verdict = if chain.is_empty() {
            Ok(()) // no certificate was judged when the session was made either
        } else {
            hook(&name, &chain.iter().map(Vec::as_slice).collect::<Vec<_>>())
        };
        self.verify_hook = Some(hook);
        match verdict {
            Ok(()) => Ok(()),
            Err(why) => {
                self.plaintext.clear();
                self.plaintext_read = 0;
                self.early_data = 0;
                // A connection that failed already has sent its alert: that failure stands.
                match &self.failed {
                    Some(e) => Err(e.clone()),
                    None => Err(self.refuse_certificate(&why)),
                }
            }
        }
    }

    /// Once a client's handshake is done: its early data was accepted, or is sent again now.
    fn settle_early_data(&mut self) -> Result<(), Error> {
        let Some(sent) = self.early_sent.take() else { return Ok(()) };
        #[cfg(client_early_data)]
        let accepted = matches!(&self.tls, Tls::Client(c) if c.is_early_data_accepted());
        #[cfg(not(client_early_data))]
        let accepted = false;
        if accepted {
            self.early_data = sent.len();
            return Ok(());
        }
        self.early_rejected = sent.len();
        // The data was written for the application protocol of the session it resumed, which
        // this side cannot see: re-sent only when the protocol cannot have changed (no ALPN
        // offered, or one, which the server chose). Otherwise what the server now speaks may
        // read it otherwise (RFC 8446 section 4.2.10): the connection fails rather than sending
        // it, and nothing is sent silently or lost silently.
        let negotiated = self.common().alpn_protocol().map(<[u8]>::to_vec);
        let unchanged = match &self.offered_alpn[..] {
            [] => negotiated.is_none(),
            [only] => negotiated.as_ref() == Some(only),
            _ => false,
        };
        if !unchanged {
            let error = Error::Protocol {
                error: ProtocolError::Incompatible(format!(
                    "the server refused {} bytes of early data, and with {} offered tlswire cannot tell whether the \
                     negotiated application protocol ({}) is the one they were written for: not sent again",
                    sent.len(),
                    if self.offered_alpn.is_empty() { "no ALPN" } else { "several ALPN protocols" },
                    negotiated.as_deref().map_or("none".into(), |p| String::from_utf8_lossy(p).into_owned()),
                )),
                alert_sent: None,
            };
            self.failed = Some(error.clone());
            return Err(error);
        }
        let mut want = Want::Encrypt(&sent);
        self.pump_offloaded(&mut want)?;
        if !matches!(want, Want::Nothing) {
            return Err(Error::Protocol {
                error: ProtocolError::Other("the refused early data could not be sent again".into()),
                alert_sent: None,
            });
        }
        Ok(())
    }

    fn pump_offloaded(&mut self, want: &mut Want<'_>) -> Result<(), Error> {
        let Some(_) = self.offload else {
            return self.pump_records(want);
        };
        let mut keys = offload::listen();
        let result = self.pump_records(want);
        if let (Some(key), Some(off)) = (keys.take(), self.offload.as_mut()) {
            *off = Offload { rx: key, generation: off.generation.wrapping_add(1), jobbed_to: 0 };
        }
        result
    }

    fn pump_records(&mut self, want: &mut Want<'_>) -> Result<(), Error> {
        if let Some(e) = self.reported_failure() {
            return Err(e);
        }
        self.started = true;
        if let Some(gatherer) = self.hello.as_mut() {
            let unread = self.incoming.get(self.incoming_start..).unwrap_or_default();
            match gatherer.check(unread, self.max_version.wire()) {
                // rustls gets none of it before the whole hello is checked (see crate::hello).
                hello::Verdict::Incomplete => return Ok(()),
                hello::Verdict::Pass(offered) => {
                    let tls13 = offered.map(|o| o.tls13);
                    self.ems = offered.map(|o| o.ems);
                    self.hello = None;
                    self.client_tls13 = tls13;
                    crate::verify::facts::set_tls13(tls13);
                }
                hello::Verdict::Refuse(alert, error) => return Err(self.refuse_hello(alert, error)),
            }
        }
        if let (Tls::Client(_), None, false) = (&self.tls, self.ems, self.handshake_done) {
            self.ems = hello::server_hello_ems(self.incoming.get(self.incoming_start..).unwrap_or_default());
        }
        self.check_record_lengths();
        let scope = if self.observer.is_some() { tap::Scope::All } else { tap::Scope::Alerts };
        let mut capture = Some(tap::open(scope));
        let mut alerts = Vec::new();
        loop {
            let stepping = self.observer.as_ref().is_some_and(|o| !o.bypassed());
            if !stepping {
                self.released = self.incoming.len() - self.incoming_start;
            }
            let mut io = Io {
                outgoing: &mut self.outgoing,
                plaintext: &mut self.plaintext,
                observer: &mut self.observer,
                capture: &mut capture,
                alerts: &mut alerts,
                peer_closed: &mut self.peer_closed,
                early_data: &mut self.early_data,
            };
            let mut window_len = self.released;
            if let Some(at) = self.overflow_at {
                window_len = window_len.min((at - self.incoming_offset) as usize);
            }
            let window =
                self.incoming.get_mut(self.incoming_start..self.incoming_start + window_len).unwrap_or_default();
            // Where each record lies in the stream: for offload results, and to know which
            // records rustls skipped as rejected early data.
            let _located = Window::set(window, self.incoming_offset);
            let (discard, result) = match &mut self.tls {
                Tls::Client(c) => step(c.process_tls_records(window), &mut io, want),
                Tls::Server(s) => step(s.process_tls_records(window), &mut io, want),
            };
            self.discard_input(discard);
            let rejected = capture.as_mut().map(tap::Capture::take_rejected).unwrap_or_default();
            if let Some(randoms) = capture.as_mut().and_then(tap::Capture::take_tls12_randoms) {
                self.exporter.randoms = Some(randoms);
            }
            if result.is_ok() && !rejected.is_empty() {
                self.discard_skipped_early_data(&rejected);
            }
            if !self.handshake_done && !self.common().is_handshaking() {
                self.handshake_done = true;
                self.note_session_group();
            }
            match result {
                Err(e) => {
                    if let Some(c) = capture.as_mut() {
                        alerts.extend(c.take().into_iter().filter(|t| t.inner_type == 21));
                    }
                    drop(capture);
                    return Err(self.fail(e, alerts));
                }
                Ok(Step::Busy) => {}
                Ok(Step::Idle) if self.overflow_at == Some(self.incoming_offset) => {
                    drop(capture);
                    return Err(self.refuse_oversized_record());
                }
                Ok(Step::Idle) => match self.observer.as_mut().filter(|_| stepping).and_then(Observer::release_next) {
                    Some(n) => self.released += n,
                    None if alerts.iter().any(is_no_renegotiation) => return Err(self.refuse_renegotiation(&alerts)),
                    None => return Ok(()),
                },
            }
        }
    }

    /// rustls skipped records it could not decrypt because they are early data it rejected
    /// (RFC 8446 section 4.2.10: up to 16 KiB). When such a record is the last complete one in
    /// the input it was given, rustls 0.23's unbuffered API does not count it as processed, and
    /// would take it again with the next input, charging it twice against that allowance: a
    /// client with a stale ticket and more than ~8 KiB of early data then failed with
    /// bad_record_mac. Those records are dropped here: only the very bytes rustls skipped (by
    /// their place in the stream, then length and tag), at the front of the input. A copy of a
    /// skipped record that rustls has not seen yet stays, and fails as any undecryptable record.
    fn discard_skipped_early_data(&mut self, rejected: &[tap::Rejected]) {
        let mut skip = 0;
        for r in rejected {
            let at = self.incoming_start + skip;
            let Some(header) = record_header(&self.incoming, at) else { break };
            let len = u16::from_be_bytes([header[3], header[4]]) as usize;
            let Some(payload) = self.incoming.get(at + 5..at + 5 + len) else { break };
            let payload_offset = self.incoming_offset + (skip + 5) as u64;
            if r.offset != Some(payload_offset)
                || header[0] != 23
                || len != r.wire_len
                || tap::tag_of(payload) != r.tag
                || 5 + len + skip > self.released
            {
                break;
            }
            skip += 5 + len;
        }
        if skip > 0 {
            self.discard_input(skip);
        }
    }

    /// Drops `n` processed bytes from the front of the input, compacting only when the dead
    /// prefix is at least half the buffer.
    fn discard_input(&mut self, n: usize) {
        self.incoming_start += n;
        self.incoming_offset += n as u64;
        self.released -= n;
        if self.incoming_start == self.incoming.len() {
            self.incoming.clear();
            self.incoming_start = 0;
        } else if self.incoming_start >= self.incoming.len() / 2 {
            self.incoming.drain(..self.incoming_start);
            self.incoming_start = 0;
        }
    }

    /// Collects the encrypters rustls made during the call, dropping those it no longer uses
    /// (but the one before the current: it may hold a KeyUpdate answer not yet sent).
    fn note_sealers(&mut self) {
        self.sealers.extend(sealer::take());
        if let Some(current) = self.sealers.iter().rposition(sealer::Sealer::in_use) {
            self.sealers.drain(..current.saturating_sub(1));
        }
    }

    /// rustls failed the connection without an alert although RFC 8446 names one for the failure
    /// (a TLS 1.3 record with no content type, a record inside a fragmented handshake message,
    /// too many empty records, ...): puts that alert on the wire, protected as rustls would have
    /// protected it (plaintext before any encrypter is in use). Returns the alert sent.
    fn seal_missing_alert(&mut self, err: &rustls::Error) -> Option<u8> {
        let description = u8::from(missing_alert(err, matches!(self.tls, Tls::Client(_)))?);
        let fatal = 2;
        self.seal_alert(fatal, description).then_some(description)
    }

    /// Queues an alert of our own, protected as rustls protects its records now (plaintext
    /// before any encrypter is in use). False if the AEAD refused. The caller reports it to the
    /// message observer (with the tap's record of it, for a protected one).
    ///
    /// rustls protects its answer to the peer's KeyUpdate request at once, switches to the next
    /// key, and sends the answer only in front of its next record. An alert of ours under the
    /// next key, with the answer still held back, is one the peer cannot open (it would fail
    /// with bad_record_mac): the answer goes out first, as rustls does before its own alerts.
    ///
    /// Nothing follows our close_notify (it closed the write side, RFC 8446 section 6.1): after
    /// `close`, no alert is sealed.
    fn seal_alert(&mut self, level: u8, description: u8) -> bool {
        if self.close_sent {
            return false;
        }
        self.note_sealers();
        let Some(current) = self.sealers.iter().rposition(sealer::Sealer::in_use) else {
            self.outgoing.extend_from_slice(&[21, 3, 3, 0, 2, level, description]);
            return true;
        };
        let Some(sealer) = self.sealers.get(current) else { return false };
        let answer = match current.checked_sub(1).and_then(|previous| self.sealers.get(previous)) {
            Some(previous) if sealer.is_fresh() => previous.unsent_key_update_answer(),
            _ => None,
        };
        let Some(record) = sealer.seal_alert(level, description) else { return false };
        if let Some(answer) = answer {
            self.outgoing.extend_from_slice(&answer);
        }
        self.outgoing.extend_from_slice(&record);
        true
    }

    /// rustls answers a TLS 1.2 client that sent no certificate with certificate_required, an
    /// alert TLS 1.2 does not define (RFC 8446 added it); RFC 5246 section 7.4.6 names
    /// handshake_failure, which OpenSSL sends. The alert goes out before the ChangeCipherSpec, in
    /// plaintext, so its description byte is changed in place.
    fn tls12_certificate_required_as_handshake_failure(&mut self, start: usize) {
        if self.common().protocol_version() != Some(rustls::ProtocolVersion::TLSv1_2) {
            return;
        }
        self.rewrite_plaintext_alert(start, AlertDescription::CertificateRequired, AlertDescription::HandshakeFailure);
    }

    /// Changes the description of plaintext alerts queued since `start` from `from` to `to`.
    fn rewrite_plaintext_alert(&mut self, start: usize, from: AlertDescription, to: AlertDescription) {
        let mut at = start;
        while let Some(header) = record_header(&self.outgoing, at) {
            let len = u16::from_be_bytes([header[3], header[4]]) as usize;
            if header[0] == 21 && len == 2 {
                if let Some(description) = self.outgoing.get_mut(at + 6).filter(|d| **d == u8::from(from)) {
                    *description = u8::from(to);
                }
            }
            at += 5 + len;
        }
    }

    /// A TLS 1.3 client learns that the server's Finished shared its record with more handshake
    /// data only after rustls queued our own Finished flight; the unexpected_message alert then
    /// follows under the same handshake keys. A server that accepts that Finished reads on with
    /// our application keys and cannot decrypt the alert. As BoringSSL does, refuse before
    /// finishing: the protected records queued since `start` are withdrawn (before any reached
    /// the wire) and the alert takes the first one's sequence number. A ChangeCipherSpec (not
    /// protected) stays.
    fn withdraw_flight_before_alert(&mut self, start: usize) {
        let (Tls::Client(_), Some(rustls::ProtocolVersion::TLSv1_3)) = (&self.tls, self.common().protocol_version())
        else {
            return;
        };
        // After the handshake (a KeyUpdate sharing its record with more handshake data) there is
        // no flight of ours to take back: what rustls queued (its held-back KeyUpdate answer, then
        // the alert under the next key) is what the server can read.
        if self.handshake_done {
            return;
        }
        let mut records = Vec::new();
        let mut at = start;
        while let Some(header) = record_header(&self.outgoing, at) {
            let end = at + 5 + u16::from_be_bytes([header[3], header[4]]) as usize;
            if end > self.outgoing.len() {
                return;
            }
            records.push((header[0], at..end));
            at = end;
        }
        let protected = records.iter().filter(|(typ, _)| *typ == 23).count() as u64;
        if protected < 2 {
            return; // only the alert itself: nothing was finished
        }
        self.note_sealers();
        let Some(sealer) = self.sealers.iter().rev().find(|s| s.in_use()).cloned() else { return };
        let kept: Vec<u8> = records
            .iter()
            .filter(|(typ, _)| *typ == 20)
            .filter_map(|(_, r)| self.outgoing.get(r.clone()))
            .flatten()
            .copied()
            .collect();
        sealer.rewind(protected);
        self.outgoing.truncate(start);
        self.outgoing.extend_from_slice(&kept);
        let unexpected_message = u8::from(AlertDescription::UnexpectedMessage);
        if let Some(record) = sealer.seal_alert(2, unexpected_message) {
            self.outgoing.extend_from_slice(&record);
        }
    }

    /// Checks the length in each record header not checked yet (RFC 8446 section 5.1/5.2, RFC
    /// 5246 section 6.2): a plaintext record carries at most 2^14 bytes, a TLS 1.3 protected one
    /// at most 2^14 + 256, a TLS 1.2 one at most 2^14 + 2048. rustls takes up to 2^14 + 2048
    /// everywhere and answers longer ones with decode_error; RFC 8446 names record_overflow.
    fn check_record_lengths(&mut self) {
        if self.overflow_at.is_some() {
            return;
        }
        let tls12 = self.common().protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2);
        loop {
            let Some(at) = self.header_check.checked_sub(self.incoming_offset) else { return };
            let at = self.incoming_start + at as usize;
            let Some(header) = record_header(&self.incoming, at) else { return };
            if !matches!(header[0], 20..=23) || header[1] != 3 {
                return; // not a TLS record: rustls names that (an HTTP request, garbage)
            }
            let len = u16::from_be_bytes([header[3], header[4]]) as u64;
            // TLS 1.2 protects records from the peer's ChangeCipherSpec on (application data is
            // never sent before it); plaintext records carry 2^14 at most in every version.
            let limit = match (tls12, header[0]) {
                (true, 23) => MAX_RECORD_PLAINTEXT + 2048,
                (true, _) if self.peer_ccs_checked => MAX_RECORD_PLAINTEXT + 2048,
                (false, 23) => MAX_RECORD_PLAINTEXT + 256,
                _ => MAX_RECORD_PLAINTEXT,
            };
            if len > limit as u64 {
                self.overflow_at = Some(self.header_check);
                return;
            }
            self.peer_ccs_checked |= header[0] == 20;
            self.header_check += 5 + len;
        }
    }

    /// The input rustls has not read starts with a record longer than TLS allows.
    fn refuse_oversized_record(&mut self) -> Error {
        let start = self.outgoing.len();
        let mut capture = tap::open(tap::Scope::All);
        let overflow = u8::from(AlertDescription::RecordOverflow);
        let sent = self.seal_alert(2, overflow);
        let tapped = capture.take();
        drop(capture);
        if let Some(obs) = &mut self.observer {
            obs.add_tapped(tapped);
            obs.report_sent(self.outgoing.get(start..).unwrap_or_default());
        }
        let error = Error::Protocol {
            error: ProtocolError::Malformed("a record longer than TLS allows".into()),
            alert_sent: sent.then_some(AlertDescription::RecordOverflow),
        };
        self.failed = Some(error.clone());
        error
    }

    /// Refuses the client's first ClientHello before rustls reads it: a plaintext fatal alert,
    /// and the error made sticky.
    fn refuse_hello(&mut self, alert: AlertDescription, error: Error) -> Error {
        let record = [21, 3, 3, 0, 2, 2, u8::from(alert)];
        self.outgoing.extend_from_slice(&record);
        if let Some(obs) = &mut self.observer {
            obs.report_sent(&record);
        }
        self.failed = Some(error.clone());
        error
    }

    /// The TLS 1.2 peer asked to renegotiate (a HelloRequest to a client, a ClientHello to a
    /// server) and rustls answered with a warning no_renegotiation, which RFC 5246 allows, then
    /// went on waiting for data. A peer that asked usually waits for the new handshake instead:
    /// both would wait forever. tlswire does not renegotiate, so the refusal ends the connection,
    /// as in BoringSSL: the alert is already queued; the error is sticky. After our close_notify
    /// (which closed the write side, RFC 8446 section 6.1) the alert is taken back out of the
    /// output before it reaches the wire (`alerts`: the ones sealed in this call), and the
    /// refusal is the error alone.
    fn refuse_renegotiation(&mut self, alerts: &[tap::TappedRecord]) -> Error {
        let mut alert_sent = Some(AlertDescription::NoRenegotiation);
        if self.close_sent {
            for refusal in alerts.iter().filter(|t| is_no_renegotiation(t)) {
                self.withdraw_sealed(refusal);
            }
            alert_sent = None;
        }
        let error = Error::Protocol {
            error: ProtocolError::Incompatible("the peer asked to renegotiate; tlswire does not renegotiate".into()),
            alert_sent,
        };
        self.failed = Some(error.clone());
        error
    }

    /// Takes the protected record `sealed` (found by its tag and length) out of the output, before
    /// it reached the wire. Nothing is sealed after it: its sequence number stays used.
    fn withdraw_sealed(&mut self, sealed: &tap::TappedRecord) {
        let mut at = 0;
        while let Some(header) = record_header(&self.outgoing, at) {
            let len = u16::from_be_bytes([header[3], header[4]]) as usize;
            let Some(payload) = self.outgoing.get(at + 5..at + 5 + len) else { return };
            if len == sealed.wire_len && tap::tag_of(payload) == sealed.tag {
                self.outgoing.drain(at..at + 5 + len);
                return;
            }
            at += 5 + len;
        }
    }

    /// Records a rustls failure: sends the alert rustls queued for it, and makes the error sticky.
    /// `sealed_alerts` are alert records our AEADs protected during the failing call.
    fn fail(&mut self, err: rustls::Error, mut sealed_alerts: Vec<tap::TappedRecord>) -> Error {
        let mut capture = tap::open(tap::Scope::All);
        let start = self.outgoing.len();
        // Only pop what rustls has queued: calling it with input again would re-process the
        // failing record.
        for _ in 0..MAX_FLUSH_STEPS {
            if !self.common().wants_write() {
                break;
            }
            let mut io = Io {
                outgoing: &mut self.outgoing,
                plaintext: &mut self.plaintext,
                observer: &mut None,
                capture: &mut None,
                alerts: &mut Vec::new(),
                peer_closed: &mut self.peer_closed,
                early_data: &mut self.early_data,
            };
            let window: &mut [u8] = &mut [];
            let (_, result) = match &mut self.tls {
                Tls::Client(c) => step(c.process_tls_records(window), &mut io, &mut Want::Nothing),
                Tls::Server(s) => step(s.process_tls_records(window), &mut io, &mut Want::Nothing),
            };
            if result.is_err() {
                break;
            }
        }
        let mut tapped = capture.take();
        sealed_alerts.extend(tapped.iter().filter(|t| t.inner_type == 21).cloned());
        if matches!(err, rustls::Error::NoCertificatesPresented) {
            self.tls12_certificate_required_as_handshake_failure(start);
        }
        // A server none of whose certificates fits the client ([`crate::credential`]): rustls
        // answers access_denied; nothing could be negotiated, which is handshake_failure
        // (RFC 8446 section 6.2), as OpenSSL and BoringSSL send. Before the ServerHello: plaintext.
        let no_certificate = matches!(&err, rustls::Error::General(m) if m == crate::credential::NONE_FITS);
        if no_certificate {
            self.rewrite_plaintext_alert(start, AlertDescription::AccessDenied, AlertDescription::HandshakeFailure);
        }
        if matches!(err, rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::KeyEpochWithPendingFragment)) {
            self.withdraw_flight_before_alert(start);
            tapped.extend(capture.take());
            sealed_alerts.extend(tapped.iter().filter(|t| t.inner_type == 21).cloned());
        }
        let mut alert = find_alert(self.outgoing.get(start..).unwrap_or_default(), &sealed_alerts);
        if alert.is_none() {
            alert = self.seal_missing_alert(&err);
            tapped.extend(capture.take());
        }
        drop(capture);
        let sent = self.outgoing.get(start..).unwrap_or_default();
        if let Some(obs) = &mut self.observer {
            obs.add_tapped(tapped);
            obs.report_sent(sent);
        }
        let alert_sent = alert.map(AlertDescription::from);
        let error = match err {
            // A client's handshake: the messages that can exceed rustls's 64 KiB are the server's
            // Certificate (and, rarely, a CertificateRequest with a long CA list).
            rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge)
                if matches!(self.tls, Tls::Client(_)) && !self.handshake_done =>
            {
                Error::Certificate { error: CertificateError::TooLarge, alert_sent }
            }
            _ if no_certificate => Error::Protocol {
                error: ProtocolError::Incompatible(
                    "no certificate for this client: none fits its server name, signature schemes, suites and curves"
                        .into(),
                ),
                alert_sent: alert_sent.map(|a| {
                    if a == AlertDescription::AccessDenied {
                        AlertDescription::HandshakeFailure
                    } else {
                        a
                    }
                }),
            },
            err => Error::from_rustls(err, alert_sent),
        };
        self.failed = Some(error.clone());
        error
    }
}

/// The alert for a failure that is the peer's doing (RFC 8446 §6.2 and the sections it cites),
/// or `None` where none is due (the peer's own fatal alert, a local failure).
fn missing_alert(err: &rustls::Error, client: bool) -> Option<AlertDescription> {
    use rustls::{Error as E, PeerMisbehaved as M};
    Some(match err {
        E::InvalidMessage(_) => AlertDescription::DecodeError,
        E::PeerMisbehaved(
            M::IllegalTlsInnerPlaintext
            | M::MessageInterleavedWithHandshakeMessage
            | M::TooManyEmptyFragments
            | M::TooManyWarningAlertsReceived
            | M::KeyEpochWithPendingFragment
            | M::IllegalMiddleboxChangeCipherSpec,
        )
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => AlertDescription::UnexpectedMessage,
        E::PeerMisbehaved(_) => AlertDescription::IllegalParameter,
        E::PeerIncompatible(_) => AlertDescription::HandshakeFailure,
        E::DecryptError => AlertDescription::BadRecordMac,
        E::PeerSentOversizedRecord => AlertDescription::RecordOverflow,
        E::InvalidCertificate(_) => AlertDescription::BadCertificate,
        // A server's empty Certificate is a decode_error to its client (§4.4.2.4).
        E::NoCertificatesPresented if client => AlertDescription::DecodeError,
        E::NoCertificatesPresented => AlertDescription::CertificateRequired,
        E::NoApplicationProtocol => AlertDescription::NoApplicationProtocol,
        _ => return None,
    })
}

/// A warning no_renegotiation alert we sealed (rustls's answer to a renegotiation request).
fn is_no_renegotiation(record: &tap::TappedRecord) -> bool {
    record.plaintext == [1, u8::from(AlertDescription::NoRenegotiation)]
}

/// An action to take once rustls offers the WriteTraffic state.
enum Want<'d> {
    Nothing,
    Encrypt(&'d [u8]),
    CloseNotify,
    KeyUpdate,
}

enum Step {
    /// Something happened; call rustls again.
    Busy,
    /// rustls needs more input (or has nothing more to do).
    Idle,
}

/// The connection's buffers, borrowed apart from the rustls connection and its input window.
struct Io<'a> {
    outgoing: &'a mut Vec<u8>,
    plaintext: &'a mut Vec<u8>,
    observer: &'a mut Option<Observer>,
    capture: &'a mut Option<tap::Capture>,
    /// Alert records sealed so far (to name the alert if the connection fails).
    alerts: &'a mut Vec<tap::TappedRecord>,
    peer_closed: &'a mut bool,
    /// Bytes of early data received (a server's).
    early_data: &'a mut usize,
}

impl Io<'_> {
    fn tapped(&mut self) {
        let Some(capture) = self.capture.as_mut() else {
            return;
        };
        let tapped = capture.take();
        self.alerts.extend(tapped.iter().filter(|t| t.inner_type == 21 && t.flow == tap::Flow::Sealed).cloned());
        if let Some(obs) = self.observer.as_mut() {
            obs.add_tapped(tapped);
        }
    }

    fn report_sent(&mut self, start: usize) {
        self.tapped();
        if let Some(obs) = self.observer.as_mut() {
            obs.report_sent(self.outgoing.get(start..).unwrap_or_default());
        }
    }
}

/// Handles one state rustls returned. Returns the bytes to discard from the input window.
/// Early data, which rustls offers only a server ([`ConnectionState::ReadEarlyData`]).
trait EarlyData: Sized {
    /// Moves the early data rustls has decrypted into `out`, returning how many bytes.
    fn drain(state: rustls::unbuffered::ReadEarlyData<'_, '_, Self>, out: &mut Vec<u8>) -> usize;
}

impl EarlyData for rustls::server::ServerConnectionData {
    fn drain(mut state: rustls::unbuffered::ReadEarlyData<'_, '_, Self>, out: &mut Vec<u8>) -> usize {
        let mut n = 0;
        while let Some(Ok(record)) = state.next_record() {
            n += record.payload.len();
            out.extend_from_slice(record.payload);
        }
        n
    }
}

impl EarlyData for rustls::client::ClientConnectionData {
    fn drain(_: rustls::unbuffered::ReadEarlyData<'_, '_, Self>, _: &mut Vec<u8>) -> usize {
        0 // rustls never gives a client this state
    }
}

fn step<Data: EarlyData>(
    status: UnbufferedStatus<'_, '_, Data>,
    io: &mut Io<'_>,
    want: &mut Want<'_>,
) -> (usize, Result<Step, rustls::Error>) {
    let UnbufferedStatus { mut discard, state } = status;
    // The record just released to rustls has now been processed: report it first.
    io.tapped();
    if let Some(obs) = io.observer.as_mut() {
        obs.report_received();
    }
    let state = match state {
        Ok(state) => state,
        Err(e) => return (discard, Err(e)),
    };
    let result = match state {
        ConnectionState::ReadEarlyData(early) => {
            *io.early_data += Data::drain(early, io.plaintext);
            Ok(Step::Busy)
        }
        ConnectionState::ReadTraffic(mut traffic) => {
            while let Some(record) = traffic.next_record() {
                match record {
                    Ok(record) => {
                        discard += record.discard;
                        io.plaintext.extend_from_slice(record.payload);
                    }
                    Err(e) => return (discard, Err(e)),
                }
            }
            Ok(Step::Busy)
        }
        ConnectionState::EncodeTlsData(mut encode) => {
            let start = io.outgoing.len();
            let result = grow_into(io.outgoing, 0, |out| match encode.encode(out) {
                Ok(n) => Ok(n),
                Err(EncodeError::InsufficientSize(InsufficientSizeError { required_size })) => Err(Some(required_size)),
                Err(_) => Err(None),
            });
            io.report_sent(start);
            result.map(|()| Step::Busy)
        }
        ConnectionState::TransmitTlsData(transmit) => {
            // The bytes are already in our output queue; the caller sends them.
            transmit.done();
            Ok(Step::Busy)
        }
        ConnectionState::BlockedHandshake => Ok(Step::Idle),
        ConnectionState::PeerClosed | ConnectionState::Closed => {
            let idle = matches!(state, ConnectionState::Closed);
            *io.peer_closed = true;
            Ok(if idle { Step::Idle } else { Step::Busy })
        }
        ConnectionState::WriteTraffic(mut traffic) => {
            let start = io.outgoing.len();
            let result = match std::mem::replace(want, Want::Nothing) {
                Want::Nothing => return (discard, Ok(Step::Idle)),
                Want::Encrypt(data) => {
                    // Data plus per-record overhead (header, inner type, tag) on the first try.
                    let hint = data.len() + (data.len() / MAX_RECORD_PLAINTEXT + 1) * 32;
                    grow_into(io.outgoing, hint, |out| encrypt_result(traffic.encrypt(data, out)))
                }
                Want::CloseNotify => grow_into(io.outgoing, 64, |out| encrypt_result(traffic.queue_close_notify(out))),
                Want::KeyUpdate => traffic.refresh_traffic_keys(),
            };
            io.report_sent(start);
            result.map(|()| Step::Busy)
        }
        // Early data is never enabled, and rustls may add states: fail rather than spin.
        _ => Err(rustls::Error::General("unexpected connection state".into())),
    };
    (discard, result)
}

fn encrypt_result(r: Result<usize, EncryptError>) -> Result<usize, Option<usize>> {
    match r {
        Ok(n) => Ok(n),
        Err(EncryptError::InsufficientSize(InsufficientSizeError { required_size })) => Err(Some(required_size)),
        Err(_) => Err(None),
    }
}

/// Appends to `out` what `f` writes into spare room, growing the room when `f` asks for more
/// (`Err(Some(size))`); `Err(None)` is a hard failure (exhausted sequence numbers).
fn grow_into(
    out: &mut Vec<u8>,
    hint: usize,
    mut f: impl FnMut(&mut [u8]) -> Result<usize, Option<usize>>,
) -> Result<(), rustls::Error> {
    let start = out.len();
    let mut room = hint;
    loop {
        out.resize(start + room, 0);
        match f(out.get_mut(start..).unwrap_or_default()) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(Some(needed)) if needed > room => room = needed,
            Err(_) => {
                out.truncate(start);
                return Err(rustls::Error::EncryptError);
            }
        }
    }
}

/// The complete records in `window` that take a receive sequence number once the handshake is
/// done (TLS 1.3: application_data records; TLS 1.2: every record), as (offset, header, payload).
fn protected_records(window: &[u8], tls13: bool) -> impl Iterator<Item = (usize, [u8; 5], &[u8])> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let header = record_header(window, at)?;
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        let payload = window.get(at + 5..at + 5 + len)?;
        let record = (at, header, payload);
        at += 5 + len;
        if !tls13 || header[0] == 23 {
            return Some(record);
        }
    })
}

/// The alert description in records we just wrote (plaintext, or protected and tapped).
fn find_alert(mut bytes: &[u8], tapped: &[tap::TappedRecord]) -> Option<u8> {
    while let Some((header, rest)) = bytes.split_first_chunk::<5>() {
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        let (payload, rest) = rest.split_at_checked(len)?;
        if let (21, &[_, description]) = (header[0], payload) {
            return Some(description);
        }
        let tag = payload.get(payload.len().saturating_sub(16)..).unwrap_or_default();
        if let Some(t) = tapped.iter().find(|t| t.inner_type == 21 && t.tag.ends_with(tag) && t.wire_len == len) {
            return t.plaintext.get(1).copied();
        }
        bytes = rest;
    }
    None
}

/// The record header at offset `at` of `bytes`; `None` if fewer than 5 bytes are there.
fn record_header(bytes: &[u8], at: usize) -> Option<[u8; 5]> {
    bytes.get(at..)?.first_chunk().copied()
}
