//! The platform's own AEADs and signature verification, called synchronously.
//!
//! Where the host has a synchronous AES-GCM and ChaCha20-Poly1305 in native code (Node's, Deno's
//! and Bun's `node:crypto`), a binding installs it here ([`install`]) and our encrypters and
//! decrypters hand it every record of at least [`MIN_RECORD`] bytes. The record format, nonces,
//! additional data, sequence numbers, the tap and every error stay ours: the platform only runs
//! the cipher. Smaller records, and every record when nothing is installed, use RustCrypto.
//!
//! Likewise a [`Verifier`] ([`install_verifier`]) checks ECDSA and RSA signatures (certificates,
//! CertificateVerify) in native code; key-size limits and the signature cache stay ours.
//!
//! Per thread (a wasm engine has one); installing costs nothing until it is used.

use std::cell::RefCell;
use std::rc::Rc;

/// Records shorter than this are protected here: crossing to the platform costs more.
pub const MIN_RECORD: usize = 1024;

/// The record AEADs, by the code a binding sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Algorithm {
    Aes128Gcm = 1,
    Aes256Gcm = 2,
    ChaCha20Poly1305 = 3,
}

/// A synchronous AEAD with 96-bit nonces and 128-bit tags.
pub trait Aead {
    /// Encrypts `data` in place and writes the tag. `false` if the platform could not (the
    /// record is then encrypted here).
    fn seal(
        &self,
        algorithm: Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> bool;

    /// Decrypts `data` in place if `tag` authenticates it: `Some(true)`; `Some(false)` if it
    /// does not (`data` may then hold anything); `None` if the platform could not (the record is
    /// then decrypted here).
    fn open(
        &self,
        algorithm: Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool>;
}

thread_local! {
    static PLATFORM: RefCell<Option<Rc<dyn Aead>>> = const { RefCell::new(None) };
}

/// Installs (or, with `None`, removes) the platform's AEADs for this thread.
pub fn install(aead: Option<Rc<dyn Aead>>) {
    PLATFORM.with(|p| *p.borrow_mut() = aead);
}

/// The installed AEADs, for a record of `len` bytes.
pub(crate) fn for_record(len: usize) -> Option<Rc<dyn Aead>> {
    if len < MIN_RECORD {
        return None;
    }
    PLATFORM.with(|p| p.borrow().clone())
}

/// Signature algorithms, by the code a binding sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Signature {
    EcdsaP256Sha256 = 1,
    EcdsaP256Sha384 = 2,
    EcdsaP384Sha256 = 3,
    EcdsaP384Sha384 = 4,
    RsaPkcs1Sha256 = 5,
    RsaPkcs1Sha384 = 6,
    RsaPkcs1Sha512 = 7,
    RsaPssSha256 = 8,
    RsaPssSha384 = 9,
    RsaPssSha512 = 10,
}

/// A synchronous signature verifier.
pub trait Verifier {
    /// Whether `signature` (ECDSA: DER; RSA: the raw signature; RSA-PSS with a salt as long as
    /// the hash) is `public_key`'s (ECDSA: an uncompressed SEC1 point; RSA: a PKCS#1
    /// `RSAPublicKey`, DER) over `message`; `None` if the platform could not tell (the signature
    /// is then checked here).
    fn verify(&self, algorithm: Signature, public_key: &[u8], message: &[u8], signature: &[u8]) -> Option<bool>;
}

thread_local! {
    static VERIFIER: RefCell<Option<Rc<dyn Verifier>>> = const { RefCell::new(None) };
}

/// Installs (or, with `None`, removes) the platform's signature verifier for this thread.
pub fn install_verifier(verifier: Option<Rc<dyn Verifier>>) {
    VERIFIER.with(|v| *v.borrow_mut() = verifier);
}

/// The platform's verdict on a signature, if a verifier is installed and can tell.
pub(crate) fn verify(algorithm: Signature, public_key: &[u8], message: &[u8], signature: &[u8]) -> Option<bool> {
    let verifier = VERIFIER.with(|v| v.borrow().clone())?;
    verifier.verify(algorithm, public_key, message, signature)
}
