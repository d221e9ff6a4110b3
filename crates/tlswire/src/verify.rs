//! Server certificate verification beyond rustls's WebPKI verifier: SPKI SHA-256 pinning, and the
//! explicitly dangerous "accept any certificate" verifier.

use std::sync::Arc;

use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The error a pinned verifier reports (surfaces as [`crate::CertificateError::PinMismatch`]).
#[derive(Debug)]
pub(crate) struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no certificate matches the configured SPKI pins")
    }
}

impl std::error::Error for PinMismatch {}

/// SHA-256 of a certificate's DER SubjectPublicKeyInfo (the HPKP / `openssl pkey -pubin
/// -outform der | sha256` pin).
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    Some(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// Runs the inner verifier (unless it is `None`: verification disabled), then requires one of
/// the presented certificates to match a pin (when pins are configured).
#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) inner: Option<Arc<dyn ServerCertVerifier>>,
    pub(crate) pins: Vec<[u8; 32]>,
    pub(crate) algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(inner) = &self.inner {
            inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        }
        if !self.pins.is_empty() {
            let pinned = std::iter::once(end_entity)
                .chain(intermediates)
                .filter_map(spki_sha256)
                .any(|spki| self.pins.contains(&spki));
            if !pinned {
                return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                    Arc::new(PinMismatch),
                ))));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The handshake signature is always checked, even with chain verification disabled.
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
