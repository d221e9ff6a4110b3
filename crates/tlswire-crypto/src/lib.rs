//! A rustls 0.23 [`CryptoProvider`] built only from RustCrypto crates: no ring, no aws-lc, no C.
//!
//! ```text
//!                 rustls (handshake state machine, record layer)
//!                    |            |             |            |
//!       aead.rs (AES-GCM,   kx.rs (X25519MLKEM768,   sign.rs / verify.rs     hash.rs / hmac.rs
//!       ChaCha20-Poly1305)  X25519, P-256, P-384)    (ECDSA, Ed25519, RSA)   (SHA-2, HKDF, PRF)
//!            |
//!        platform.rs -- the host's synchronous AES-GCM (node:crypto), if a binding installs it
//!        offload.rs -- plaintext of received records that the platform's AES-GCM already opened
//!        tap.rs  -- plaintext of every record this thread encrypts or decrypts, only while a
//!                   caller (the tlswire core's message observer) has opened a capture
//! ```
//!
//! [`provider`] returns the full provider: TLS 1.3 suites first, then TLS 1.2 ECDHE suites;
//! X25519MLKEM768 first among key exchange groups. Randomness comes from `getrandom`.
//!
//! Built with `--cfg fuzzing` (cargo-fuzz sets it; never a feature, so no dependency can switch
//! it on), the provider is deterministic and insecure, for fuzzing: see `fuzzing.rs`.

#![forbid(unsafe_code)]
// Tests index and unwrap freely; the library denies it (Cargo.toml's `[lints.clippy]`).
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod aead;
#[cfg(fuzzing)]
pub mod fuzzing;
mod hash;
mod hmac;
pub mod hpke;
// Under fuzzing the groups below are `fuzzing`'s.
#[cfg_attr(fuzzing, allow(dead_code, unused_imports))]
mod kx;
pub mod offload;
// Under fuzzing no record goes to the platform's AEADs.
#[cfg_attr(fuzzing, allow(dead_code))]
pub mod platform;
pub mod sealer;
mod sign;
pub mod tap;
#[cfg_attr(fuzzing, allow(dead_code, unused_imports))]
pub mod ticketer;
mod verify;

use std::sync::Arc;

use rustls::crypto::tls12::{Prf, PrfUsingHmac};
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom, SupportedKxGroup};
use rustls::{
    CipherSuite, CipherSuiteCommon, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite, Tls13CipherSuite,
};

#[cfg(all(feature = "mlkem1024", fuzzing))]
pub use fuzzing::MLKEM1024;
#[cfg(all(feature = "p521", fuzzing))]
pub use fuzzing::SECP521R1;
#[cfg(fuzzing)]
pub use fuzzing::{MLKEM768, SECP256R1, SECP384R1, X25519, X25519MLKEM768};
#[cfg(all(feature = "mlkem1024", not(fuzzing)))]
pub use kx::MLKEM1024;
#[cfg(all(feature = "p521", not(fuzzing)))]
pub use kx::SECP521R1;
#[cfg(not(fuzzing))]
pub use kx::{MLKEM768, SECP256R1, SECP384R1, X25519, X25519MLKEM768};

/// The complete provider: every suite and group below, our verifiers, key loader and RNG.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: ALL_CIPHER_SUITES.to_vec(),
        kx_groups: ALL_KX_GROUPS.to_vec(),
        signature_verification_algorithms: verify::ALGORITHMS,
        secure_random: &Rng,
        key_provider: &sign::Loader,
    }
}

/// The provider as an `Arc`, as rustls config builders take it.
pub fn provider_arc() -> Arc<CryptoProvider> {
    Arc::new(provider())
}

/// Key exchange groups in preference order. X25519MLKEM768 goes first; rustls sends an X25519
/// share alongside it (its `hybrid_component`) so a classical-only server needs no retry.
#[cfg(feature = "p521")]
pub static ALL_KX_GROUPS: &[&dyn SupportedKxGroup] = &[X25519MLKEM768, X25519, SECP256R1, SECP384R1, SECP521R1];
#[cfg(not(feature = "p521"))]
pub static ALL_KX_GROUPS: &[&dyn SupportedKxGroup] = &[X25519MLKEM768, X25519, SECP256R1, SECP384R1];

/// Cipher suites in preference order: TLS 1.3 first.
pub static ALL_CIPHER_SUITES: &[SupportedCipherSuite] = &[
    TLS13_AES_128_GCM_SHA256,
    TLS13_AES_256_GCM_SHA384,
    TLS13_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

// RFC 8446 §5.5 and rustls's own providers: AES-GCM keys are retired after 2^24 full records
// (a KeyUpdate in TLS 1.3, closure in TLS 1.2); ChaCha20-Poly1305 has no practical limit.
const GCM_CONFIDENTIALITY_LIMIT: u64 = 1 << 24;
const CHACHA_CONFIDENTIALITY_LIMIT: u64 = u64::MAX;

macro_rules! tls13_suite {
    ($name:ident, $suite:ident, $hash:expr, $hmac:expr, $aead:expr, $limit:expr) => {
        pub static $name: SupportedCipherSuite = SupportedCipherSuite::Tls13(&Tls13CipherSuite {
            common: CipherSuiteCommon {
                suite: CipherSuite::$suite,
                hash_provider: $hash,
                confidentiality_limit: $limit,
            },
            hkdf_provider: &HkdfUsingHmac($hmac),
            aead_alg: $aead,
            quic: None,
        });
    };
}

/// The TLS 1.2 PRF, which also tells the [`tap`] the randoms of each key block it derives: the
/// core's keying-material exporter needs them (rustls's unbuffered API has no exporter).
struct TappedPrf(PrfUsingHmac<'static>);

impl Prf for TappedPrf {
    fn for_key_exchange(
        &self,
        output: &mut [u8; 48],
        kx: Box<dyn rustls::crypto::ActiveKeyExchange>,
        peer_pub_key: &[u8],
        label: &[u8],
        seed: &[u8],
    ) -> Result<(), rustls::Error> {
        self.0.for_key_exchange(output, kx, peer_pub_key, label, seed)
    }

    fn for_secret(&self, output: &mut [u8], secret: &[u8], label: &[u8], seed: &[u8]) {
        if label == b"key expansion" {
            tap::key_expansion(seed);
        }
        self.0.for_secret(output, secret, label, seed);
    }
}

macro_rules! tls12_suite {
    ($name:ident, $suite:ident, $sign:expr, $hash:expr, $hmac:expr, $aead:expr, $limit:expr) => {
        pub static $name: SupportedCipherSuite = SupportedCipherSuite::Tls12(&Tls12CipherSuite {
            common: CipherSuiteCommon {
                suite: CipherSuite::$suite,
                hash_provider: $hash,
                confidentiality_limit: $limit,
            },
            kx: rustls::crypto::KeyExchangeAlgorithm::ECDHE,
            sign: $sign,
            prf_provider: &TappedPrf(PrfUsingHmac($hmac)),
            aead_alg: $aead,
        });
    };
}

tls13_suite!(
    TLS13_AES_128_GCM_SHA256,
    TLS13_AES_128_GCM_SHA256,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::AES128_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls13_suite!(
    TLS13_AES_256_GCM_SHA384,
    TLS13_AES_256_GCM_SHA384,
    &hash::SHA384,
    &hmac::HMAC_SHA384,
    &aead::AES256_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls13_suite!(
    TLS13_CHACHA20_POLY1305_SHA256,
    TLS13_CHACHA20_POLY1305_SHA256,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::CHACHA20_POLY1305,
    CHACHA_CONFIDENTIALITY_LIMIT
);

static TLS12_ECDSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ED25519,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP256_SHA256,
];

static TLS12_RSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
];

tls12_suite!(
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS12_ECDSA_SCHEMES,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::AES128_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls12_suite!(
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS12_ECDSA_SCHEMES,
    &hash::SHA384,
    &hmac::HMAC_SHA384,
    &aead::AES256_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls12_suite!(
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS12_ECDSA_SCHEMES,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::CHACHA20_POLY1305,
    CHACHA_CONFIDENTIALITY_LIMIT
);
tls12_suite!(
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS12_RSA_SCHEMES,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::AES128_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls12_suite!(
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS12_RSA_SCHEMES,
    &hash::SHA384,
    &hmac::HMAC_SHA384,
    &aead::AES256_GCM,
    GCM_CONFIDENTIALITY_LIMIT
);
tls12_suite!(
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS12_RSA_SCHEMES,
    &hash::SHA256,
    &hmac::HMAC_SHA256,
    &aead::CHACHA20_POLY1305,
    CHACHA_CONFIDENTIALITY_LIMIT
);

/// Operating-system randomness through `getrandom` (the JS `crypto.getRandomValues` backend on
/// `wasm32-unknown-unknown`, WASI `random` on `wasm32-wasip2`).
#[derive(Debug)]
struct Rng;

impl SecureRandom for Rng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        #[cfg(fuzzing)]
        {
            fuzzing::fill(buf);
            return Ok(());
        }
        #[cfg(not(fuzzing))]
        getrandom::fill(buf).map_err(|_| GetRandomFailed)
    }
}

/// Fills `buf` with OS randomness; the shared source for key generation in this crate.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), rustls::Error> {
    #[cfg(fuzzing)]
    {
        fuzzing::fill(buf);
        return Ok(());
    }
    #[cfg(not(fuzzing))]
    getrandom::fill(buf).map_err(|_| rustls::Error::FailedToGetRandomBytes)
}

/// A `rand_core` RNG over `getrandom` that panics if the OS RNG fails: for tests only (key
/// generation); signing uses `getrandom::SysRng` as a fallible generator.
#[cfg(test)]
pub(crate) fn rand_core_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
