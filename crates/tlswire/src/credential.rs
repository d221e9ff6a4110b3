//! This side's certificate and key as rustls gets them: the key wrapped so that signature scheme
//! preferences (`signing_schemes`) choose its scheme and the scheme chosen is reported
//! ([`crate::Info::signature_scheme`]), behind resolvers that always present it.

use std::sync::Arc;

use pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

use crate::error::ConfigError;

/// A key whose scheme is chosen by `preferences` (in their order, among those the peer offered),
/// or by the key itself when there are none.
#[derive(Debug)]
struct PreferredKey {
    inner: Arc<dyn SigningKey>,
    preferences: Option<Vec<SignatureScheme>>,
}

impl SigningKey for PreferredKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let signer = match &self.preferences {
            None => self.inner.choose_scheme(offered),
            Some(prefs) => prefs.iter().filter(|s| offered.contains(s)).find_map(|s| self.inner.choose_scheme(&[*s])),
        };
        if let Some(s) = &signer {
            crate::verify::facts::own_scheme(s.scheme());
        }
        signer
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.inner.algorithm()
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.inner.public_key()
    }
}

/// A chain and its key, checked to belong together, with the key's scheme preferences.
pub(crate) fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
    preferences: Option<Vec<SignatureScheme>>,
    ocsp: Option<Vec<u8>>,
) -> Result<Arc<CertifiedKey>, ConfigError> {
    let checked =
        CertifiedKey::from_der(chain, key, provider).map_err(|e| ConfigError::BadPrivateKey(e.to_string()))?;
    let mut certified = CertifiedKey::new(checked.cert, Arc::new(PreferredKey { inner: checked.key, preferences }));
    certified.ocsp = ocsp;
    Ok(Arc::new(certified))
}

/// rustls's error when the resolver finds no certificate.
pub(crate) const NONE_FITS: &str = "no server certificate chain resolved";

/// A server's certificates, the first being its default; [`ServerCertificates::choose`] picks one
/// per ClientHello.
#[derive(Debug)]
pub(crate) struct ServerCertificates {
    certificates: Vec<Arc<CertifiedKey>>,
    /// The suites the server allows (TLS 1.2 suites tie a certificate's key type to the suite).
    suites: Vec<rustls::SupportedCipherSuite>,
    /// The default certificate and those valid for one of its names (an RSA certificate beside
    /// an ECDSA default, say): what a client that names none of the server's names may get.
    defaults: Vec<usize>,
}

impl ServerCertificates {
    pub(crate) fn new(certificates: Vec<Arc<CertifiedKey>>, suites: Vec<rustls::SupportedCipherSuite>) -> Self {
        let names = certificates
            .first()
            .and_then(|key| key.end_entity_cert().ok())
            .map(|der| crate::verify::subject_alt_names(der.as_ref()))
            .unwrap_or_default();
        let defaults = (0..certificates.len())
            .filter(|&i| i == 0 || certificates.get(i).is_some_and(|key| names.iter().any(|n| valid_for(key, n))))
            .collect();
        Self { certificates, suites, defaults }
    }

    /// The certificate for a ClientHello: among those valid for the name the client asked for
    /// (if it named none of the server's names, or none: the default and those valid for one of
    /// the default's names, as a virtual-hosting server sends its default), the first whose key
    /// can make a signature the client accepts, under a cipher suite both allow, with (TLS 1.2) a
    /// curve the client offered; `None` if none can (the handshake fails with handshake_failure).
    /// A client cannot obtain the certificate of a name it does not know.
    fn choose(&self, hello: &rustls::server::ClientHello<'_>) -> Option<usize> {
        let named: Vec<usize> = match hello.server_name().and_then(|n| pki_types::ServerName::try_from(n).ok()) {
            Some(name) => {
                self.certificates.iter().enumerate().filter(|(_, key)| valid_for(key, &name)).map(|(i, _)| i).collect()
            }
            None => Vec::new(),
        };
        let candidates = if named.is_empty() { self.defaults.clone() } else { named };
        let offered_suites: Vec<&rustls::SupportedCipherSuite> =
            self.suites.iter().filter(|s| hello.cipher_suites().contains(&s.suite())).collect();
        // The version is chosen before the certificate; rustls does not say which, the core's
        // read of the ClientHello does.
        let tls13 = crate::verify::facts::tls13()
            .unwrap_or_else(|| offered_suites.iter().any(|s| matches!(s, rustls::SupportedCipherSuite::Tls13(_))));
        let offered_suites: Vec<&rustls::SupportedCipherSuite> = offered_suites
            .into_iter()
            .filter(|s| matches!(s, rustls::SupportedCipherSuite::Tls13(_)) == tls13)
            .collect();
        let usable = |i: &usize| {
            let Some(key) = self.certificates.get(*i) else { return false };
            let algorithm = key.key.algorithm();
            let suite_fits = offered_suites.iter().any(|s| s.usable_for_signature_algorithm(algorithm));
            let curve_fits = tls13
                || match (
                    crate::verify::ec_curve(key.end_entity_cert().map(|c| c.as_ref()).unwrap_or_default()),
                    hello.named_groups(),
                ) {
                    (Some(curve), Some(groups)) => groups.contains(&curve),
                    _ => true,
                };
            // TLS 1.3 signs only with the schemes it allows (RFC 8446 section 4.2.3: no
            // PKCS#1 v1.5, no SHA-1): a client that offers none of them gets handshake_failure
            // here, before the ServerHello, not after it from rustls.
            let schemes: Vec<SignatureScheme> =
                hello.signature_schemes().iter().copied().filter(|s| !tls13 || allowed_in_tls13(*s)).collect();
            suite_fits && curve_fits && key.key.choose_scheme(&schemes).is_some()
        };
        candidates.iter().copied().find(usable)
    }
}

/// Whether TLS 1.3 allows a signature scheme (rustls's own rule, which it keeps private): not
/// with MD5, SHA-1 or SHA-224, nor RSASSA-PKCS1-v1_5, DSA or anonymous.
fn allowed_in_tls13(scheme: SignatureScheme) -> bool {
    let [hash, signature] = u16::from(scheme).to_be_bytes();
    !matches!(hash, 0..=3) && !matches!(signature, 0..=2)
}

/// Whether `key`'s certificate is valid for `name` (its subjectAltNames).
fn valid_for(key: &CertifiedKey, name: &pki_types::ServerName<'_>) -> bool {
    let Ok(der) = key.end_entity_cert() else { return false };
    webpki::EndEntityCert::try_from(der).is_ok_and(|cert| cert.verify_is_valid_for_subject_name(name).is_ok())
}

impl rustls::server::ResolvesServerCert for ServerCertificates {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let index = self.choose(&hello)?;
        crate::verify::facts::certificate(index);
        self.certificates.get(index).cloned()
    }
}

/// A client's one certificate, sent whenever the server asks.
#[derive(Debug)]
pub(crate) struct ClientCertificate(pub Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCertificate {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
