//! Server certificate verification beyond rustls's WebPKI verifier: SPKI SHA-256 pinning, and the
//! explicitly dangerous "accept any certificate" verifier.

use std::sync::Arc;

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
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

/// A certificate's subject as an RFC 4514 string (most significant RDN last), e.g.
/// `CN=db.internal,O=Example,C=DE`; `None` if the certificate does not parse.
///
/// Attribute types without an RFC 4514 short name are written as dotted OIDs, and values that
/// are not UTF-8, printable or IA5 strings as `#` and the hex of their DER.
pub fn certificate_subject(cert: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
    // signature, issuer, validity, subject, ... }, ... }. Walked with `der`'s `AnyRef` rather
    // than decoded as an x509-cert `Certificate`: the full decoder costs 12 KB of wasm.
    let tbs = *sequence(&AnyRef::from_der(cert).ok()?)?.first()?;
    let fields = sequence(&tbs)?;
    let version = Tag::ContextSpecific { constructed: true, number: TagNumber(0) };
    let subject = fields.get(usize::from(fields.first()?.tag() == version) + 4)?;
    let mut out = String::new();
    for (i, rdn) in sequence(subject)?.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attribute) in elements(rdn, Tag::Set)?.iter().enumerate() {
            let [oid, value] = sequence(attribute)?[..] else { return None };
            if j > 0 {
                out.push('+');
            }
            write_attribute(&mut out, ObjectIdentifier::from_bytes(oid.value()).ok()?, value);
        }
    }
    Some(out)
}

fn sequence<'a>(any: &AnyRef<'a>) -> Option<Vec<AnyRef<'a>>> {
    elements(any, Tag::Sequence)
}

/// The elements of a constructed value with tag `tag`.
fn elements<'a>(any: &AnyRef<'a>, tag: Tag) -> Option<Vec<AnyRef<'a>>> {
    if any.tag() != tag {
        return None;
    }
    let mut reader = SliceReader::new(any.value()).ok()?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader).ok()?);
    }
    Some(out)
}

fn write_attribute(out: &mut String, oid: ObjectIdentifier, value: AnyRef<'_>) {
    use std::fmt::Write;
    // RFC 4514 section 3, plus the two OpenSSL prints in every certificate dump.
    const SHORT_NAMES: [(&str, &str); 11] = [
        ("2.5.4.3", "CN"),
        ("2.5.4.7", "L"),
        ("2.5.4.8", "ST"),
        ("2.5.4.10", "O"),
        ("2.5.4.11", "OU"),
        ("2.5.4.6", "C"),
        ("2.5.4.9", "STREET"),
        ("0.9.2342.19200300.100.1.25", "DC"),
        ("0.9.2342.19200300.100.1.1", "UID"),
        ("2.5.4.5", "serialNumber"),
        ("1.2.840.113549.1.9.1", "emailAddress"),
    ];
    let oid = oid.to_string();
    match SHORT_NAMES.iter().find(|(dotted, _)| *dotted == oid) {
        Some((_, name)) => out.push_str(name),
        None => out.push_str(&oid),
    }
    out.push('=');
    let text = match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => std::str::from_utf8(value.value()).ok(),
        _ => None,
    };
    let Some(text) = text else {
        out.push('#');
        for byte in value.to_der().unwrap_or_default() {
            let _ = write!(out, "{byte:02x}");
        }
        return;
    };
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\{:02x}", c as u32);
            }
            _ => out.push(c),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn der(pem: &[u8]) -> Vec<u8> {
        use base64ct::Encoding;
        let body: String = std::str::from_utf8(pem).unwrap().lines().filter(|l| !l.starts_with("-----")).collect();
        base64ct::Base64::decode_vec(&body).unwrap()
    }

    #[test]
    fn subject_is_rfc4514() {
        let cert = der(include_bytes!("../testdata/server-ecdsa.pem"));
        assert_eq!(certificate_subject(&cert).as_deref(), Some("CN=localhost"));
    }

    #[test]
    fn subject_escapes_and_multivalued_rdns() {
        // openssl req -multivalue-rdn -subj '/C=DE/O=Smith, Jones \+ Co/OU=ops+UID=u1/CN= #lead/
        //   emailAddress=a@b.example/2.5.4.97=VATDE-1'
        let cert = der(include_bytes!("../testdata/subject.pem"));
        assert_eq!(
            certificate_subject(&cert).as_deref(),
            Some(r"2.5.4.97=VATDE-1,emailAddress=a@b.example,CN=\ #lead,OU=ops+UID=u1,O=Smith\, Jones \+ Co,C=DE")
        );
    }

    #[test]
    fn subject_of_garbage_is_none() {
        assert_eq!(certificate_subject(b"\x30\x03\x02\x01\x01"), None);
        assert_eq!(certificate_subject(b""), None);
    }
}
