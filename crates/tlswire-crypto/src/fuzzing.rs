//! The deterministic provider for fuzzing: compiled only under `--cfg fuzzing` (cargo-fuzz sets
//! it; nothing else may), when it replaces the primitives below. **No security at all.**
//!
//! ```text
//!   randomness    a fixed pattern, every call the same   -> a recorded transcript replays exactly
//!   key exchange  fixed shares of each group's real size, one constant secret, whatever the peer
//!                 sent (a share of the wrong size is still refused)
//!   HMAC          one constant tag whatever the key and message -> HKDF, the TLS 1.2 PRF, every
//!                 traffic key and IV, Finished and PSK binders are constants: both sides agree
//!                 and verify whatever the transcript
//!   AEAD          identity: the record body is the plaintext, the 16-byte "tag" is the sealing
//!                 encrypter's id (8 bytes, unchecked) and the nonce's sequence check (8 bytes,
//!                 checked): an edited body still opens and reaches the parsers; a record
//!                 replayed, dropped or reordered does not, as with a real AEAD
//!   signatures    ours are a constant; every signature verifies
//!   tickets       the session state in clear behind a 16-byte name
//! ```
//!
//! The transcript hash stays SHA-2 (nothing can depend on it with HMAC constant), and HPKE stays
//! real (only its randomness is fixed).
//!
//! Every seal through our AEADs is logged on its thread while a [`SealRecorder`] is open: the
//! encrypter (an id per encrypter instance) and the sequence number, so a fuzz target can check
//! that no encrypter seals one sequence number twice ([`take_seals`]).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pki_types::SubjectPublicKeyInfoDer;
use rustls::crypto::cipher::{MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage};
use rustls::crypto::{self, ActiveKeyExchange, CompletedKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::server::ProducesTickets;
use rustls::sign::{Signer, SigningKey};
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion, SignatureAlgorithm, SignatureScheme};

// ---------------------------------------------------------------- randomness

const RANDOM: &[u8; 16] = b"tlswire fuzzing!";

/// Fills `buf` with the fixed pattern: the same bytes on every call, in every process.
pub(crate) fn fill(buf: &mut [u8]) {
    for (out, value) in buf.iter_mut().zip(RANDOM.iter().cycle()) {
        *out = *value;
    }
}

// ---------------------------------------------------------------- HMAC

const HMAC_TAG: &[u8; 64] = b"tlswire fuzzing HMAC: one tag whatever the key and the message..";

/// An HMAC key whose every tag is the same `len` bytes.
pub(crate) fn hmac_key(_key: &[u8], len: usize) -> Box<dyn crypto::hmac::Key> {
    Box::new(ConstantHmac(len))
}

struct ConstantHmac(usize);

impl crypto::hmac::Key for ConstantHmac {
    fn sign_concat(&self, _first: &[u8], _middle: &[&[u8]], _last: &[u8]) -> crypto::hmac::Tag {
        crypto::hmac::Tag::new(&HMAC_TAG[..self.0])
    }

    fn tag_len(&self) -> usize {
        self.0
    }
}

// ---------------------------------------------------------------- key exchange

/// A key exchange group of the real group's name and share sizes, with no arithmetic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    name: NamedGroup,
    /// Bytes of the initiator's (client's) share, and of the answer (server's share, or a KEM's
    /// ciphertext).
    share_len: usize,
    reply_len: usize,
    secret_len: usize,
    /// NIST curves: shares are uncompressed points (first byte 4).
    point: bool,
    tls13_only: bool,
    /// X25519MLKEM768: the X25519 share is the last 32 bytes, also offered on its own.
    hybrid: bool,
}

const fn group(name: NamedGroup, share_len: usize, reply_len: usize, secret_len: usize) -> Group {
    Group { name, share_len, reply_len, secret_len, point: false, tls13_only: false, hybrid: false }
}

const fn point_group(name: NamedGroup, share_len: usize, secret_len: usize) -> Group {
    Group { point: true, ..group(name, share_len, share_len, secret_len) }
}

const fn kem_group(name: NamedGroup, share_len: usize, reply_len: usize, secret_len: usize) -> Group {
    Group { tls13_only: true, ..group(name, share_len, reply_len, secret_len) }
}

pub static X25519MLKEM768: &dyn SupportedKxGroup =
    &Group { hybrid: true, ..kem_group(NamedGroup::X25519MLKEM768, 1184 + 32, 1088 + 32, 64) };
pub static X25519: &dyn SupportedKxGroup = &group(NamedGroup::X25519, 32, 32, 32);
pub static SECP256R1: &dyn SupportedKxGroup = &point_group(NamedGroup::secp256r1, 65, 32);
pub static SECP384R1: &dyn SupportedKxGroup = &point_group(NamedGroup::secp384r1, 97, 48);
#[cfg(feature = "p521")]
pub static SECP521R1: &dyn SupportedKxGroup = &point_group(NamedGroup::secp521r1, 133, 66);
pub static MLKEM768: &dyn SupportedKxGroup = &kem_group(NamedGroup::MLKEM768, 1184, 1088, 32);
#[cfg(feature = "mlkem1024")]
pub static MLKEM1024: &dyn SupportedKxGroup = &kem_group(NamedGroup::MLKEM1024, 1568, 1568, 32);

const X25519_LEN: usize = 32;

impl Group {
    fn share(&self, len: usize) -> Vec<u8> {
        let mut share = vec![0u8; len];
        fill(&mut share);
        if self.point {
            share[0] = 4;
        }
        share
    }

    fn check(&self, peer: &[u8], len: usize) -> Result<(), Error> {
        if peer.len() != len || (self.point && peer.first() != Some(&4)) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(())
    }

    fn secret(&self) -> SharedSecret {
        SharedSecret::from(&HMAC_TAG[..self.secret_len])
    }
}

impl SupportedKxGroup for Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(Active { group: *self, share: self.share(self.share_len) }))
    }

    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        self.check(client_share, self.share_len)?;
        Ok(CompletedKeyExchange { group: self.name, pub_key: self.share(self.reply_len), secret: self.secret() })
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        !self.tls13_only || version == ProtocolVersion::TLSv1_3
    }
}

struct Active {
    group: Group,
    share: Vec<u8>,
}

impl ActiveKeyExchange for Active {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        self.group.check(peer, self.group.reply_len)?;
        Ok(self.group.secret())
    }

    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        self.group.hybrid.then(|| (NamedGroup::X25519, &self.share[self.share.len() - X25519_LEN..]))
    }

    fn complete_hybrid_component(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        let x25519 = group(NamedGroup::X25519, X25519_LEN, X25519_LEN, X25519_LEN);
        x25519.check(peer, X25519_LEN)?;
        Ok(x25519.secret())
    }

    fn pub_key(&self) -> &[u8] {
        &self.share
    }

    fn group(&self) -> NamedGroup {
        self.group.name
    }
}

// ---------------------------------------------------------------- AEAD

const TAG_LEN: usize = 16;

thread_local! {
    /// The id of the encrypter sealing now ([`Tracked`]); 0 outside one.
    static SEALING: Cell<u64> = const { Cell::new(0) };
    /// Seals logged while a [`SealRecorder`] is open.
    static SEALS: RefCell<Option<Vec<Seal>>> = const { RefCell::new(None) };
}

/// The 8 bytes a record's sequence is checked with: the nonce's last 8 (TLS 1.3 and
/// ChaCha20-Poly1305: IV xor sequence), or for TLS 1.2 (13 bytes of additional data, which start
/// with the sequence number) that sequence number itself. Not the length: an edited record of
/// another length still opens.
fn sequence_check(nonce: &Nonce, aad: &[u8]) -> [u8; 8] {
    let mut check = [0u8; 8];
    match aad.get(..8).filter(|_| aad.len() == 13) {
        Some(seq) => check.copy_from_slice(seq),
        None => check.copy_from_slice(&nonce.0[4..]),
    }
    check
}

/// aead.rs's `seal` under fuzzing: leaves `data` as it is and returns the tag: the sealing
/// encrypter's id, then the sequence check.
pub(crate) fn seal<A, K>(
    _cipher: &A,
    _key: &K,
    nonce: &Nonce,
    aad: &[u8],
    _data: &mut [u8],
) -> Result<[u8; TAG_LEN], Error> {
    let mut tag = [0u8; TAG_LEN];
    tag[..8].copy_from_slice(&SEALING.with(Cell::get).to_be_bytes());
    tag[8..].copy_from_slice(&sequence_check(nonce, aad));
    Ok(tag)
}

/// aead.rs's `open` under fuzzing: `data` opens as it is if the tag's sequence check matches.
pub(crate) fn open<A, K>(
    _cipher: &A,
    _key: &K,
    nonce: &Nonce,
    aad: &[u8],
    _data: &mut [u8],
    tag: &[u8],
) -> Result<(), Error> {
    match tag.get(8..) {
        Some(check) if tag.len() == TAG_LEN && check == sequence_check(nonce, aad) => Ok(()),
        _ => Err(Error::DecryptError),
    }
}

/// One record sealed: by which encrypter, at which sequence number, of which content type, and
/// the tag it went out with (its last 16 bytes on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seal {
    pub encrypter: u64,
    pub seq: u64,
    pub content_type: u8,
    pub tag: [u8; TAG_LEN],
}

/// Logs seals on this thread until dropped.
#[must_use = "recording stops when dropped"]
pub struct SealRecorder {
    outer: Option<Vec<Seal>>,
}

/// Starts logging this thread's seals (a fresh log; the previous one comes back when dropped).
pub fn record_seals() -> SealRecorder {
    SealRecorder { outer: SEALS.with(|s| s.borrow_mut().replace(Vec::new())) }
}

/// The seals since recording started or this was last called, in order.
pub fn take_seals() -> Vec<Seal> {
    SEALS.with(|s| s.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
}

impl Drop for SealRecorder {
    fn drop(&mut self) {
        let outer = self.outer.take();
        SEALS.with(|s| *s.borrow_mut() = outer);
    }
}

static NEXT_ENCRYPTER: AtomicU64 = AtomicU64::new(1);

/// Gives `encrypter` an id and logs each of its seals.
pub(crate) fn tracked(encrypter: Box<dyn MessageEncrypter>) -> Box<dyn MessageEncrypter> {
    Box::new(Tracked { id: NEXT_ENCRYPTER.fetch_add(1, Ordering::Relaxed), encrypter })
}

struct Tracked {
    id: u64,
    encrypter: Box<dyn MessageEncrypter>,
}

impl MessageEncrypter for Tracked {
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, Error> {
        let content_type = u8::from(msg.typ);
        let outer = SEALING.with(|s| s.replace(self.id));
        let sealed = self.encrypter.encrypt(msg, seq);
        SEALING.with(|s| s.set(outer));
        let sealed = sealed?;
        let payload = sealed.payload.as_ref();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&payload[payload.len().saturating_sub(TAG_LEN)..]);
        SEALS.with(|s| {
            if let Some(log) = s.borrow_mut().as_mut() {
                log.push(Seal { encrypter: self.id, seq, content_type, tag });
            }
        });
        Ok(sealed)
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        self.encrypter.encrypted_payload_len(payload_len)
    }
}

// ---------------------------------------------------------------- signatures

const SIGNATURE: &[u8] = b"tlswire fuzzing signature: verifies whatever signed it and whatever it signs";

/// `key`, signing with a constant (every signature verifies under fuzzing).
pub(crate) fn signing_key(key: Arc<dyn SigningKey>) -> Arc<dyn SigningKey> {
    Arc::new(ConstantSignatures(key))
}

#[derive(Debug)]
struct ConstantSignatures(Arc<dyn SigningKey>);

impl SigningKey for ConstantSignatures {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = self.0.choose_scheme(offered)?.scheme();
        Some(Box::new(ConstantSigner(scheme)))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }
}

#[derive(Debug)]
struct ConstantSigner(SignatureScheme);

impl Signer for ConstantSigner {
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(SIGNATURE.to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        self.0
    }
}

// ---------------------------------------------------------------- tickets

const TICKET_NAME: &[u8; 16] = b"tlswire fuzzing ";

/// Tickets that hold the session state in clear, so edited tickets reach rustls's decoder.
#[derive(Debug)]
pub(crate) struct Ticketer;

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        crate::ticketer::KEY_LIFETIME
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        Some([&TICKET_NAME[..], plain].concat())
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        ticket.strip_prefix(&TICKET_NAME[..]).map(<[u8]>::to_vec)
    }
}
