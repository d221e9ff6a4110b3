//! Server certificate verification beyond rustls's WebPKI verifier: SPKI SHA-256 pinning, and the
//! explicitly dangerous "accept any certificate" verifier.

use std::sync::Arc;

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// Why tlswire's own checks refused a certificate (carried to [`crate::CertificateError`] inside
/// rustls's `CertificateError::Other`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No pinned key on a verified path (or on the leaf, with verification off).
    PinMismatch,
    /// The caller's verification hook refused the chain, saying why.
    Hook(String),
    /// The certificate's keyUsage does not allow signatures, and its key signed the handshake.
    KeyUsage,
    /// An RSA key below the 2048 bits tlswire accepts.
    WeakKey { bits: usize },
    /// TLS 1.2: the certificate's ECDSA curve is not among the groups this side offered
    /// (RFC 8422 section 5.1: the curve list covers the certificate's curve as well).
    CurveNotOffered,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PinMismatch => f.write_str("no pinned key on a verified certificate path (SPKI pins)"),
            Self::Hook(why) => write!(f, "refused by the verification hook: {why}"),
            Self::KeyUsage => f.write_str("its keyUsage does not allow digital signatures"),
            Self::WeakKey { bits } => write!(f, "its {bits}-bit RSA key is below the 2048 bits accepted"),
            Self::CurveNotOffered => f.write_str("its ECDSA curve is not among the groups offered (TLS 1.2)"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    fn into_rustls(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(self))))
    }
}

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
    let (fields, base) = tbs_fields(cert)?;
    let subject = fields.get(base + 4)?;
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

/// The fields of a certificate's tbsCertificate, and the index of `serialNumber` in them (1 when
/// the optional `[0] version` is present).
fn tbs_fields(cert: &[u8]) -> Option<(Vec<AnyRef<'_>>, usize)> {
    let tbs = *sequence(&AnyRef::from_der(cert).ok()?)?.first()?;
    let fields = sequence(&tbs)?;
    let version = Tag::ContextSpecific { constructed: true, number: TagNumber(0) };
    let base = usize::from(fields.first()?.tag() == version);
    Some((fields, base))
}

const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Whether a certificate's key may sign: `false` only when a keyUsage extension is present and
/// lacks digitalSignature (RFC 5280 section 4.2.1.3; an absent extension allows every use).
fn key_usage_allows_signing(cert: &[u8]) -> bool {
    let Some(value) = extension(cert, OID_KEY_USAGE) else { return true };
    // extnValue is an OCTET STRING holding KeyUsage ::= BIT STRING; digitalSignature is bit 0,
    // the most significant bit of the first byte after the unused-bits count.
    let Ok(bits) = AnyRef::from_der(value) else { return false };
    bits.tag() == Tag::BitString && bits.value().get(1).is_some_and(|b| b & 0x80 != 0)
}

/// The contents of a certificate's extension `wanted` (its extnValue OCTET STRING's bytes), if
/// it has one and parses that far.
fn extension(cert: &[u8], wanted: ObjectIdentifier) -> Option<&[u8]> {
    let (fields, _) = tbs_fields(cert)?;
    let extensions_tag = Tag::ContextSpecific { constructed: true, number: TagNumber(3) };
    let extensions = fields.iter().find(|f| f.tag() == extensions_tag)?;
    let list = sequence(&AnyRef::from_der(extensions.value()).ok()?)?;
    list.iter().find_map(|extension| {
        let parts = sequence(extension)?;
        let (oid, value) = (parts.first()?, parts.last()?);
        (ObjectIdentifier::from_bytes(oid.value()).ok()? == wanted).then_some(value.value())
    })
}

/// The names a certificate's subjectAltName gives (dNSName and iPAddress entries) as server
/// names; wildcards and malformed entries are left out. Empty if it has none or does not parse.
pub(crate) fn subject_alt_names(cert: &[u8]) -> Vec<pki_types::ServerName<'static>> {
    // extnValue is an OCTET STRING holding GeneralNames ::= SEQUENCE OF GeneralName:
    // dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16 bytes).
    let Some(value) = extension(cert, OID_SUBJECT_ALT_NAME) else { return Vec::new() };
    let Some(general) = AnyRef::from_der(value).ok().and_then(|g| sequence(&g)) else { return Vec::new() };
    general
        .iter()
        .filter_map(|name| match name.tag() {
            Tag::ContextSpecific { constructed: false, number: TagNumber(2) } => std::str::from_utf8(name.value())
                .ok()
                .and_then(|dns| pki_types::ServerName::try_from(dns.to_string()).ok()),
            Tag::ContextSpecific { constructed: false, number: TagNumber(7) } => match name.value() {
                v if v.len() == 4 => <[u8; 4]>::try_from(v).ok().map(|a| std::net::IpAddr::from(a).into()),
                v if v.len() == 16 => <[u8; 16]>::try_from(v).ok().map(|a| std::net::IpAddr::from(a).into()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The subject public key of a certificate: its algorithm OID, parameters and key bytes.
fn public_key(cert: &[u8]) -> Option<(ObjectIdentifier, Option<AnyRef<'_>>, &[u8])> {
    let (fields, base) = tbs_fields(cert)?;
    let spki = sequence(fields.get(base + 5)?)?;
    let algorithm = sequence(spki.first()?)?;
    let oid = ObjectIdentifier::from_bytes(algorithm.first()?.value()).ok()?;
    let key = spki.get(1).filter(|k| k.tag() == Tag::BitString)?.value().get(1..)?;
    Some((oid, algorithm.get(1).copied(), key))
}

/// The size in bits of an RSA certificate key's modulus; `None` for other keys.
fn rsa_bits(cert: &[u8]) -> Option<usize> {
    let (oid, _, key) = public_key(cert)?;
    if oid != OID_RSA_ENCRYPTION {
        return None;
    }
    let rsa = sequence(&AnyRef::from_der(key).ok()?)?;
    let modulus = rsa.first().filter(|n| n.tag() == Tag::Integer)?.value();
    let significant = modulus.iter().position(|&b| b != 0).and_then(|i| modulus.get(i..)).unwrap_or_default();
    let first = *significant.first()?;
    Some(significant.len() * 8 - first.leading_zeros() as usize)
}

/// The named group of an ECDSA certificate key; `None` for other keys.
pub(crate) fn ec_curve(cert: &[u8]) -> Option<NamedGroup> {
    let (oid, params, _) = public_key(cert)?;
    if oid != OID_EC_PUBLIC_KEY {
        return None;
    }
    match ObjectIdentifier::from_bytes(params?.value()).ok()? {
        OID_P256 => Some(NamedGroup::secp256r1),
        OID_P384 => Some(NamedGroup::secp384r1),
        OID_P521 => Some(NamedGroup::secp521r1),
        _ => Some(NamedGroup::Unknown(0)),
    }
}

/// tlswire's checks of a certificate whose key signed the handshake, made with or without chain
/// verification: its keyUsage allows signing and an RSA key has at least 2048 bits.
pub(crate) fn check_signing_certificate(cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    if let Some(bits) = rsa_bits(cert).filter(|&bits| bits < 2048) {
        return Err(Refusal::WeakKey { bits }.into_rustls());
    }
    if !key_usage_allows_signing(cert) {
        return Err(Refusal::KeyUsage.into_rustls());
    }
    Ok(())
}

/// webpki reports a chain signed by a weak RSA key as a bad signature: names the weak key
/// (anywhere in the presented chain) instead.
fn name_weak_key<T>(
    verdict: Result<T, rustls::Error>,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<T, rustls::Error> {
    if let Err(rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)) = &verdict {
        let weak = std::iter::once(end_entity).chain(intermediates).find_map(|c| rsa_bits(c).filter(|&b| b < 2048));
        if let Some(bits) = weak {
            return Err(Refusal::WeakKey { bits }.into_rustls());
        }
    }
    verdict
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

/// Runs the inner verifier (unless it is `None`: verification disabled), then, when pins are
/// configured, requires a pinned key on the certificates that vouch for the handshake key:
///
/// - verification on: a certificate path webpki verifies (leaf, the intermediates it uses, the
///   trust anchor) on which a key is pinned. Certificates the peer sent that are on no verified
///   path prove nothing: anyone can append the pinned server's public certificate to a chain of
///   its own (the class of OkHttp's CVE-2016-2402);
/// - verification off: the leaf's key, the only one that proves anything (it signs the handshake).
#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) inner: Option<Arc<dyn ServerCertVerifier>>,
    pub(crate) pins: Vec<[u8; 32]>,
    /// What the inner verifier trusts and checks revocation against: the pinned path is built
    /// from the same anchors under the same revocation rules.
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) crls: Vec<webpki::CertRevocationList<'static>>,
    pub(crate) algorithms: WebPkiSupportedAlgorithms,
    /// The groups this client offers: in TLS 1.2 they bound the server's ECDSA curve too.
    pub(crate) groups: Vec<NamedGroup>,
    /// The signature schemes this client accepts (and advertises), in preference order.
    pub(crate) schemes: Vec<SignatureScheme>,
}

impl Verifier {
    /// Whether a pinned key vouches for `end_entity` (see [`Verifier`]). Called after the inner
    /// verifier accepted the chain.
    fn pinned(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> bool {
        if self.inner.is_none() {
            return spki_sha256(end_entity).is_some_and(|spki| self.pins.contains(&spki));
        }
        let Ok(leaf) = webpki::EndEntityCert::try_from(end_entity) else { return false };
        let crls: Vec<&webpki::CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = webpki::RevocationOptionsBuilder::new(&crls).ok().map(|options| {
            options
                .with_depth(webpki::RevocationCheckDepth::EndEntity)
                .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
                .build()
        });
        let pinned_path = |path: &webpki::VerifiedPath<'_>| {
            let leaf = Sha256::digest(path.end_entity().subject_public_key_info().as_ref());
            let intermediates =
                path.intermediate_certificates().map(|c| Sha256::digest(c.subject_public_key_info().as_ref()));
            let anchor = anchor_spki_sha256(path.anchor());
            let on_path = std::iter::once(leaf).chain(intermediates).map(<[u8; 32]>::from).chain(Some(anchor));
            if on_path.into_iter().any(|spki| self.pins.contains(&spki)) {
                Ok(())
            } else {
                Err(webpki::Error::UnknownIssuer) // try the next path
            }
        };
        leaf.verify_for_usage(
            self.algorithms.all,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            revocation,
            Some(&pinned_path),
        )
        .is_ok()
    }
}

/// SHA-256 of a trust anchor's SubjectPublicKeyInfo as a certificate carries it (webpki keeps
/// the anchor's without its outer SEQUENCE header).
fn anchor_spki_sha256(anchor: &TrustAnchor<'_>) -> [u8; 32] {
    let content = anchor.subject_public_key_info.as_ref();
    let mut h = Sha256::new();
    h.update([0x30]);
    match content.len() {
        len @ 0..=0x7f => h.update([len as u8]),
        len @ 0x80..=0xff => h.update([0x81, len as u8]),
        len @ 0x100..=0xffff => h.update([0x82, (len >> 8) as u8, len as u8]),
        len => h.update([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
    h.update(content);
    h.finalize().into()
}

/// The peer's handshake signature must use a scheme this side advertised (RFC 8446 4.4.3,
/// RFC 5246 7.4.1.4.1); rustls leaves the check to the verifier.
fn check_scheme(advertised: &[SignatureScheme], dss: &DigitallySignedStruct) -> Result<(), rustls::Error> {
    if !advertised.contains(&dss.scheme) {
        return Err(rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme));
    }
    facts::peer_scheme(dss.scheme);
    Ok(())
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
        facts::ocsp(ocsp_response);
        if let Some(inner) = &self.inner {
            name_weak_key(
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
                end_entity,
                intermediates,
            )?;
        }
        if !self.pins.is_empty() && !self.pinned(end_entity, intermediates, now) {
            return Err(Refusal::PinMismatch.into_rustls());
        }
        hook::run(&server_name.to_str(), end_entity, intermediates)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The handshake signature is always checked, even with chain verification disabled.
        check_scheme(&self.schemes, dss)?;
        check_signing_certificate(cert)?;
        if let Some(curve) = ec_curve(cert) {
            if !self.groups.contains(&curve) {
                return Err(Refusal::CurveNotOffered.into_rustls());
            }
        }
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_scheme(&self.schemes, dss)?;
        check_signing_certificate(cert)?;
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// A server's verifier of client certificates: rustls's WebPKI verifier (or none, when any client
/// certificate is dangerously accepted), plus tlswire's checks of the key that signed the
/// handshake, its typed weak-key report and the connection's verify hook.
#[derive(Debug)]
pub(crate) struct ClientVerifier {
    pub(crate) inner: Option<Arc<dyn ClientCertVerifier>>,
    pub(crate) mandatory: bool,
    pub(crate) algorithms: WebPkiSupportedAlgorithms,
    /// The signature schemes this server accepts from clients, in preference order.
    pub(crate) schemes: Vec<SignatureScheme>,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.as_ref().map_or(&[], |inner| inner.root_hint_subjects())
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(inner) = &self.inner {
            name_weak_key(inner.verify_client_cert(end_entity, intermediates, now), end_entity, intermediates)?;
        }
        // A server's hook gets no name: the client asked for none of its own.
        hook::run("", end_entity, intermediates)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_scheme(&self.schemes, dss)?;
        check_signing_certificate(cert)?;
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_scheme(&self.schemes, dss)?;
        check_signing_certificate(cert)?;
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
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

/// Facts of a handshake only the verifier and the signing key see (rustls keeps them to itself):
/// the OCSP response a server stapled and the signature schemes of both sides' handshake
/// signatures, handed to the connection being handshaken. rustls calls the verifier and the key
/// synchronously from inside that connection's calls, while it has a capture open on this thread.
pub(crate) mod facts {
    use std::cell::RefCell;

    use rustls::SignatureScheme;

    /// What a capture collected.
    #[derive(Default)]
    pub(crate) struct Facts {
        pub ocsp: Option<Vec<u8>>,
        pub peer_scheme: Option<SignatureScheme>,
        pub own_scheme: Option<SignatureScheme>,
        /// A server's: which of its certificates it presented.
        pub certificate: Option<usize>,
        /// Input: whether the server's handshake will be TLS 1.3 (`None`: not known).
        pub tls13: Option<bool>,
    }

    thread_local! {
        static CAPTURE: RefCell<Option<Facts>> = const { RefCell::new(None) };
    }

    /// An open capture; closing it (dropping) restores the one it was nested in.
    #[must_use = "the capture closes when dropped"]
    pub(crate) struct Capture {
        outer: Option<Facts>,
    }

    pub(crate) fn open(tls13: Option<bool>) -> Capture {
        Capture { outer: CAPTURE.with(|c| c.borrow_mut().replace(Facts { tls13, ..Facts::default() })) }
    }

    pub(crate) fn set_tls13(tls13: Option<bool>) {
        with(|f| f.tls13 = tls13);
    }

    /// Whether the server's handshake will be TLS 1.3, if known.
    pub(crate) fn tls13() -> Option<bool> {
        CAPTURE.with(|c| c.borrow().as_ref().and_then(|f| f.tls13))
    }

    impl Capture {
        /// What was seen since the capture opened or this was last called.
        pub(crate) fn take(&mut self) -> Facts {
            CAPTURE.with(|c| {
                c.borrow_mut().as_mut().map(|f| Facts { tls13: f.tls13, ..std::mem::take(f) }).unwrap_or_default()
            })
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            let outer = self.outer.take();
            CAPTURE.with(|c| *c.borrow_mut() = outer);
        }
    }

    fn with(f: impl FnOnce(&mut Facts)) {
        CAPTURE.with(|c| {
            if let Some(facts) = c.borrow_mut().as_mut() {
                f(facts);
            }
        });
    }

    pub(super) fn ocsp(response: &[u8]) {
        if !response.is_empty() {
            with(|f| f.ocsp = Some(response.to_vec()));
        }
    }

    pub(super) fn peer_scheme(scheme: SignatureScheme) {
        with(|f| f.peer_scheme = Some(scheme));
    }

    pub(crate) fn own_scheme(scheme: SignatureScheme) {
        with(|f| f.own_scheme = Some(scheme));
    }

    pub(crate) fn certificate(index: usize) {
        with(|f| f.certificate = Some(index));
    }
}

/// The caller's verification hook ([`crate::Connection::set_verify_hook`]), lent by the connection
/// being verified to this thread while rustls runs (which calls the verifier synchronously).
pub(crate) mod hook {
    use std::cell::RefCell;

    use pki_types::CertificateDer;

    use super::Refusal;
    use crate::connection::VerifyHook;

    thread_local! {
        static LENT: RefCell<Option<VerifyHook>> = const { RefCell::new(None) };
    }

    /// A hook lent to this thread; [`Lent::give_back`] returns it.
    #[must_use = "give the hook back"]
    pub(crate) struct Lent {
        outer: Option<VerifyHook>,
    }

    pub(crate) fn lend(hook: VerifyHook) -> Lent {
        Lent { outer: LENT.with(|l| l.borrow_mut().replace(hook)) }
    }

    impl Lent {
        pub(crate) fn give_back(mut self) -> Option<VerifyHook> {
            let outer = self.outer.take();
            LENT.with(|l| std::mem::replace(&mut *l.borrow_mut(), outer))
        }
    }

    /// Runs the lent hook, if any, on the chain the built-in checks passed (or skipped, with
    /// verification dangerously disabled).
    /// `name`: the server name a client checks, empty on a server.
    pub(super) fn run(
        name: &str,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), rustls::Error> {
        // Taken out while it runs: a hook that opens a connection of its own finds none lent.
        let Some(mut hook) = LENT.with(|l| l.borrow_mut().take()) else { return Ok(()) };
        let chain: Vec<&[u8]> = std::iter::once(end_entity).chain(intermediates).map(|c| c.as_ref()).collect();
        let verdict = hook(name, &chain);
        LENT.with(|l| *l.borrow_mut() = Some(hook));
        verdict.map_err(|why| Refusal::Hook(why).into_rustls())
    }
}
