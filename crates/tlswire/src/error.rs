//! One error type for the crate, grouped by who is at fault: the peer's certificate, the peer's
//! protocol behaviour, the peer's alert, the transport, the local caller, the configuration.

use core::fmt;

pub use rustls::AlertDescription;

/// The stable codes that carry no detail of their own, for the bindings: every code a binding
/// reports comes from this crate ([`Error::code`] or these), none is restated there.
pub mod codes {
    pub const ALERT_RECEIVED: &str = "ALERT_RECEIVED";
    pub const CLOSED_DURING_HANDSHAKE: &str = "CLOSED_DURING_HANDSHAKE";
    pub const TRUNCATED: &str = "TRUNCATED";
    pub const CLOSED_MID_RECORD: &str = "CLOSED_MID_RECORD";
    pub const MISUSE: &str = "MISUSE";
    pub const CONFIG: &str = "CONFIG";
    /// A binding's transport (a WebSocket, a host stream) failed; the sans-IO core itself never
    /// reports it.
    pub const CHANNEL_ERROR: &str = "CHANNEL_ERROR";
}

/// Everything that can go wrong on a [`crate::Connection`] or while building a configuration.
///
/// Failures detected on the connection carry `alert_sent`: the alert tlswire put on the wire for
/// the peer (already in the output buffer; drain it before closing the transport).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The peer's certificate (chain) was rejected.
    Certificate { error: CertificateError, alert_sent: Option<AlertDescription> },
    /// The peer broke the protocol, or it and we share no parameters.
    Protocol { error: ProtocolError, alert_sent: Option<AlertDescription> },
    /// The peer sent a fatal alert.
    AlertReceived(AlertDescription),
    /// The byte stream ended in a way TLS does not allow.
    Transport(TransportError),
    /// The caller used the connection in a way its state does not allow.
    Misuse(Misuse),
    /// A configuration value is invalid (bad PEM, unknown group name, ...).
    Config(ConfigError),
}

/// Why a peer certificate was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateError {
    /// The chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate is not valid for the expected server name.
    HostnameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate was revoked.
    Revoked,
    /// A signature in the chain (or the handshake signature) did not verify.
    BadSignature,
    /// None of the certificates matched a configured SPKI SHA-256 pin.
    PinMismatch,
    /// The peer sent no certificate although one is required.
    Missing,
    /// A certificate does not parse: bad DER, an unsupported version, malformed extensions, or a
    /// critical extension tlswire does not process.
    Malformed(String),
    /// A name in the chain is outside a CA's name constraints.
    NameConstraints,
    /// The certificate's keyUsage does not allow what its key did (signing the handshake).
    KeyUsage,
    /// The certificate's extendedKeyUsage does not allow TLS server (or client) authentication.
    Purpose,
    /// A signature algorithm in the chain is unsupported or too weak (e.g. SHA-1), or the key's
    /// type or curve cannot be used here.
    UnsupportedAlgorithm(String),
    /// A key too weak to trust: an RSA key below 2048 bits.
    WeakKey(String),
    /// A CA certificate was presented as the end entity.
    CaUsedAsEndEntity,
    /// An end-entity certificate was used to issue another.
    EndEntityUsedAsCa,
    /// The chain is longer than a CA's pathLenConstraint (or tlswire's depth limit) allows.
    PathLength,
    /// The peer's certificate chain does not fit in a handshake message (64 KiB).
    TooLarge,
    /// Revocation was checked (CRLs were given) and the status is unknown: no CRL covers the
    /// certificate, or the CRL has expired or is invalid.
    RevocationUnknown(String),
    /// The caller's verification hook refused the chain ([`crate::Connection::set_verify_hook`]),
    /// with its reason.
    Rejected(String),
    /// Any other rejection, with its description.
    Other(String),
}

/// How the peer broke the protocol.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A record failed authentication (bad_record_mac).
    BadRecordMac,
    /// A record or message could not be parsed.
    Malformed(String),
    /// A message arrived that is not allowed at this point, or carried forbidden values.
    Misbehaved(String),
    /// The peer and we have no version, suite, group or signature scheme in common.
    Incompatible(String),
    /// ALPN was required and no protocol was agreed.
    NoApplicationProtocol,
    /// The server did not accept Encrypted Client Hello: it answered the outer ClientHello, whose
    /// certificate (for the ECH configuration's public name) was verified, and tlswire ended the
    /// handshake with ech_required. `retry_configs` is the ECHConfigList the server sent to use
    /// instead (RFC 9849 §6.1.6), when it sent one: build a new client context with it and
    /// connect again.
    EchRejected { retry_configs: Option<Vec<u8>> },
    /// Any other failure, with rustls's description.
    Other(String),
}

/// How the byte stream ended badly.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The transport closed before the handshake completed.
    ClosedDuringHandshake,
    /// The transport closed after the handshake without close_notify: the data may be truncated.
    Truncated,
    /// The transport closed in the middle of a TLS record.
    ClosedMidRecord,
}

/// Local misuse of a connection.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misuse {
    /// `write` after `close` (or after the connection failed or closed).
    WriteAfterClose,
    /// Bytes fed after end of input was signalled.
    InputAfterEof,
    /// The message observer was set after the connection had started.
    ObserverTooLate,
    /// Record offload was switched after the connection had started.
    OffloadTooLate,
    /// The key log was set after the connection had started.
    KeyLogTooLate,
    /// The verification hook was set after the connection had started.
    HookTooLate,
    /// A call that needs the handshake to be complete came before.
    HandshakeNotDone,
    /// A handshake step after `close` ended the connection before its handshake completed.
    HandshakeAfterClose,
    /// Keying material cannot be exported as asked (before the handshake completed, an empty
    /// or too long output, a label TLS 1.2 reserves, ...): why.
    BadExport(&'static str),
    /// A KeyUpdate cannot be sent now (TLS 1.2, before the handshake, after `close`): why.
    BadKeyUpdate(&'static str),
}

/// An invalid configuration value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// PEM/DER input holds no certificate, or a malformed one.
    BadCertificate(String),
    /// The private key is malformed or of an unsupported type, or does not belong to the
    /// certificate.
    BadPrivateKey(String),
    /// PEM/DER input holds no CRL, or a malformed one.
    BadCrl(String),
    /// Bytes offered as a session are not one tlswire gave (`Connection::take_sessions`).
    BadSession(String),
    /// An ECHConfigList that does not parse, or has no configuration tlswire can use.
    BadEchConfig(String),
    /// An unknown name (group, suite, version).
    UnknownName(String),
    /// The server name is neither a DNS name nor an IP address.
    BadServerName(String),
    /// rustls rejected the combination (e.g. no suite left for the versions allowed).
    Rejected(String),
}

impl Error {
    /// The alert tlswire sent for this failure, if any.
    pub fn alert_sent(&self) -> Option<AlertDescription> {
        match self {
            Self::Certificate { alert_sent, .. } | Self::Protocol { alert_sent, .. } => *alert_sent,
            _ => None,
        }
    }

    /// A stable machine-readable code for this error (used by the CLI and the bindings).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Certificate { error, .. } => match error {
                CertificateError::UnknownIssuer => "CERT_UNKNOWN_ISSUER",
                CertificateError::HostnameMismatch => "CERT_HOSTNAME_MISMATCH",
                CertificateError::Expired => "CERT_EXPIRED",
                CertificateError::NotYetValid => "CERT_NOT_YET_VALID",
                CertificateError::Revoked => "CERT_REVOKED",
                CertificateError::BadSignature => "CERT_BAD_SIGNATURE",
                CertificateError::PinMismatch => "CERT_PIN_MISMATCH",
                CertificateError::Missing => "CERT_MISSING",
                CertificateError::Malformed(_) => "CERT_MALFORMED",
                CertificateError::NameConstraints => "CERT_NAME_CONSTRAINTS",
                CertificateError::KeyUsage => "CERT_KEY_USAGE",
                CertificateError::Purpose => "CERT_PURPOSE",
                CertificateError::UnsupportedAlgorithm(_) => "CERT_UNSUPPORTED_ALGORITHM",
                CertificateError::WeakKey(_) => "CERT_WEAK_KEY",
                CertificateError::CaUsedAsEndEntity => "CERT_CA_AS_END_ENTITY",
                CertificateError::EndEntityUsedAsCa => "CERT_END_ENTITY_AS_CA",
                CertificateError::PathLength => "CERT_PATH_LENGTH",
                CertificateError::RevocationUnknown(_) => "CERT_REVOCATION_UNKNOWN",
                CertificateError::TooLarge => "CERT_TOO_LARGE",
                CertificateError::Rejected(_) => "CERT_REJECTED",
                CertificateError::Other(_) => "CERT_INVALID",
            },
            Self::Protocol { error, .. } => match error {
                ProtocolError::BadRecordMac => "BAD_RECORD_MAC",
                ProtocolError::Malformed(_) => "PROTOCOL_MALFORMED",
                ProtocolError::Misbehaved(_) => "PROTOCOL_VIOLATION",
                ProtocolError::Incompatible(_) => "HANDSHAKE_INCOMPATIBLE",
                ProtocolError::NoApplicationProtocol => "NO_APPLICATION_PROTOCOL",
                ProtocolError::EchRejected { .. } => "ECH_REJECTED",
                ProtocolError::Other(_) => "PROTOCOL_ERROR",
            },
            Self::AlertReceived(_) => codes::ALERT_RECEIVED,
            Self::Transport(TransportError::ClosedDuringHandshake) => codes::CLOSED_DURING_HANDSHAKE,
            Self::Transport(TransportError::Truncated) => codes::TRUNCATED,
            Self::Transport(TransportError::ClosedMidRecord) => codes::CLOSED_MID_RECORD,
            Self::Misuse(_) => codes::MISUSE,
            Self::Config(_) => codes::CONFIG,
        }
    }

    pub(crate) fn from_rustls(err: rustls::Error, alert_sent: Option<AlertDescription>) -> Self {
        use rustls::Error as E;
        match err {
            E::InvalidCertificate(e) => Self::Certificate { error: CertificateError::from_rustls(e), alert_sent },
            E::NoCertificatesPresented => Self::Certificate { error: CertificateError::Missing, alert_sent },
            E::InvalidCertRevocationList(e) => {
                Self::Certificate { error: CertificateError::RevocationUnknown(crl_problem(&e).into()), alert_sent }
            }
            E::AlertReceived(alert) => Self::AlertReceived(alert),
            E::DecryptError => Self::Protocol { error: ProtocolError::BadRecordMac, alert_sent },
            E::InvalidMessage(m) => Self::Protocol { error: ProtocolError::Malformed(format!("{m:?}")), alert_sent },
            E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
                Self::Protocol { error: ProtocolError::Misbehaved(err.to_string()), alert_sent }
            }
            E::PeerMisbehaved(m) => Self::Protocol { error: ProtocolError::Misbehaved(format!("{m:?}")), alert_sent },
            E::PeerIncompatible(rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(configs)) => {
                let retry_configs = configs.map(|configs| crate::config::ech_config_list(&configs));
                Self::Protocol { error: ProtocolError::EchRejected { retry_configs }, alert_sent }
            }
            E::PeerIncompatible(m) => {
                Self::Protocol { error: ProtocolError::Incompatible(format!("{m:?}")), alert_sent }
            }
            E::NoApplicationProtocol => Self::Protocol { error: ProtocolError::NoApplicationProtocol, alert_sent },
            other => Self::Protocol { error: ProtocolError::Other(other.to_string()), alert_sent },
        }
    }
}

impl CertificateError {
    fn from_rustls(err: rustls::CertificateError) -> Self {
        use rustls::CertificateError as C;
        match err {
            C::UnknownIssuer => Self::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => Self::HostnameMismatch,
            C::Expired | C::ExpiredContext { .. } => Self::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => Self::NotYetValid,
            C::Revoked => Self::Revoked,
            C::BadSignature => Self::BadSignature,
            C::BadEncoding => Self::Malformed("not valid DER".into()),
            C::UnhandledCriticalExtension => Self::Malformed("a critical extension tlswire does not process".into()),
            C::UnknownRevocationStatus => Self::RevocationUnknown("no CRL given covers it".into()),
            C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => {
                Self::RevocationUnknown("the CRL has expired".into())
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => Self::Purpose,
            #[allow(deprecated)]
            C::UnsupportedSignatureAlgorithm => Self::UnsupportedAlgorithm("an unsupported signature algorithm".into()),
            C::UnsupportedSignatureAlgorithmContext { signature_algorithm_id, .. } => {
                Self::UnsupportedAlgorithm(signature_algorithm_name(&signature_algorithm_id))
            }
            C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                Self::UnsupportedAlgorithm("a signature algorithm that does not fit the signer's public key".into())
            }
            C::Other(other) => {
                if let Some(refusal) = other.0.downcast_ref::<crate::verify::Refusal>() {
                    return Self::from_refusal(refusal);
                }
                match other.0.downcast_ref::<webpki::Error>() {
                    Some(e) => Self::from_webpki(e),
                    None => Self::Other(other.to_string()),
                }
            }
            other => Self::Other(other.to_string()),
        }
    }

    fn from_refusal(refusal: &crate::verify::Refusal) -> Self {
        use crate::verify::Refusal as R;
        match refusal {
            R::PinMismatch => Self::PinMismatch,
            R::Hook(why) => Self::Rejected(why.clone()),
            R::KeyUsage => Self::KeyUsage,
            R::WeakKey { .. } => Self::WeakKey(refusal.to_string()),
            R::CurveNotOffered => Self::UnsupportedAlgorithm(refusal.to_string()),
        }
    }

    /// webpki's rejections that rustls passes on only as `Other`.
    fn from_webpki(e: &webpki::Error) -> Self {
        use webpki::Error as W;
        match e {
            W::CaUsedAsEndEntity => Self::CaUsedAsEndEntity,
            W::EndEntityUsedAsCa => Self::EndEntityUsedAsCa,
            W::NameConstraintViolation | W::InvalidNetworkMaskConstraint | W::MalformedNameConstraint => {
                Self::NameConstraints
            }
            W::PathLenConstraintViolated | W::MaximumPathDepthExceeded => Self::PathLength,
            #[allow(deprecated)]
            W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => Self::Purpose,
            W::UnsupportedCertVersion => Self::Malformed("an unsupported X.509 version".into()),
            W::UnsupportedCriticalExtension => Self::Malformed("a critical extension tlswire does not process".into()),
            W::MalformedExtensions | W::ExtensionValueInvalid => Self::Malformed("malformed extensions".into()),
            W::InvalidSerialNumber => Self::Malformed("an invalid serial number".into()),
            W::MalformedDnsIdentifier => Self::Malformed("a malformed DNS name".into()),
            W::BadDer | W::BadDerTime | W::TrailingData(_) => Self::Malformed("not valid DER".into()),
            W::MaximumSignatureChecksExceeded
            | W::MaximumPathBuildCallsExceeded
            | W::MaximumNameConstraintComparisonsExceeded => {
                Self::Other("the chain is too complex to verify (a verification budget ran out)".into())
            }
            W::CertDistrusted => Self::Other("a certificate in the chain is distrusted".into()),
            W::UnsupportedNameType => Self::Other("a name of a type tlswire does not check".into()),
            other => Self::Other(format!("{other:?}")),
        }
    }
}

/// Why a CRL could not be used.
fn crl_problem(e: &rustls::CertRevocationListError) -> &'static str {
    use rustls::CertRevocationListError as L;
    match e {
        L::BadSignature => "a CRL's signature does not verify",
        L::IssuerInvalidForCrl => "a CRL's issuer may not sign CRLs (keyUsage lacks cRLSign)",
        L::InvalidCrlNumber | L::InvalidRevokedCertSerialNumber => "a CRL is malformed",
        _ => "a CRL is malformed or uses a feature tlswire does not support",
    }
}

/// A readable name for a certificate's signature AlgorithmIdentifier (its DER, as webpki reports
/// it), naming the weak ones people meet.
fn signature_algorithm_name(id: &[u8]) -> String {
    // The encoded OIDs (after tag and length) of algorithms tlswire refuses.
    const NAMES: [(&[u8], &str); 6] = [
        (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05], "sha1WithRSAEncryption (SHA-1)"),
        (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04], "md5WithRSAEncryption (MD5)"),
        (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01], "ecdsa-with-SHA1 (SHA-1)"),
        (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0e], "sha224WithRSAEncryption (SHA-224)"),
        (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x01], "ecdsa-with-SHA224 (SHA-224)"),
        (&[0x2b, 0x0e, 0x03, 0x02, 0x1d], "sha1WithRSA (SHA-1)"),
    ];
    let found = NAMES.iter().find(|(oid, _)| id.windows(oid.len()).any(|w| w == *oid));
    match found {
        Some((_, name)) => format!("the signature algorithm {name} is not accepted"),
        None => "a signature algorithm tlswire does not support".into(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate { error, .. } => write!(f, "certificate rejected: {error}"),
            Self::Protocol { error, .. } => write!(f, "protocol error: {error}"),
            Self::AlertReceived(alert) => {
                write!(f, "peer sent fatal alert {}", crate::observer::alert_name(u8::from(*alert)))
            }
            Self::Transport(e) => write!(f, "{e}"),
            Self::Misuse(e) => write!(f, "misuse: {e}"),
            Self::Config(e) => write!(f, "invalid configuration: {e}"),
        }?;
        if let Some(alert) = self.alert_sent() {
            write!(f, " (sent alert {})", crate::observer::alert_name(u8::from(alert)))?;
        }
        Ok(())
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownIssuer => f.write_str("unknown issuer"),
            Self::HostnameMismatch => f.write_str("not valid for the server name"),
            Self::Expired => f.write_str("expired"),
            Self::NotYetValid => f.write_str("not valid yet"),
            Self::Revoked => f.write_str("revoked"),
            Self::BadSignature => f.write_str("bad signature"),
            Self::PinMismatch => f.write_str("no certificate matches the configured pins"),
            Self::Rejected(why) => write!(f, "refused by the verification hook: {why}"),
            Self::Missing => f.write_str("peer sent no certificate"),
            Self::Malformed(s) => write!(f, "malformed certificate: {s}"),
            Self::NameConstraints => f.write_str("a name is outside its CA's name constraints"),
            Self::KeyUsage => f.write_str("its keyUsage does not allow digital signatures"),
            Self::Purpose => f.write_str("its extendedKeyUsage does not allow this use (TLS server or client)"),
            Self::UnsupportedAlgorithm(s) | Self::WeakKey(s) | Self::RevocationUnknown(s) => {
                if let Self::RevocationUnknown(_) = self {
                    f.write_str("revocation status unknown: ")?;
                }
                f.write_str(s)
            }
            Self::CaUsedAsEndEntity => f.write_str("a CA certificate was presented as the end entity"),
            Self::EndEntityUsedAsCa => f.write_str("an end-entity certificate was used as a CA"),
            Self::PathLength => f.write_str("the chain is longer than a CA's path length constraint allows"),
            Self::TooLarge => f.write_str("the certificate chain is larger than a handshake message may be (64 KiB)"),
            Self::Other(s) => write!(f, "{s}"),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRecordMac => f.write_str("record failed authentication"),
            Self::Malformed(s) => write!(f, "malformed message ({s})"),
            Self::Misbehaved(s) => write!(f, "peer misbehaved ({s})"),
            Self::Incompatible(s) => write!(f, "no common parameters ({s})"),
            Self::NoApplicationProtocol => f.write_str("no application protocol agreed"),
            Self::EchRejected { retry_configs } => write!(
                f,
                "the server did not accept Encrypted Client Hello ({})",
                if retry_configs.is_some() {
                    "it sent retry configurations"
                } else {
                    "it sent no retry configurations"
                }
            ),
            Self::Other(s) => write!(f, "{s}"),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClosedDuringHandshake => "transport closed during the handshake",
            Self::Truncated => "transport closed without close_notify (possible truncation)",
            Self::ClosedMidRecord => "transport closed in the middle of a record",
        })
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WriteAfterClose => "write after close",
            Self::HandshakeAfterClose => "the connection was closed before its handshake completed",
            Self::InputAfterEof => "input after end of stream",
            Self::ObserverTooLate => "message callback set after the connection started",
            Self::OffloadTooLate => "record offload set after the connection started",
            Self::KeyLogTooLate => "key log set after the connection started",
            Self::HookTooLate => "verification hook set after the connection started",
            Self::HandshakeNotDone => "the handshake is not complete",
            Self::BadExport(why) => return write!(f, "cannot export keying material: {why}"),
            Self::BadKeyUpdate(why) => return write!(f, "cannot send a KeyUpdate: {why}"),
        })
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadCertificate(s) => write!(f, "bad certificate: {s}"),
            Self::BadPrivateKey(s) => write!(f, "bad private key: {s}"),
            Self::BadCrl(s) => write!(f, "bad CRL: {s}"),
            Self::BadSession(s) => write!(f, "bad session: {s}"),
            Self::BadEchConfig(s) => write!(f, "bad ECH configuration list: {s}"),
            Self::UnknownName(s) => write!(f, "unknown name: {s}"),
            Self::BadServerName(s) => write!(f, "bad server name: {s}"),
            Self::Rejected(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<Misuse> for Error {
    fn from(e: Misuse) -> Self {
        Self::Misuse(e)
    }
}
