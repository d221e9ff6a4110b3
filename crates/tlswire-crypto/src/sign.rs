//! Private keys for our own signatures (server certificates, client certificates): ECDSA P-256,
//! P-384 and P-521 (feature `p521`), Ed25519 and RSA (PSS and PKCS#1 v1.5), loaded from PKCS#8, SEC1 or PKCS#1 DER.
//!
//! RSA: `rsa` 0.10 (release candidate, on `crypto-bigint`) signs with random blinding from the OS
//! RNG. RUSTSEC-2023-0071 (Marvin: timing of RSA private-key operations) is still open against
//! every `rsa` release including 0.10 candidates. tlswire never decrypts with RSA (no RSA key
//! transport suites); the exposure is timing of *signatures* made with a local RSA certificate
//! key. Prefer ECDSA or Ed25519 keys where an attacker can time many handshakes.

use std::sync::Arc;

use pkcs8::DecodePrivateKey;
use pki_types::{alg_id, PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::crypto::KeyProvider;
use rustls::sign::{public_key_to_spki, Signer, SigningKey};
use rustls::{Error, SignatureAlgorithm, SignatureScheme};
use signature::{RandomizedSigner, SignatureEncoding, Signer as _};

#[derive(Debug)]
pub(crate) struct Loader;

impl KeyProvider for Loader {
    fn load_private_key(&self, der: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        let key = load(&der).map_err(|what| Error::General(format!("cannot load private key: {what}")))?;
        #[cfg(fuzzing)]
        let key = crate::fuzzing::signing_key(key);
        Ok(key)
    }
}

fn load(der: &PrivateKeyDer<'_>) -> Result<Arc<dyn SigningKey>, &'static str> {
    match der {
        PrivateKeyDer::Pkcs8(k) => {
            let bytes = k.secret_pkcs8_der();
            if is_rsassa_pss(bytes) {
                // An id-RSASSA-PSS key may only make rsa_pss_pss_* signatures (RFC 8446 4.2.3),
                // which neither rustls nor common peers implement: refused rather than used as a
                // plain RSA key for rsa_pss_rsae_* signatures.
                return Err("RSASSA-PSS keys (id-RSASSA-PSS) are not supported; use an rsaEncryption RSA key");
            }
            if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(bytes) {
                return Ok(Arc::new(EcdsaP256(Arc::new(key))));
            }
            if let Ok(key) = p384::ecdsa::SigningKey::from_pkcs8_der(bytes) {
                return Ok(Arc::new(EcdsaP384(Arc::new(key))));
            }
            #[cfg(feature = "p521")]
            if let Ok(key) = p521::ecdsa::SigningKey::from_pkcs8_der(bytes) {
                return Ok(Arc::new(EcdsaP521(Arc::new(key))));
            }
            if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(bytes) {
                return Ok(Arc::new(Ed25519(Arc::new(key))));
            }
            if let Ok(key) = rsa::PrivateKey::from_pkcs8_der(bytes) {
                return Ok(Arc::new(Rsa(Arc::new(key))));
            }
            Err("unsupported PKCS#8 key (want ECDSA P-256/P-384/P-521, Ed25519 or RSA)")
        }
        PrivateKeyDer::Sec1(k) => {
            let bytes = k.secret_sec1_der();
            if let Ok(key) = p256::SecretKey::from_sec1_der(bytes) {
                return Ok(Arc::new(EcdsaP256(Arc::new(key.into()))));
            }
            if let Ok(key) = p384::SecretKey::from_sec1_der(bytes) {
                return Ok(Arc::new(EcdsaP384(Arc::new(key.into()))));
            }
            #[cfg(feature = "p521")]
            if let Ok(key) = p521::SecretKey::from_sec1_der(bytes) {
                return Ok(Arc::new(EcdsaP521(Arc::new(key.into()))));
            }
            Err("unsupported SEC1 key (want P-256, P-384 or P-521)")
        }
        PrivateKeyDer::Pkcs1(k) => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            rsa::PrivateKey::from_pkcs1_der(k.secret_pkcs1_der())
                .map(|key| Arc::new(Rsa(Arc::new(key))) as Arc<dyn SigningKey>)
                .map_err(|_| "invalid PKCS#1 RSA key")
        }
        _ => Err("unknown private key format"),
    }
}

const ID_RSASSA_PSS: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// Whether a PKCS#8 PrivateKeyInfo's algorithm is id-RSASSA-PSS.
fn is_rsassa_pss(pkcs8: &[u8]) -> bool {
    pkcs8::PrivateKeyInfoRef::try_from(pkcs8).is_ok_and(|info| info.algorithm.oid == ID_RSASSA_PSS)
}

macro_rules! ecdsa_key {
    ($key:ident, $curve:ident, $scheme:ident, $alg:ident) => {
        struct $key(Arc<$curve::ecdsa::SigningKey>);

        impl core::fmt::Debug for $key {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($key))
            }
        }

        impl SigningKey for $key {
            fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
                offered.contains(&SignatureScheme::$scheme).then(|| Box::new($key(self.0.clone())) as Box<dyn Signer>)
            }

            fn algorithm(&self) -> SignatureAlgorithm {
                SignatureAlgorithm::ECDSA
            }

            fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
                let point = self.0.verifying_key().to_sec1_point(false);
                Some(public_key_to_spki(&alg_id::$alg, point.as_bytes()))
            }
        }

        impl Signer for $key {
            fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
                // RFC 6979 deterministic nonces: no RNG failure mode.
                let sig: $curve::ecdsa::Signature = self.0.sign(message);
                Ok(sig.to_der().to_vec())
            }

            fn scheme(&self) -> SignatureScheme {
                SignatureScheme::$scheme
            }
        }
    };
}

ecdsa_key!(EcdsaP256, p256, ECDSA_NISTP256_SHA256, ECDSA_P256);
ecdsa_key!(EcdsaP384, p384, ECDSA_NISTP384_SHA384, ECDSA_P384);
#[cfg(feature = "p521")]
ecdsa_key!(EcdsaP521, p521, ECDSA_NISTP521_SHA512, ECDSA_P521);

struct Ed25519(Arc<ed25519_dalek::SigningKey>);

impl core::fmt::Debug for Ed25519 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Ed25519")
    }
}

impl SigningKey for Ed25519 {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered.contains(&SignatureScheme::ED25519).then(|| Box::new(Ed25519(self.0.clone())) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(public_key_to_spki(&alg_id::ED25519, self.0.verifying_key().as_bytes()))
    }
}

impl Signer for Ed25519 {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

struct Rsa(Arc<rsa::PrivateKey>);

struct RsaSigner {
    key: Arc<rsa::PrivateKey>,
    scheme: SignatureScheme,
}

impl core::fmt::Debug for Rsa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rsa")
    }
}

impl core::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaSigner({:?})", self.scheme)
    }
}

/// Our preference: PSS before PKCS#1 v1.5 (TLS 1.3 only allows PSS), larger hashes first.
const RSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
];

impl SigningKey for Rsa {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        RSA_SCHEMES
            .iter()
            .find(|s| offered.contains(s))
            .map(|&scheme| Box::new(RsaSigner { key: self.0.clone(), scheme }) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        let der = self.0.to_public_key().to_pkcs1_der().ok()?;
        Some(public_key_to_spki(&alg_id::RSA_ENCRYPTION, der.as_bytes()))
    }
}

impl Signer for RsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let key = (*self.key).clone();
        // The OS RNG as a fallible generator: its failure is a signing error, not a panic.
        let mut rng = getrandom::SysRng;
        let sig = match self.scheme {
            SignatureScheme::RSA_PSS_SHA256 => {
                rsa::pss::SigningKey::<sha2::Sha256>::new(key).try_sign_with_rng(&mut rng, message).map(|s| s.to_vec())
            }
            SignatureScheme::RSA_PSS_SHA384 => {
                rsa::pss::SigningKey::<sha2::Sha384>::new(key).try_sign_with_rng(&mut rng, message).map(|s| s.to_vec())
            }
            SignatureScheme::RSA_PSS_SHA512 => {
                rsa::pss::SigningKey::<sha2::Sha512>::new(key).try_sign_with_rng(&mut rng, message).map(|s| s.to_vec())
            }
            SignatureScheme::RSA_PKCS1_SHA256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                .try_sign_with_rng(&mut rng, message)
                .map(|s| s.to_vec()),
            SignatureScheme::RSA_PKCS1_SHA384 => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(key)
                .try_sign_with_rng(&mut rng, message)
                .map(|s| s.to_vec()),
            SignatureScheme::RSA_PKCS1_SHA512 => rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(key)
                .try_sign_with_rng(&mut rng, message)
                .map(|s| s.to_vec()),
            _ => return Err(Error::General("unsupported RSA scheme".into())),
        };
        sig.map_err(|_| Error::General("RSA signing failed".into()))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

#[cfg(test)]
mod tests {
    use pki_types::{PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
    use rustls::crypto::KeyProvider;

    use super::*;

    /// Signs with the loaded key for each scheme it offers, and checks with our verifiers.
    fn sign_and_verify(der: PrivateKeyDer<'static>, public: &[u8], schemes: &[SignatureScheme]) {
        let key = Loader.load_private_key(der).unwrap();
        for scheme in schemes {
            let signer = key.choose_scheme(&[*scheme]).unwrap_or_else(|| panic!("{scheme:?} not offered"));
            let sig = signer.sign(b"tlswire").unwrap();
            let (_, algs) = crate::verify::ALGORITHMS.mapping.iter().find(|(s, _)| s == scheme).unwrap();
            assert!(algs[0].verify_signature(public, b"tlswire", &sig).is_ok(), "{scheme:?}");
            assert!(algs[0].verify_signature(public, b"tlswirf", &sig).is_err(), "{scheme:?}");
        }
        assert!(key.choose_scheme(&[SignatureScheme::ECDSA_SHA1_Legacy]).is_none());
    }

    #[test]
    fn ecdsa_keys_sign_from_pkcs8_and_sec1() {
        use p256::elliptic_curve::sec1::ToSec1Point;
        use pkcs8::EncodePrivateKey;
        let p256 = p256::SecretKey::from_slice(&[0x11; 32]).unwrap();
        let public = p256.public_key().to_sec1_point(false).as_bytes().to_vec();
        let pkcs8 = p256.to_pkcs8_der().unwrap().as_bytes().to_vec();
        sign_and_verify(PrivatePkcs8KeyDer::from(pkcs8).into(), &public, &[SignatureScheme::ECDSA_NISTP256_SHA256]);
        let sec1 = p256.to_sec1_der().unwrap().to_vec();
        sign_and_verify(PrivateSec1KeyDer::from(sec1).into(), &public, &[SignatureScheme::ECDSA_NISTP256_SHA256]);

        let p384 = p384::SecretKey::from_slice(&[0x22; 48]).unwrap();
        let public = p384.public_key().to_sec1_point(false).as_bytes().to_vec();
        let pkcs8 = p384.to_pkcs8_der().unwrap().as_bytes().to_vec();
        sign_and_verify(PrivatePkcs8KeyDer::from(pkcs8).into(), &public, &[SignatureScheme::ECDSA_NISTP384_SHA384]);

        #[cfg(feature = "p521")]
        {
            let mut scalar = [0x33u8; 66];
            scalar[0] = 0x01; // below the 521-bit order
            let p521 = p521::SecretKey::from_slice(&scalar).unwrap();
            let public = p521.public_key().to_sec1_point(false).as_bytes().to_vec();
            let pkcs8 = p521.to_pkcs8_der().unwrap().as_bytes().to_vec();
            sign_and_verify(PrivatePkcs8KeyDer::from(pkcs8).into(), &public, &[SignatureScheme::ECDSA_NISTP521_SHA512]);
            let sec1 = p521.to_sec1_der().unwrap().to_vec();
            sign_and_verify(PrivateSec1KeyDer::from(sec1).into(), &public, &[SignatureScheme::ECDSA_NISTP521_SHA512]);
        }
    }

    #[test]
    fn ed25519_key_signs() {
        use pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
        let pkcs8 = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        sign_and_verify(
            PrivatePkcs8KeyDer::from(pkcs8).into(),
            key.verifying_key().as_bytes(),
            &[SignatureScheme::ED25519],
        );
    }

    #[test]
    fn rsa_key_signs_pss_and_pkcs1_from_pkcs8_and_pkcs1() {
        use pkcs8::EncodePrivateKey;
        use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
        let key = rsa::PrivateKey::new(&mut crate::rand_core_rng(), 2048).unwrap();
        let public = key.to_public_key().to_pkcs1_der().unwrap().as_bytes().to_vec();
        let pkcs8 = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        sign_and_verify(PrivatePkcs8KeyDer::from(pkcs8).into(), &public, RSA_SCHEMES);
        let pkcs1 = key.to_pkcs1_der().unwrap().as_bytes().to_vec();
        sign_and_verify(PrivatePkcs1KeyDer::from(pkcs1).into(), &public, &[SignatureScheme::RSA_PSS_SHA256]);
    }

    #[test]
    fn garbage_keys_are_a_typed_error() {
        let err =
            Loader.load_private_key(PrivatePkcs8KeyDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]).into()).unwrap_err();
        assert!(err.to_string().contains("cannot load private key"), "{err}");
    }
}
