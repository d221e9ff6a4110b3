//! The platform's own AEADs, called synchronously for whole records.
//!
//! Where the host has a synchronous AES-GCM and ChaCha20-Poly1305 in native code (Node's, Deno's
//! and Bun's `node:crypto`), a binding installs it here ([`install`]) and our encrypters and
//! decrypters hand it every record of at least [`MIN_RECORD`] bytes. The record format, nonces,
//! additional data, sequence numbers, the tap and every error stay ours: the platform only runs
//! the cipher. Smaller records, and every record when nothing is installed, use RustCrypto.
//!
//! Per thread (a wasm engine has one); installing costs nothing until a record is protected.

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
