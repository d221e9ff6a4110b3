//! Configuration: the `SSL_CTX` of tlswire. Build a [`ClientConfig`] or [`ServerConfig`] once,
//! then open any number of [`crate::Connection`]s from it.

use std::sync::Arc;

use pki_types::pem::PemObject;
use pki_types::{CertificateDer, CertificateRevocationListDer, Der, PrivateKeyDer, TrustAnchor};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::WebPkiClientVerifier;
use rustls::time_provider::TimeProvider;
use rustls::{CipherSuite, NamedGroup, RootCertStore, SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion};

use crate::error::ConfigError;
use crate::verify::{ClientVerifier, Verifier};

/// TLS protocol versions tlswire speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Tls12,
    Tls13,
}

impl Version {
    /// The wire value (0x0303, 0x0304).
    pub fn wire(self) -> u16 {
        match self {
            Self::Tls12 => 0x0303,
            Self::Tls13 => 0x0304,
        }
    }

    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            Self::Tls12 => &rustls::version::TLS12,
            Self::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// Key exchange group names as OpenSSL's `-groups` spells them.
pub fn group_by_name(name: &str) -> Option<&'static dyn SupportedKxGroup> {
    let wanted = match name.to_ascii_lowercase().as_str() {
        "x25519mlkem768" => NamedGroup::X25519MLKEM768,
        "x25519" => NamedGroup::X25519,
        "p-256" | "secp256r1" | "prime256v1" => NamedGroup::secp256r1,
        "p-384" | "secp384r1" => NamedGroup::secp384r1,
        "p-521" | "secp521r1" => NamedGroup::secp521r1,
        // The pure ML-KEM groups: offered only when named.
        "mlkem768" => return Some(tlswire_crypto::MLKEM768),
        #[cfg(feature = "mlkem1024")]
        "mlkem1024" => return Some(tlswire_crypto::MLKEM1024),
        _ => return None,
    };
    // The provider's groups: P-521 only when built with it (feature `p521`).
    tlswire_crypto::ALL_KX_GROUPS.iter().copied().find(|g| g.name() == wanted)
}

/// The name [`crate::Info::group`] reports for a group (IANA's, as rustls prints them).
pub(crate) fn group_name(group: NamedGroup) -> String {
    match group {
        NamedGroup::X25519MLKEM768 => "X25519MLKEM768".into(),
        NamedGroup::X25519 => "X25519".into(),
        NamedGroup::secp256r1 => "secp256r1".into(),
        NamedGroup::secp384r1 => "secp384r1".into(),
        NamedGroup::secp521r1 => "secp521r1".into(),
        NamedGroup::MLKEM768 => "MLKEM768".into(),
        NamedGroup::MLKEM1024 => "MLKEM1024".into(),
        other => format!("0x{:04x}", u16::from(other)),
    }
}

/// Our suites' IANA names. Kept here rather than taken from rustls's `Debug`, which would link
/// the names of every suite ever registered into a wasm build.
const SUITE_NAMES: [(CipherSuite, &str); 9] = [
    (CipherSuite::TLS13_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"),
    (CipherSuite::TLS13_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"),
    (CipherSuite::TLS13_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"),
    (CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
];

/// Signature schemes by their IANA names (RFC 8446 section 4.2.3), as OpenSSL's `-sigalgs`
/// also takes them.
const SCHEME_NAMES: [(SignatureScheme, &str); 10] = [
    (SignatureScheme::ECDSA_NISTP256_SHA256, "ecdsa_secp256r1_sha256"),
    (SignatureScheme::ECDSA_NISTP384_SHA384, "ecdsa_secp384r1_sha384"),
    (SignatureScheme::ECDSA_NISTP521_SHA512, "ecdsa_secp521r1_sha512"),
    (SignatureScheme::ED25519, "ed25519"),
    (SignatureScheme::RSA_PSS_SHA256, "rsa_pss_rsae_sha256"),
    (SignatureScheme::RSA_PSS_SHA384, "rsa_pss_rsae_sha384"),
    (SignatureScheme::RSA_PSS_SHA512, "rsa_pss_rsae_sha512"),
    (SignatureScheme::RSA_PKCS1_SHA256, "rsa_pkcs1_sha256"),
    (SignatureScheme::RSA_PKCS1_SHA384, "rsa_pkcs1_sha384"),
    (SignatureScheme::RSA_PKCS1_SHA512, "rsa_pkcs1_sha512"),
];

/// A signature scheme's IANA name (e.g. `ecdsa_secp256r1_sha256`).
pub(crate) fn scheme_name(scheme: SignatureScheme) -> String {
    SCHEME_NAMES
        .iter()
        .find(|(s, _)| *s == scheme)
        .map_or_else(|| format!("0x{:04x}", u16::from(scheme)), |(_, name)| (*name).to_string())
}

/// Signature schemes by IANA name, each one tlswire can use; unknown ones are an error.
fn schemes_by_name(names: &[&str]) -> Result<Vec<SignatureScheme>, ConfigError> {
    let available = tlswire_crypto::provider().signature_verification_algorithms.supported_schemes();
    let schemes = names
        .iter()
        .map(|n| {
            let wanted = n.to_ascii_lowercase();
            SCHEME_NAMES
                .iter()
                .find(|(s, name)| *name == wanted && available.contains(s))
                .map(|(s, _)| *s)
                .ok_or_else(|| ConfigError::UnknownName((*n).to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if schemes.is_empty() {
        return Err(ConfigError::Rejected("no signature schemes".into()));
    }
    Ok(schemes)
}

/// A suite's IANA name (TLS 1.3 suites as `TLS_AES_128_GCM_SHA256`).
pub(crate) fn suite_name(suite: CipherSuite) -> String {
    SUITE_NAMES
        .iter()
        .find(|(s, _)| *s == suite)
        .map_or_else(|| format!("0x{:04x}", u16::from(suite)), |(_, name)| (*name).to_string())
}

/// Cipher suite by its IANA / rustls name (e.g. `TLS13_AES_128_GCM_SHA256`,
/// `TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
pub fn suite_by_name(name: &str) -> Option<SupportedCipherSuite> {
    let wanted = name.to_ascii_uppercase().replace("TLS13_", "TLS_");
    let (suite, _) = SUITE_NAMES.iter().find(|(_, n)| *n == wanted)?;
    tlswire_crypto::ALL_CIPHER_SUITES.iter().copied().find(|s| s.suite() == *suite)
}

/// Certificates from PEM (one or more `CERTIFICATE` blocks) or a single DER certificate.
pub fn certificates_from(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(ConfigError::BadCertificate("no CERTIFICATE block found".into()));
    }
    Ok(certs)
}

/// Certificate revocation lists from PEM (`X509 CRL` blocks) or a single DER CRL.
pub fn crls_from(bytes: &[u8]) -> Result<Vec<CertificateRevocationListDer<'static>>, ConfigError> {
    let crls = if bytes.first() == Some(&0x30) {
        vec![CertificateRevocationListDer::from(bytes.to_vec())]
    } else {
        CertificateRevocationListDer::pem_slice_iter(bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::BadCrl(e.to_string()))?
    };
    if crls.is_empty() {
        return Err(ConfigError::BadCrl("no X509 CRL block found".into()));
    }
    // Parsed now so that a malformed CRL is a configuration error, not a failed handshake.
    for crl in &crls {
        webpki::OwnedCertRevocationList::from_der(crl).map_err(|e| ConfigError::BadCrl(format!("{e:?}")))?;
    }
    Ok(crls)
}

/// A private key from PEM (PKCS#8, SEC1 or PKCS#1) or PKCS#8 DER.
pub fn private_key_from(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    if bytes.first() == Some(&0x30) {
        return PrivateKeyDer::try_from(bytes.to_vec()).map_err(|e| ConfigError::BadPrivateKey(e.to_string()));
    }
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| ConfigError::BadPrivateKey(e.to_string()))
}

/// Settings shared by clients and servers.
#[derive(Clone, Debug)]
struct Common {
    min_version: Version,
    max_version: Version,
    suites: Option<Vec<SupportedCipherSuite>>,
    groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    alpn: Vec<Vec<u8>>,
    clock: Option<Arc<dyn TimeProvider>>,
    crls: Vec<CertificateRevocationListDer<'static>>,
    max_send_fragment: Option<usize>,
    /// Schemes for this side's signatures, in preference order (`None`: the key's own choice).
    signing_schemes: Option<Vec<SignatureScheme>>,
    /// Schemes accepted for the peer's signatures, in preference order (`None`: all tlswire has).
    verify_schemes: Option<Vec<SignatureScheme>>,
}

impl Default for Common {
    fn default() -> Self {
        Self {
            min_version: Version::Tls12,
            max_version: Version::Tls13,
            suites: None,
            groups: None,
            alpn: Vec::new(),
            clock: None,
            crls: Vec::new(),
            max_send_fragment: None,
            signing_schemes: None,
            verify_schemes: None,
        }
    }
}

impl Common {
    fn provider(&self) -> Arc<CryptoProvider> {
        let mut provider = tlswire_crypto::provider();
        if let Some(suites) = &self.suites {
            provider.cipher_suites = suites.clone();
        }
        if let Some(groups) = &self.groups {
            provider.kx_groups = groups.clone();
        }
        Arc::new(provider)
    }

    /// The schemes accepted for the peer's signatures: the preferences, or all the provider has.
    fn verify_schemes(&self, provider: &CryptoProvider) -> Vec<SignatureScheme> {
        self.verify_schemes.clone().unwrap_or_else(|| provider.signature_verification_algorithms.supported_schemes())
    }

    /// The CRLs as webpki reads them (each parsed when it was added, so this does not fail on
    /// CRLs [`crls_from`] gave).
    fn parsed_crls(&self) -> Result<Vec<webpki::CertRevocationList<'static>>, ConfigError> {
        self.crls
            .iter()
            .map(|crl| {
                webpki::OwnedCertRevocationList::from_der(crl)
                    .map(webpki::CertRevocationList::from)
                    .map_err(|e| ConfigError::BadCrl(format!("{e:?}")))
            })
            .collect()
    }

    /// rustls's `max_fragment_size`: the record's plaintext plus its 5-byte header.
    fn record_size(&self) -> Option<usize> {
        self.max_send_fragment.map(|bytes| bytes + 5)
    }

    /// The clock: the caller's, or the platform's (`SystemTime`; `Date.now()` on the web).
    fn clock(&self) -> Arc<dyn TimeProvider> {
        self.clock.clone().unwrap_or_else(|| Arc::new(rustls::time_provider::DefaultTimeProvider))
    }

    fn versions(&self) -> Vec<&'static SupportedProtocolVersion> {
        [Version::Tls13, Version::Tls12]
            .into_iter()
            .filter(|v| (self.min_version..=self.max_version).contains(v))
            .map(Version::rustls)
            .collect()
    }
}

macro_rules! common_setters {
    () => {
        /// Lowest and highest protocol version allowed (default TLS 1.2 ..= TLS 1.3).
        pub fn versions(&mut self, min: Version, max: Version) -> &mut Self {
            self.common.min_version = min;
            self.common.max_version = max;
            self
        }

        /// Restricts cipher suites (names as in [`suite_by_name`]), in preference order.
        pub fn cipher_suites(&mut self, names: &[&str]) -> Result<&mut Self, ConfigError> {
            let suites = names
                .iter()
                .map(|n| suite_by_name(n).ok_or_else(|| ConfigError::UnknownName((*n).to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            self.common.suites = Some(suites);
            Ok(self)
        }

        /// Restricts key exchange groups (OpenSSL names: X25519MLKEM768, X25519, P-256, P-384, P-521),
        /// in preference order; the first gets a key share in the ClientHello.
        pub fn groups(&mut self, names: &[&str]) -> Result<&mut Self, ConfigError> {
            let groups = names
                .iter()
                .map(|n| group_by_name(n).ok_or_else(|| ConfigError::UnknownName((*n).to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            self.common.groups = Some(groups);
            Ok(self)
        }

        /// ALPN protocols, in preference order.
        pub fn alpn<P: AsRef<[u8]>>(&mut self, protocols: &[P]) -> &mut Self {
            self.common.alpn = protocols.iter().map(|p| p.as_ref().to_vec()).collect();
            self
        }

        /// Checks the peer's certificate against the CRLs in `pem_or_der` (`X509 CRL` PEM blocks,
        /// or one DER CRL); call again to add more. As OpenSSL's `-crl_check`: the end-entity
        /// certificate is checked, and one whose issuer has no CRL here is refused
        /// (`CERT_REVOCATION_UNKNOWN`); a revoked one is `CERT_REVOKED`; a CRL past its
        /// nextUpdate no longer vouches for anything (`CERT_REVOCATION_UNKNOWN`), as OpenSSL refuses
        /// it too (`X509_V_ERR_CRL_HAS_EXPIRED`).
        pub fn add_crl(&mut self, pem_or_der: &[u8]) -> Result<&mut Self, ConfigError> {
            self.common.crls.extend(crls_from(pem_or_der)?);
            Ok(self)
        }

        /// The largest plaintext this side puts in one record, 64 to 16384 bytes (OpenSSL's
        /// `-max_send_frag`; default 16384): smaller records reach a slow link's reader sooner.
        pub fn max_send_fragment(&mut self, bytes: usize) -> Result<&mut Self, ConfigError> {
            if !(64..=crate::MAX_RECORD_PLAINTEXT).contains(&bytes) {
                return Err(ConfigError::Rejected(format!("max send fragment {bytes}: 64 to 16384 bytes")));
            }
            self.common.max_send_fragment = Some(bytes);
            Ok(self)
        }

        /// Signature schemes (IANA names, e.g. `ecdsa_secp256r1_sha256`, `rsa_pss_rsae_sha256`,
        /// `ed25519`) in preference order, for this side's signatures and for the peer's
        /// (OpenSSL's `-sigalgs`): [`signing_schemes`](Self::signing_schemes) and
        /// [`verify_schemes`](Self::verify_schemes) at once.
        pub fn signature_schemes(&mut self, names: &[&str]) -> Result<&mut Self, ConfigError> {
            self.signing_schemes(names)?.verify_schemes(names)
        }

        /// The schemes this side signs with, in preference order: the first the peer offered
        /// that fits the key is used; none in common fails the handshake. Default: the key's
        /// own choice among those offered.
        pub fn signing_schemes(&mut self, names: &[&str]) -> Result<&mut Self, ConfigError> {
            self.common.signing_schemes = Some(schemes_by_name(names)?);
            Ok(self)
        }

        /// The schemes accepted for the peer's signatures, in preference order (what this side
        /// advertises in signature_algorithms); a peer signature with another is refused.
        /// Default: every scheme tlswire verifies.
        pub fn verify_schemes(&mut self, names: &[&str]) -> Result<&mut Self, ConfigError> {
            self.common.verify_schemes = Some(schemes_by_name(names)?);
            Ok(self)
        }

        /// The clock certificates are checked against (default: the platform clock).
        pub fn clock(&mut self, clock: Arc<dyn TimeProvider>) -> &mut Self {
            self.common.clock = Some(clock);
            self
        }
    };
}

/// A server certificate chain, its key and its stapled OCSP response.
type Credential = (Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>, Option<Vec<u8>>);

/// Client settings. Verification of the server's certificate and name is on by default.
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    common: Common,
    roots: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
    bundled_roots: Option<bool>,
    pins: Vec<[u8; 32]>,
    client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    no_verify: bool,
    /// `None`: the default size.
    session_cache: Option<usize>,
    early_data: bool,
    ech: Option<Ech>,
}

/// A client's Encrypted Client Hello setting.
#[derive(Clone, Debug)]
enum Ech {
    /// The server's ECHConfigList (from its DNS HTTPS record).
    Config(Vec<u8>),
    /// GREASE: a well-formed ECH extension no server can decrypt.
    Grease,
}

/// Whether a client's ClientHello was encrypted ([`crate::Info::ech`]). A server that does not
/// accept an ECH offer ends the handshake with [`crate::ProtocolError::EchRejected`], so a
/// completed handshake that offered ECH is always `Accepted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EchStatus {
    /// No ECH extension was sent (and always on a server).
    #[default]
    NotOffered,
    /// A GREASE ECH extension was sent: the real ClientHello was in the clear.
    Grease,
    /// The server decrypted the inner ClientHello: the server name, ALPN and the rest of it
    /// were encrypted to the server's ECH key; only the public name was in the clear.
    Accepted,
}

impl EchStatus {
    /// `none`, `grease` or `accepted`: the name every binding reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotOffered => "none",
            Self::Grease => "grease",
            Self::Accepted => "accepted",
        }
    }
}

/// The ECHConfigList (RFC 9849 §4) that holds `configs`.
pub(crate) fn ech_config_list(configs: &[rustls::internal::msgs::handshake::EchConfigPayload]) -> Vec<u8> {
    use rustls::internal::msgs::codec::Codec;
    let mut body = Vec::new();
    for config in configs {
        config.encode(&mut body);
    }
    let mut list = (body.len() as u16).to_be_bytes().to_vec();
    list.extend(body);
    list
}

fn ech_config(list: &[u8]) -> Result<rustls::client::EchConfig, ConfigError> {
    use rustls::internal::msgs::codec::{Codec, Reader};
    use rustls::internal::msgs::handshake::EchConfigPayload;
    let bad = |why: &str| ConfigError::BadEchConfig(why.to_string());
    let configs = Vec::<EchConfigPayload>::read(&mut Reader::init(list)).map_err(|_| bad("malformed"))?;
    // RFC 9849 §6.1: a configuration whose public name is not a valid DNS name (LDH labels, not
    // an IPv4 address) is ignored.
    let usable: Vec<EchConfigPayload> = configs
        .into_iter()
        .filter(|c| match c {
            EchConfigPayload::V18(contents) => valid_public_name(contents.public_name.as_ref()),
            EchConfigPayload::Unknown { .. } => true,
        })
        .collect();
    rustls::client::EchConfig::new(ech_config_list(&usable).into(), tlswire_crypto::hpke::ALL_SUPPORTED_SUITES)
        .map_err(|e| ConfigError::BadEchConfig(e.to_string()))
}

/// An ECH public name clients may use (RFC 9849 §6.1.7): letters, digits and hyphens in each
/// label, none starting or ending with a hyphen, and not an IPv4 address (a last label of only
/// digits, or one in hexadecimal).
fn valid_public_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    let ldh = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let last = labels.last().copied().unwrap_or("");
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || ((last.starts_with("0x") || last.starts_with("0X")) && last[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    ldh && !numeric
}

/// How many server names' sessions a client context keeps in memory by default (rustls's).
pub const DEFAULT_SESSION_CACHE: usize = 256;

/// The largest session cache a client or server context may have (OpenSSL's default size,
/// `SSL_SESSION_CACHE_MAX_SIZE_DEFAULT`): rustls sets its room aside when the context is built,
/// so a larger one is a configuration error rather than memory the context cannot have.
pub const MAX_SESSION_CACHE: usize = 20_480;

/// The most TLS 1.3 tickets a server may send after each handshake
/// ([`ServerConfig::tickets`]).
pub const MAX_TICKETS: usize = 16;

fn check_session_cache(sessions: usize) -> Result<(), ConfigError> {
    if sessions > MAX_SESSION_CACHE {
        return Err(ConfigError::Rejected(format!(
            "session cache of {sessions} sessions: at most {MAX_SESSION_CACHE}"
        )));
    }
    Ok(())
}

impl ClientConfig {
    /// Defaults: TLS 1.2 and 1.3, every suite and group, bundled Mozilla roots (when built with
    /// the `webpki-roots` feature) unless CAs are added.
    pub fn new() -> Self {
        Self::default()
    }

    common_setters!();

    /// Trusts the CA certificates in `pem_or_der` (PEM blocks, or one DER certificate).
    pub fn add_ca(&mut self, pem_or_der: &[u8]) -> Result<&mut Self, ConfigError> {
        self.roots.extend(certificates_from(pem_or_der)?);
        Ok(self)
    }

    /// Trusts one CA given as a trust anchor rather than a certificate, in the form
    /// `webpki_roots::TLS_SERVER_ROOTS` uses: the subject Name's content (without its outer
    /// SEQUENCE header), the DER SubjectPublicKeyInfo content, and optional name constraints.
    /// This is how a caller ships a root store without paying for whole certificates.
    pub fn add_trust_anchor(&mut self, subject: &[u8], spki: &[u8], name_constraints: Option<&[u8]>) -> &mut Self {
        self.anchors.push(TrustAnchor {
            subject: Der::from(subject.to_vec()),
            subject_public_key_info: Der::from(spki.to_vec()),
            name_constraints: name_constraints.map(|nc| Der::from(nc.to_vec())),
        });
        self
    }

    /// Trusts every anchor in `packed` ([`crate::anchors`] format).
    pub fn add_packed_trust_anchors(&mut self, packed: &[u8]) -> Result<&mut Self, ConfigError> {
        let anchors = crate::anchors::decode(packed)
            .ok_or_else(|| ConfigError::Rejected("malformed packed trust anchors".into()))?;
        for (subject, spki, name_constraints) in anchors {
            self.add_trust_anchor(subject, spki, name_constraints);
        }
        Ok(self)
    }

    /// Whether to trust the bundled Mozilla roots. Default: only when no CA was added.
    pub fn bundled_roots(&mut self, on: bool) -> &mut Self {
        self.bundled_roots = Some(on);
        self
    }

    /// Requires a key on the verified certificate path to have `pin` as its SPKI SHA-256 (in
    /// addition to normal verification): the leaf's, an intermediate's that the verified path
    /// uses, or the trust anchor's. With verification dangerously disabled only the leaf's key
    /// can match. Certificates the peer sent that are on no verified path never match. Several
    /// pins: any may match.
    pub fn pin_spki_sha256(&mut self, pin: [u8; 32]) -> &mut Self {
        self.pins.push(pin);
        self
    }

    /// Client certificate chain (leaf first) and its private key, PEM or DER.
    pub fn client_auth(&mut self, chain: &[u8], key: &[u8]) -> Result<&mut Self, ConfigError> {
        let chain = certificates_from(chain)?;
        let key = private_key_from(key)?;
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// How many server names' sessions the context keeps in memory for its connections to
    /// resume (default 256); 0 keeps none. Sessions taken as bytes
    /// ([`crate::Connection::take_sessions`]) and offered again
    /// ([`crate::Connection::client_resuming`]) do not need it. TLS 1.3 tickets are used once.
    /// At most [`MAX_SESSION_CACHE`]: more is a [`ConfigError::Rejected`] from `build`.
    pub fn session_cache(&mut self, sessions: usize) -> &mut Self {
        self.session_cache = Some(sessions);
        self
    }

    /// Lets connections send early data (TLS 1.3 0-RTT) when they resume a session that allows
    /// it ([`crate::Connection::write_early_data`]); default off.
    pub fn early_data(&mut self, on: bool) -> &mut Self {
        self.early_data = on;
        self
    }

    /// Encrypted Client Hello (RFC 9849) with the server's ECHConfigList, the bytes of its DNS
    /// HTTPS record's `ech` parameter (base64-decoded): the ClientHello that carries the server
    /// name, ALPN and the rest goes encrypted to the server's key inside an outer ClientHello
    /// that names only the configuration's public name. A server that does not take it fails
    /// the handshake with [`crate::ProtocolError::EchRejected`] (after checking its certificate
    /// for the public name), carrying the server's new list if it sent one. ECH is TLS 1.3
    /// only: a context with it offers only TLS 1.3. Suites: DHKEM(X25519, HKDF-SHA256) with
    /// HKDF-SHA256 and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305.
    pub fn ech_config_list(&mut self, list: &[u8]) -> Result<&mut Self, ConfigError> {
        ech_config(list)?;
        self.ech = Some(Ech::Config(list.to_vec()));
        Ok(self)
    }

    /// GREASE ECH (RFC 9849 §6.2): sends an ECH extension of random bytes shaped like a real
    /// one, so that servers and middleboxes keep working with ECH; nothing is hidden. Like ECH
    /// it limits the context to TLS 1.3. A later [`Self::ech_config_list`] replaces it.
    pub fn ech_grease(&mut self, on: bool) -> &mut Self {
        match (on, &self.ech) {
            (true, None) => self.ech = Some(Ech::Grease),
            (false, Some(Ech::Grease)) => self.ech = None,
            _ => {}
        }
        self
    }

    fn ech_mode(&self) -> Result<Option<rustls::client::EchMode>, ConfigError> {
        use tlswire_crypto::hpke::X25519_SHA256_AES128GCM as SUITE;
        Ok(match &self.ech {
            None => None,
            Some(Ech::Config(list)) => Some(ech_config(list)?.into()),
            Some(Ech::Grease) => {
                // The placeholder key only sizes the extension; nobody holds its private half.
                let (public, _) = SUITE.generate_key_pair().map_err(|e| ConfigError::Rejected(e.to_string()))?;
                Some(rustls::client::EchGreaseConfig::new(SUITE, public).into())
            }
        })
    }

    /// The SHA-256 of what a session's resumption depends on (see [`crate::session`]).
    fn policy(&self, bundled: bool) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |tag: u8, bytes: &[u8]| {
            h.update([tag]);
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(0, &[u8::from(self.no_verify), u8::from(bundled)]);
        for ca in &self.roots {
            field(1, ca);
        }
        for anchor in &self.anchors {
            field(2, &anchor.subject);
            field(3, &anchor.subject_public_key_info);
            field(4, anchor.name_constraints.as_deref().unwrap_or(&[]));
        }
        for pin in &self.pins {
            field(5, pin);
        }
        for crl in &self.common.crls {
            field(6, crl);
        }
        for cert in self.client_auth.iter().flat_map(|(chain, _)| chain) {
            field(7, cert);
        }
        h.finalize().into()
    }

    /// **Dangerous**: accept any server certificate for any name. Handshake signatures are still
    /// checked, but an active attacker can read and change all traffic. For tests only.
    pub fn dangerously_disable_verification(&mut self) -> &mut Self {
        self.no_verify = true;
        self
    }

    /// The former name of [`Self::dangerously_disable_verification`].
    #[deprecated(note = "renamed dangerously_disable_verification (one spelling across the surfaces)")]
    pub fn dangerous_disable_verification(&mut self) -> &mut Self {
        self.dangerously_disable_verification()
    }

    /// Validates the settings and builds the shared context connections are opened from.
    pub fn build(&self) -> Result<ClientContext, ConfigError> {
        let provider = self.common.provider();
        let builder = rustls::ClientConfig::builder_with_details(provider.clone(), self.common.clock());
        let ech = self.ech_mode()?;
        let ech_status = match &ech {
            None => EchStatus::NotOffered,
            Some(rustls::client::EchMode::Grease(_)) => EchStatus::Grease,
            Some(_) => EchStatus::Accepted,
        };
        let builder = match ech {
            Some(_) if self.common.max_version < Version::Tls13 => {
                return Err(ConfigError::Rejected(
                    "ECH needs TLS 1.3, and the highest version allowed is TLS 1.2".into(),
                ))
            }
            // ECH (and its GREASE) offers TLS 1.3 alone.
            Some(mode) => builder.with_ech(mode),
            None => builder.with_protocol_versions(&self.common.versions()),
        }
        .map_err(|e| ConfigError::Rejected(e.to_string()))?;

        let bundled = !self.no_verify && self.bundled_roots.unwrap_or(self.roots.is_empty() && self.anchors.is_empty());
        let mut roots = RootCertStore::empty();
        let inner: Option<Arc<dyn rustls::client::danger::ServerCertVerifier>> = if self.no_verify {
            None
        } else {
            for ca in &self.roots {
                roots.add(ca.clone()).map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
            }
            roots.extend(self.anchors.iter().cloned());
            if bundled {
                add_bundled_roots(&mut roots)?;
            }
            if roots.is_empty() {
                return Err(ConfigError::Rejected(
                    "no trusted roots: add a CA, enable bundled roots, or disable verification".into(),
                ));
            }
            let mut verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots.clone()), provider.clone());
            if !self.common.crls.is_empty() {
                verifier = verifier
                    .with_crls(self.common.crls.clone())
                    .only_check_end_entity_revocation()
                    .enforce_revocation_expiration();
            }
            Some(verifier.build().map_err(|e| ConfigError::Rejected(e.to_string()))?)
        };
        let verifier = Verifier {
            inner,
            pins: self.pins.clone(),
            roots: Arc::new(roots),
            crls: self.common.parsed_crls()?,
            algorithms: provider.signature_verification_algorithms,
            groups: provider.kx_groups.iter().map(|g| g.name()).collect(),
            schemes: self.common.verify_schemes(&provider),
        };
        let builder = builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match &self.client_auth {
            Some((chain, key)) => {
                let preferences = self.common.signing_schemes.clone();
                let key =
                    crate::credential::certified_key(chain.clone(), key.clone_key(), &provider, preferences, None)?;
                builder.with_client_cert_resolver(Arc::new(crate::credential::ClientCertificate(key)))
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.common.alpn.clone();
        config.key_log = Arc::new(crate::keylog::ThreadKeyLog);
        config.max_fragment_size = self.common.record_size();
        config.enable_early_data = self.early_data;
        let sessions = self.session_cache.unwrap_or(DEFAULT_SESSION_CACHE);
        check_session_cache(sessions)?;
        config.resumption = rustls::client::Resumption::store(Arc::new(crate::session::SessionStore {
            memory: (sessions > 0).then(|| rustls::client::ClientSessionMemoryCache::new(sessions)),
        }));
        Ok(ClientContext {
            config: Arc::new(config),
            max_version: self.common.max_version,
            tls12_groups: Arc::default(),
            policy: self.policy(bundled),
            ech: ech_status,
        })
    }
}

#[cfg(feature = "webpki-roots")]
fn add_bundled_roots(roots: &mut RootCertStore) -> Result<(), ConfigError> {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(())
}

#[cfg(not(feature = "webpki-roots"))]
fn add_bundled_roots(_roots: &mut RootCertStore) -> Result<(), ConfigError> {
    Err(ConfigError::Rejected("built without bundled roots (feature `webpki-roots`)".into()))
}

/// A built client configuration; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct ClientContext {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) max_version: Version,
    /// The key exchange group of the last full TLS 1.2 handshake per server name: a resumed TLS
    /// 1.2 session (which exchanges no key) reports its session's group, as OpenSSL and
    /// BoringSSL do. rustls keeps one TLS 1.2 session per name, the one that handshake made.
    pub(crate) tls12_groups: Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
    /// What sessions taken from this context's connections are bound to ([`crate::session`]).
    pub(crate) policy: [u8; 32],
    /// What a completed handshake's [`crate::Info::ech`] is.
    pub(crate) ech: EchStatus,
}

/// Whether and how a server asks for client certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No CertificateRequest.
    #[default]
    None,
    /// Ask; accept clients without a certificate (verify those that send one).
    Optional,
    /// Ask and reject clients without a valid certificate.
    Required,
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    common: Common,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    client_auth: ClientAuth,
    client_roots: Vec<CertificateDer<'static>>,
    /// Client certificates are not checked against CAs (a verify hook decides).
    any_client_certificate: bool,
    tickets: usize,
    stateless_tickets: bool,
    session_cache: usize,
    ocsp: Option<Vec<u8>>,
    /// Certificates beyond the first.
    more: Vec<Credential>,
    max_early_data: u32,
}

impl ServerConfig {
    /// A server with this certificate chain (leaf first) and private key, PEM or DER.
    pub fn new(chain: &[u8], key: &[u8]) -> Result<Self, ConfigError> {
        Ok(Self {
            common: Common::default(),
            chain: certificates_from(chain)?,
            key: Arc::new(private_key_from(key)?),
            client_auth: ClientAuth::None,
            client_roots: Vec::new(),
            any_client_certificate: false,
            tickets: 2,
            stateless_tickets: true,
            session_cache: DEFAULT_SESSION_CACHE,
            ocsp: None,
            more: Vec::new(),
            max_early_data: 0,
        })
    }

    common_setters!();

    /// Asks clients for certificates issued by the CAs in `ca_pem_or_der`.
    pub fn client_auth(&mut self, mode: ClientAuth, ca_pem_or_der: &[u8]) -> Result<&mut Self, ConfigError> {
        self.client_auth = mode;
        self.client_roots = certificates_from(ca_pem_or_der)?;
        self.any_client_certificate = false;
        Ok(self)
    }

    /// **Dangerous**: asks clients for certificates (`mode`) and accepts any, from any issuer,
    /// valid or not: only the client's handshake signature with the certificate's key is
    /// checked. For self-signed client certificates that a connection's verify hook
    /// ([`crate::Connection::set_verify_hook`]) judges itself, by a pin or a device registry:
    /// without such a hook every client that presents a certificate is let in.
    pub fn dangerously_accept_any_client_certificate(&mut self, mode: ClientAuth) -> &mut Self {
        self.client_auth = mode;
        self.client_roots.clear();
        self.any_client_certificate = mode != ClientAuth::None;
        self
    }

    /// Number of TLS 1.3 session tickets sent after the handshake (default 2, as OpenSSL;
    /// OpenSSL's `-num_tickets`). 0 sends none. At most [`MAX_TICKETS`]: more is a
    /// [`ConfigError::Rejected`] from `build`.
    pub fn tickets(&mut self, n: usize) -> &mut Self {
        self.tickets = n;
        self
    }

    /// Adds another certificate chain (leaf first) and its key, PEM or DER: an RSA certificate
    /// beside an ECDSA one, or one per host name. Per ClientHello the server presents, among its
    /// certificates valid for the name the client asked for (if none is, or it named none: the
    /// default and those valid for the default's names, never another name's), the first whose key can make a signature the client accepts under a cipher
    /// suite both allow (in TLS 1.2 also on a curve the client offered); the one given to
    /// [`ServerConfig::new`] comes first. [`crate::Info::certificate`] says which was used.
    /// `ocsp` is its stapled OCSP response, if any.
    pub fn add_certificate(&mut self, chain: &[u8], key: &[u8], ocsp: Option<&[u8]>) -> Result<&mut Self, ConfigError> {
        self.more.push((certificates_from(chain)?, Arc::new(private_key_from(key)?), ocsp.map(<[u8]>::to_vec)));
        Ok(self)
    }

    /// Staples `response` (a DER OCSP response for the certificate, from its CA's responder) to
    /// the certificate for clients that ask (OpenSSL's `SSL_set_tlsext_status_ocsp_resp`). It is
    /// sent as given, not parsed: refresh it by building a new context before it expires.
    pub fn ocsp_response(&mut self, response: &[u8]) -> Result<&mut Self, ConfigError> {
        if response.is_empty() {
            return Err(ConfigError::Rejected("an empty OCSP response: nothing to staple".into()));
        }
        self.ocsp = Some(response.to_vec());
        Ok(self)
    }

    /// Accepts up to `bytes` of early data (TLS 1.3 0-RTT, OpenSSL's `-early_data`) from a client
    /// resuming a session; 0 (the default) refuses it, and the client sends it again after the
    /// handshake. Early data can be replayed by whoever recorded it: rustls accepts it only with
    /// single-use sessions from the session cache, so this turns stateless tickets off. Accepted
    /// early data comes first in what `read` returns ([`crate::Info::early_data`] counts it);
    /// act on it only if a replay would do no harm.
    pub fn max_early_data(&mut self, bytes: u32) -> &mut Self {
        self.max_early_data = bytes;
        if bytes > 0 {
            self.stateless_tickets = false;
        }
        self
    }

    /// Stateless session tickets (default on, as OpenSSL): TLS 1.3 tickets and TLS 1.2 tickets
    /// (RFC 5077) carry the session sealed under a key only this context holds, rotated every
    /// 6 hours and accepted for 12 ([`tlswire_crypto::ticketer`]), so any number of sessions
    /// costs no memory. Off (OpenSSL's `-no_ticket`), sessions live in the session cache instead
    /// (TLS 1.3 tickets then name a cache entry, and each resumes once).
    pub fn stateless_tickets(&mut self, on: bool) -> &mut Self {
        self.stateless_tickets = on;
        self
    }

    /// How many sessions the server keeps in memory (default 256): TLS 1.2 session IDs, and
    /// TLS 1.3 sessions when stateless tickets are off. 0 keeps none (OpenSSL's `-no_cache`).
    /// At most [`MAX_SESSION_CACHE`]: more is a [`ConfigError::Rejected`] from `build`.
    pub fn session_cache(&mut self, sessions: usize) -> &mut Self {
        self.session_cache = sessions;
        self
    }

    /// Validates the settings and builds the shared context connections are opened from.
    pub fn build(&self) -> Result<ServerContext, ConfigError> {
        check_session_cache(self.session_cache)?;
        if self.tickets > MAX_TICKETS {
            return Err(ConfigError::Rejected(format!(
                "{} tickets after each handshake: at most {MAX_TICKETS}",
                self.tickets
            )));
        }
        let provider = self.common.provider();
        let builder = rustls::ServerConfig::builder_with_details(provider.clone(), self.common.clock())
            .with_protocol_versions(&self.common.versions())
            .map_err(|e| ConfigError::Rejected(e.to_string()))?;
        let builder = match self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            mode if self.any_client_certificate => builder.with_client_cert_verifier(Arc::new(ClientVerifier {
                inner: None,
                mandatory: mode == ClientAuth::Required,
                algorithms: provider.signature_verification_algorithms,
                schemes: self.common.verify_schemes(&provider),
            })),
            mode => {
                let mut roots = RootCertStore::empty();
                for ca in &self.client_roots {
                    roots.add(ca.clone()).map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
                }
                let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
                if !self.common.crls.is_empty() {
                    verifier = verifier
                        .with_crls(self.common.crls.clone())
                        .only_check_end_entity_revocation()
                        .enforce_revocation_expiration();
                }
                let verifier = if mode == ClientAuth::Optional { verifier.allow_unauthenticated() } else { verifier };
                let inner = verifier.build().map_err(|e| ConfigError::Rejected(e.to_string()))?;
                let schemes = self.common.verify_schemes(&provider);
                builder.with_client_cert_verifier(Arc::new(ClientVerifier {
                    inner: Some(inner),
                    mandatory: mode == ClientAuth::Required,
                    algorithms: provider.signature_verification_algorithms,
                    schemes,
                }))
            }
        };
        let mut certificates = Vec::with_capacity(1 + self.more.len());
        let first = (self.chain.clone(), self.key.clone(), self.ocsp.clone());
        for (chain, key, ocsp) in std::iter::once(first).chain(self.more.iter().cloned()) {
            let preferences = self.common.signing_schemes.clone();
            certificates.push(crate::credential::certified_key(chain, key.clone_key(), &provider, preferences, ocsp)?);
        }
        let resolver = crate::credential::ServerCertificates::new(certificates, provider.cipher_suites.clone());
        let mut config = builder.with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = self.common.alpn.clone();
        config.key_log = Arc::new(crate::keylog::ThreadKeyLog);
        config.max_fragment_size = self.common.record_size();
        config.send_tls13_tickets = self.tickets;
        config.max_early_data_size = self.max_early_data;
        config.session_storage = if self.session_cache > 0 {
            rustls::server::ServerSessionMemoryCache::new(self.session_cache)
        } else {
            Arc::new(rustls::server::NoServerSessionStorage {})
        };
        if self.stateless_tickets {
            config.ticketer =
                tlswire_crypto::ticketer::ticketer().map_err(|e| ConfigError::Rejected(format!("ticket key: {e}")))?;
        }
        Ok(ServerContext { config: Arc::new(config), max_version: self.common.max_version })
    }
}

/// A built server configuration; cheap to clone and share.
#[derive(Clone, Debug)]
pub struct ServerContext {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) max_version: Version,
}
