//! Plaintext tap: lets the tlswire core see each record's plaintext as our AEADs produce or
//! consume it, so its message observer needs no second decryption.
//!
//! The tap is per thread and off by default. rustls calls the AEADs synchronously from inside the
//! core's calls into it, so the core opens a capture around those calls ([`open`]) and reads
//! what was recorded. A capture records every protected record ([`Scope::All`], for the message
//! observer) or only alerts ([`Scope::Alerts`], so the core can name the alert it sent when a
//! connection fails). An AEAD pays one thread-local read per record; only recorded records cost
//! more.

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

/// What a capture records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every protected record (application data without its plaintext).
    All,
    /// Only alert records.
    Alerts,
}

struct Open {
    scope: Scope,
    records: Vec<TappedRecord>,
    rejected: Vec<Rejected>,
    randoms: Option<[u8; 64]>,
}

/// A received TLS 1.3 record our AEAD could not authenticate. rustls fails the connection on it,
/// except while it skips early data it rejected (RFC 8446 section 4.2.10): then the record is
/// dropped, and the core must know which bytes those were (see `Capture::take_rejected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Length of the record's payload on the wire.
    pub wire_len: usize,
    /// The record's last 16 bytes (its AEAD tag).
    pub tag: [u8; 16],
    /// Where its payload starts in the received stream (the core's input window, see
    /// [`crate::offload::Window`]), if the window was set.
    pub offset: Option<u64>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// An open capture on this thread. Records tapped while it is open are returned by
/// [`Capture::take`]; dropping it closes the capture (restoring any capture it was nested in).
#[must_use = "the capture closes when dropped"]
pub struct Capture {
    outer: Option<Open>,
}

/// Opens a capture on this thread.
pub fn open(scope: Scope) -> Capture {
    Capture {
        outer: CAPTURE
            .with(|c| c.borrow_mut().replace(Open { scope, records: Vec::new(), rejected: Vec::new(), randoms: None })),
    }
}

impl Capture {
    /// The records tapped since the capture was opened or last taken, oldest first.
    pub fn take(&mut self) -> Vec<TappedRecord> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(|o| std::mem::take(&mut o.records)).unwrap_or_default())
    }
}

impl Capture {
    /// The received records that failed authentication since the capture opened or this was
    /// last called, oldest first (recorded in every scope).
    pub fn take_rejected(&mut self) -> Vec<Rejected> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(|o| std::mem::take(&mut o.rejected)).unwrap_or_default())
    }
}

impl Capture {
    /// The TLS 1.2 randoms (client's, then server's) of a key block derived since the capture
    /// opened or this was last called (recorded in every scope): what an exporter needs besides
    /// the master secret (RFC 5705).
    pub fn take_tls12_randoms(&mut self) -> Option<[u8; 64]> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().and_then(|o| o.randoms.take()))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let outer = self.outer.take();
        CAPTURE.with(|c| *c.borrow_mut() = outer);
    }
}

/// Whether a record of real content type `typ` would be recorded now.
pub(crate) fn wants(typ: u8) -> bool {
    CAPTURE.with(|c| match c.borrow().as_ref() {
        None => false,
        Some(open) => open.scope == Scope::All || typ == ALERT,
    })
}

pub(crate) fn record(entry: TappedRecord) {
    CAPTURE.with(|c| {
        if let Some(open) = c.borrow_mut().as_mut() {
            open.records.push(entry);
        }
    });
}

pub(crate) fn rejected(entry: Rejected) {
    CAPTURE.with(|c| {
        if let Some(open) = c.borrow_mut().as_mut() {
            open.rejected.push(entry);
        }
    });
}

/// Records the seed of a TLS 1.2 key block (server random, then client random).
pub(crate) fn key_expansion(seed: &[u8]) {
    let (Some(server), Some(client)) = (seed.get(..32), seed.get(32..64)) else { return };
    CAPTURE.with(|c| {
        if let Some(open) = c.borrow_mut().as_mut() {
            let mut randoms = [0u8; 64];
            randoms[..32].copy_from_slice(client);
            randoms[32..].copy_from_slice(server);
            open.randoms = Some(randoms);
        }
    });
}

const ALERT: u8 = 21;

/// Last 16 bytes of `payload` (the AEAD tag), zero-padded if shorter.
pub fn tag_of(payload: &[u8]) -> [u8; 16] {
    let mut tag = [0u8; 16];
    for (dst, src) in tag.iter_mut().rev().zip(payload.iter().rev()) {
        *dst = *src;
    }
    tag
}
