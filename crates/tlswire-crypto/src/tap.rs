//! Plaintext tap: lets the tlswire core see each record's plaintext as our AEADs produce or
//! consume it, so its message observer needs no second decryption.
//!
//! The tap is per thread and off by default. rustls calls the AEADs synchronously from inside the
//! core's calls into it, so the core opens a capture around those calls ([`capture`]) and reads
//! what was recorded. With no capture open, an AEAD pays one thread-local flag read per record.

use std::cell::RefCell;

/// Which way a record went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// We encrypted it (it will be sent).
    Sealed,
    /// We decrypted it (it was received).
    Opened,
}

/// One encrypted record, with the facts needed to match it to its wire bytes.
#[derive(Clone, Debug)]
pub struct TappedRecord {
    pub flow: Flow,
    /// Outer (wire) content type of the protected record.
    pub outer_type: u8,
    /// Length of the protected record's payload on the wire.
    pub wire_len: usize,
    /// The record's 16-byte AEAD tag: identifies the record among its neighbours.
    pub tag: [u8; 16],
    /// True for TLS 1.3 records (which carry an inner content type).
    pub tls13: bool,
    /// The real content type (the TLS 1.3 inner type, or the outer type for TLS 1.2).
    pub inner_type: u8,
    /// The plaintext, except for application data, which is never kept.
    pub plaintext: Vec<u8>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Vec<TappedRecord>>> = const { RefCell::new(None) };
}

/// Runs `f` with a capture open on this thread and returns its result and the records tapped.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<TappedRecord>) {
    let previous = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    let result = f();
    let tapped = CAPTURE.with(|c| {
        let mut slot = c.borrow_mut();
        let tapped = slot.take().unwrap_or_default();
        *slot = previous;
        tapped
    });
    (result, tapped)
}

pub(crate) fn is_open() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

pub(crate) fn record(entry: TappedRecord) {
    CAPTURE.with(|c| {
        if let Some(records) = c.borrow_mut().as_mut() {
            records.push(entry);
        }
    });
}

/// Last 16 bytes of `payload` (the AEAD tag), zero-padded if shorter.
pub(crate) fn tag_of(payload: &[u8]) -> [u8; 16] {
    let mut tag = [0u8; 16];
    let n = payload.len().min(16);
    tag[16 - n..].copy_from_slice(&payload[payload.len() - n..]);
    tag
}
