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

/// A server's one certificate, for every ClientHello.
#[derive(Debug)]
pub(crate) struct ServerCertificate(pub Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
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
