//! Record decryption done ahead of rustls by someone else: the platform's AES-GCM (WebCrypto),
//! which is asynchronous and so cannot sit inside rustls's synchronous record layer.
//!
//! ```text
//!   core: received records not yet processed --jobs--> caller (WebCrypto, async)
//!         RxKey::offer(seq, record, plaintext) <--plaintext of records that authenticated--
//!   rustls --decrypt(record, seq)--> our decrypter: a result for exactly this record
//!                                    (same key, seq and stream offset)? use it : decrypt
//! ```
//!
//! Only AES-GCM receive keys are offered (WebCrypto has no ChaCha20-Poly1305). A record with no
//! result — never handed out, rejected by the platform, or handed out under a key that has since
//! changed — is decrypted here as always, so rustls's errors, alerts, KeyUpdate and the message
//! observer (fed by the same decrypter, [`crate::tap`]) are the same whether or not a record was
//! offloaded.
//!
//! A result is only ever used for the record whose bytes it was computed from. Results are keyed
//! by the record's offset in the received stream; while rustls runs, the core says where its
//! input window sits in that stream ([`Window`]), and the decrypter locates the record rustls
//! hands it (decrypted in place, in that window) by its address. Received bytes are never changed
//! before rustls decrypts them, and rustls decrypts each record once, so the bytes at an offset
//! are the bytes the platform authenticated. A record outside the window is never matched.
//!
//! Like the tap, this is per thread and costs nothing unless the core listens ([`listen`]) while
//! rustls installs keys.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

const TAG_LEN: usize = 16;
const GCM_EXPLICIT_LEN: usize = 8;

/// One AES-GCM receive key, shared by its decrypter (inside rustls) and the core.
pub struct RxKey {
    key: Zeroizing<Vec<u8>>,
    /// TLS 1.3: the static IV. TLS 1.2: the 4-byte salt, then zeros.
    iv: [u8; 12],
    tls13: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The sequence number rustls will decrypt the next record under.
    next_seq: u64,
    /// Verified results for records rustls has not reached yet, in sequence order.
    opened: VecDeque<Opened>,
}

struct Opened {
    seq: u64,
    /// Where the record (its header) starts in the received stream.
    offset: u64,
    /// Its header.
    header: [u8; 5],
    /// Its plaintext (TLS 1.3: with the inner content type and padding).
    plaintext: Vec<u8>,
}

/// What the platform's AES-GCM needs to open one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenJob {
    pub nonce: [u8; 12],
    /// Additional data: the record header (TLS 1.3), or seq‖type‖version‖length (TLS 1.2).
    pub aad: Vec<u8>,
    /// Where the ciphertext and its tag are in the record's payload.
    pub body: core::ops::Range<usize>,
}

impl RxKey {
    /// The raw AES key (16 or 32 bytes), for importing into the platform's AES-GCM.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The sequence number of the next record rustls will decrypt under this key.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// The job for the record with `header` and `payload` if it is decrypted under `seq`, or
    /// `None` if it is too short to be a record under this key.
    pub fn job(&self, seq: u64, header: &[u8; 5], payload: &[u8]) -> Option<OpenJob> {
        if self.tls13 {
            if payload.len() < TAG_LEN + 1 {
                return None;
            }
            let mut nonce = self.iv;
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
            Some(OpenJob { nonce, aad: header.to_vec(), body: 0..payload.len() })
        } else {
            let body_len = payload.len().checked_sub(GCM_EXPLICIT_LEN + TAG_LEN)?;
            let explicit_nonce = payload.get(..GCM_EXPLICIT_LEN)?;
            let mut nonce = self.iv;
            nonce[4..].copy_from_slice(explicit_nonce);
            let mut aad = Vec::with_capacity(13);
            aad.extend_from_slice(&seq.to_be_bytes());
            aad.extend_from_slice(&header[..3]);
            aad.extend_from_slice(&(body_len as u16).to_be_bytes());
            Some(OpenJob { nonce, aad, body: GCM_EXPLICIT_LEN..payload.len() })
        }
    }

    /// Keeps the plaintext the platform produced (and authenticated) for the record with
    /// `header` at stream offset `offset` under `seq`, for the decrypter. Ignored if rustls is
    /// already past `seq`.
    pub fn offer(&self, seq: u64, offset: u64, header: [u8; 5], plaintext: Vec<u8>) {
        let mut state = self.lock();
        if seq < state.next_seq || state.opened.back().is_some_and(|o| o.seq >= seq) {
            return;
        }
        state.opened.push_back(Opened { seq, offset, header, plaintext });
    }

    /// Called by the decrypter for every record: the verified plaintext of exactly this record
    /// (`payload`, as rustls hands it over, in the core's input window) under `seq`, if there
    /// is one. Results for earlier records are dropped.
    pub(crate) fn take(&self, seq: u64, typ: u8, version: u16, payload: &[u8]) -> Option<Vec<u8>> {
        let mut state = self.lock();
        state.next_seq = seq.wrapping_add(1);
        while state.opened.front().is_some_and(|o| o.seq < seq) {
            state.opened.pop_front();
        }
        if state.opened.front()?.seq != seq {
            return None;
        }
        let opened = state.opened.pop_front()?;
        let offset = WINDOW.with(|w| w.get()?.offset_of(payload))?;
        let [t, v0, v1, l0, l1] = opened.header;
        let same = opened.offset + 5 == offset
            && t == typ
            && u16::from_be_bytes([v0, v1]) == version
            && usize::from(u16::from_be_bytes([l0, l1])) == payload.len();
        same.then_some(opened.plaintext)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent state.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl core::fmt::Debug for RxKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RxKey").field("tls13", &self.tls13).finish_non_exhaustive()
    }
}

/// Where the core's input window is: its address and length, and the stream offset of its first
/// byte. Set by the core around its calls into rustls ([`Window::set`]).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    address: usize,
    len: usize,
    offset: u64,
}

impl Window {
    /// Says that `window` starts at `offset` in the received stream, until the guard drops.
    pub fn set(window: &[u8], offset: u64) -> WindowGuard {
        let this = Window { address: window.as_ptr() as usize, len: window.len(), offset };
        WindowGuard { outer: WINDOW.with(|w| w.replace(Some(this))) }
    }

    /// The stream offset of `bytes`, if they lie inside the window.
    fn offset_of(self, bytes: &[u8]) -> Option<u64> {
        let delta = (bytes.as_ptr() as usize).checked_sub(self.address)?;
        (delta.checked_add(bytes.len())? <= self.len).then_some(self.offset + delta as u64)
    }
}

/// The stream offset of `bytes` (a record rustls hands over, in place), if the core set its input
/// window around the call ([`Window::set`]).
pub(crate) fn stream_offset(bytes: &[u8]) -> Option<u64> {
    WINDOW.with(|w| w.get()?.offset_of(bytes))
}

/// Restores the previous window (usually none) when dropped.
#[must_use = "the window is cleared when dropped"]
pub struct WindowGuard {
    outer: Option<Window>,
}

impl Drop for WindowGuard {
    fn drop(&mut self) {
        WINDOW.with(|w| w.set(self.outer.take()));
    }
}

thread_local! {
    static WINDOW: std::cell::Cell<Option<Window>> = const { std::cell::Cell::new(None) };
    static LISTENING: RefCell<Option<Option<Option<Arc<RxKey>>>>> = const { RefCell::new(None) };
}

/// Listens on this thread for receive keys installed while it is open. Dropping it stops.
#[must_use = "listening stops when dropped"]
pub struct Listener {
    outer: Option<Option<Option<Arc<RxKey>>>>,
}

/// Starts listening for receive keys on this thread.
pub fn listen() -> Listener {
    Listener { outer: LISTENING.with(|l| l.borrow_mut().replace(None)) }
}

impl Listener {
    /// If a receive key was installed since the last call: `Some(Some(key))` for an AES-GCM key,
    /// `Some(None)` for any other (which cannot be offloaded). `None` if no key was installed.
    pub fn take(&mut self) -> Option<Option<Arc<RxKey>>> {
        LISTENING.with(|l| l.borrow_mut().as_mut().and_then(Option::take))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let outer = self.outer.take();
        LISTENING.with(|l| *l.borrow_mut() = outer);
    }
}

/// Called when rustls installs a receive key: an [`RxKey`] for the decrypter to consult if the
/// core is listening and the key is AES-GCM (`iv`: TLS 1.3's IV, or TLS 1.2's salt), else `None`.
pub(crate) fn announce(aes_gcm: bool, key: &[u8], iv: &[u8], tls13: bool) -> Option<Arc<RxKey>> {
    LISTENING.with(|l| {
        let mut l = l.borrow_mut();
        let slot = l.as_mut()?;
        let rx = aes_gcm.then(|| {
            let mut full = [0u8; 12];
            for (dst, src) in full.iter_mut().zip(iv) {
                *dst = *src;
            }
            Arc::new(RxKey { key: Zeroizing::new(key.to_vec()), iv: full, tls13, state: Mutex::default() })
        });
        *slot = Some(rx.clone());
        rx
    })
}
