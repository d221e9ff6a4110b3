//! The write side's current record protection, for the core to send the one alert rustls did not.
//!
//! rustls fails some connections without sending any alert (a TLS 1.3 record with no content
//! type, records interleaved with a fragmented handshake message, ...), although RFC 8446 names
//! the alert for each. The core puts that alert on the wire itself, protected as rustls would
//! have: with the encrypter rustls uses for its next record, at its next sequence number. Our
//! encrypters are shared with the core for that ([`Sealer`]): each is announced, while the core
//! listens ([`listen`]), when rustls makes it, and keeps the sequence number after the last
//! record it protected.
//!
//! A TLS 1.3 encrypter is in use from the moment rustls makes it (rustls installs it at once); a
//! TLS 1.2 one is made ahead of the ChangeCipherSpec that starts it, so it counts only once it
//! protected a record.
//!
//! Invariant: no (key, sequence number) protects two records. rustls's record layer counts its
//! own sequence numbers and does not see the core's alert, so the shared encrypter keeps the
//! next unused number and refuses any record below it ([`rustls::Error::EncryptError`]): a
//! record rustls would seal after one of ours fails instead of reusing the nonce. The only way
//! back is [`Sealer::rewind`], for records withdrawn before they reached the wire.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::crypto::cipher::{MessageEncrypter, OutboundChunks, OutboundOpaqueMessage, OutboundPlainMessage};
use rustls::{ContentType, ProtocolVersion};

/// An encrypter rustls owns and the core may use once more, for a final alert.
#[derive(Clone)]
pub struct Sealer {
    state: Arc<Mutex<State>>,
    tls13: bool,
}

struct State {
    encrypter: Box<dyn MessageEncrypter>,
    next_seq: u64,
    used: bool,
    /// The last record rustls protected with this encrypter, when it was a TLS 1.3 KeyUpdate
    /// notification (update_not_requested): rustls's answer to the peer's request, which it
    /// protects at once but queues until its next record.
    key_update_answer: Option<Vec<u8>>,
}

/// A KeyUpdate handshake message with request_update = update_not_requested (RFC 8446 §4.6.3).
const KEY_UPDATE_NOT_REQUESTED: [u8; 5] = [24, 0, 0, 1, 0];

impl Sealer {
    /// Whether rustls protects its records with this encrypter now (or did last).
    pub fn in_use(&self) -> bool {
        self.tls13 || self.lock().used
    }

    /// An alert record (`level` 1 warning or 2 fatal, `description`), protected at the next
    /// sequence number, with its record header: ready for the wire. `None` if the AEAD refused
    /// (exhausted sequence numbers).
    pub fn seal_alert(&self, level: u8, description: u8) -> Option<Vec<u8>> {
        let mut state = self.lock();
        let seq = state.next_seq;
        let payload = [level, description];
        let message = OutboundPlainMessage {
            typ: ContentType::Alert,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(&payload),
        };
        let sealed = state.encrypter.encrypt(message, seq).ok()?;
        state.next_seq = seq.checked_add(1)?;
        state.used = true;
        Some(sealed.encode())
    }

    /// Whether no record was protected with this encrypter yet.
    pub fn is_fresh(&self) -> bool {
        self.lock().next_seq == 0
    }

    /// The record with rustls's KeyUpdate answer, if that was the last record this encrypter
    /// protected. rustls switches to the next encrypter as soon as it protects the answer, and
    /// puts the answer on the wire only in front of its next record: while the next encrypter
    /// [`is_fresh`](Self::is_fresh), the answer has not reached the wire, and an alert the core
    /// seals with the next encrypter must follow it, or the peer cannot open the alert. The
    /// record is the one rustls protected, byte for byte, so sending it is no second use of its
    /// sequence number.
    pub fn unsent_key_update_answer(&self) -> Option<Vec<u8>> {
        self.lock().key_update_answer.clone()
    }

    /// Takes back the last `records` sequence numbers (records the core withdrew from its output
    /// before they reached the wire), so that the next record takes the first one's place.
    pub fn rewind(&self, records: u64) {
        let mut state = self.lock();
        state.next_seq = state.next_seq.saturating_sub(records);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The encrypter handed to rustls: the shared one, which notes each sequence number it protects.
struct Shared(Sealer);

impl MessageEncrypter for Shared {
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let mut state = self.0.lock();
        if seq < state.next_seq {
            return Err(rustls::Error::EncryptError); // that nonce protected a record already
        }
        let answer = self.0.tls13
            && msg.typ == ContentType::Handshake
            && msg.payload.len() == KEY_UPDATE_NOT_REQUESTED.len()
            && msg.payload.to_vec() == KEY_UPDATE_NOT_REQUESTED;
        let sealed = state.encrypter.encrypt(msg, seq)?;
        state.next_seq = seq.checked_add(1).ok_or(rustls::Error::EncryptError)?;
        state.used = true;
        state.key_update_answer = answer.then(|| sealed.clone().encode());
        Ok(sealed)
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        self.0.lock().encrypter.encrypted_payload_len(payload_len)
    }
}

thread_local! {
    static LISTENING: RefCell<Option<Vec<Sealer>>> = const { RefCell::new(None) };
}

/// Listens on this thread for the encrypters rustls makes while it is open. Dropping it stops.
#[must_use = "listening stops when dropped"]
pub struct Listener {
    outer: Option<Vec<Sealer>>,
}

/// Starts listening for encrypters on this thread.
pub fn listen() -> Listener {
    Listener { outer: LISTENING.with(|l| l.borrow_mut().replace(Vec::new())) }
}

/// The encrypters made since the listener opened or this was last called, oldest first.
pub fn take() -> Vec<Sealer> {
    LISTENING.with(|l| l.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
}

impl Drop for Listener {
    fn drop(&mut self) {
        let outer = self.outer.take();
        LISTENING.with(|l| *l.borrow_mut() = outer);
    }
}

/// Wraps a new encrypter so that the core can seal a final alert with it, if the core listens;
/// else returns it as it is (no cost when nobody listens).
pub(crate) fn announce(encrypter: Box<dyn MessageEncrypter>, tls13: bool) -> Box<dyn MessageEncrypter> {
    LISTENING.with(|l| match l.borrow_mut().as_mut() {
        Some(made) => {
            let sealer = Sealer {
                state: Arc::new(Mutex::new(State { encrypter, next_seq: 0, used: false, key_update_answer: None })),
                tls13,
            };
            made.push(sealer.clone());
            Box::new(Shared(sealer)) as Box<dyn MessageEncrypter>
        }
        None => encrypter,
    })
}

#[cfg(test)]
mod tests {
    use rustls::crypto::cipher::{MessageEncrypter, OutboundChunks, OutboundPlainMessage};
    use rustls::{ContentType, ProtocolVersion};

    /// An encrypter whose output is the sequence number: enough to see what was sealed.
    struct Counting;

    impl MessageEncrypter for Counting {
        fn encrypt(
            &mut self,
            msg: OutboundPlainMessage<'_>,
            seq: u64,
        ) -> Result<rustls::crypto::cipher::OutboundOpaqueMessage, rustls::Error> {
            let mut payload = rustls::crypto::cipher::PrefixedPayload::with_capacity(8);
            payload.extend_from_slice(&seq.to_be_bytes());
            Ok(rustls::crypto::cipher::OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
        }

        fn encrypted_payload_len(&self, _: usize) -> usize {
            8
        }
    }

    fn message() -> OutboundPlainMessage<'static> {
        OutboundPlainMessage {
            typ: ContentType::Handshake,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(b"finished"),
        }
    }

    #[test]
    fn a_sequence_number_the_core_sealed_is_refused_to_rustls_until_rewound() {
        let listener = super::listen();
        let mut shared = super::announce(Box::new(Counting), true);
        let sealer = super::take().remove(0);
        drop(listener);
        assert!(shared.encrypt(message(), 0).is_ok());
        // The core seals an alert at 1; rustls, which counts alone, comes with 1 next.
        assert!(sealer.seal_alert(1, 90).is_some());
        assert_eq!(shared.encrypt(message(), 1).err(), Some(rustls::Error::EncryptError));
        assert!(shared.encrypt(message(), 2).is_ok());
        // Withdrawn before reaching the wire: the number may protect another record.
        sealer.rewind(1);
        assert!(shared.encrypt(message(), 2).is_ok());
        assert_eq!(shared.encrypt(message(), 0).err(), Some(rustls::Error::EncryptError));
    }

    #[test]
    fn a_key_update_answer_is_kept_until_the_next_record() {
        let listener = super::listen();
        let mut shared = super::announce(Box::new(Counting), true);
        let sealer = super::take().remove(0);
        drop(listener);
        const REQUEST: &[u8] = &[24, 0, 0, 1, 1];
        const ANSWER: &[u8] = &[24, 0, 0, 1, 0];
        let key_update = |payload: &'static [u8]| OutboundPlainMessage {
            typ: ContentType::Handshake,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(payload),
        };
        assert!(sealer.is_fresh());
        let request = shared.encrypt(key_update(REQUEST), 0).unwrap();
        assert!(!sealer.is_fresh());
        assert_eq!(sealer.unsent_key_update_answer(), None, "a request is no answer");
        drop(request);
        let answer = shared.encrypt(key_update(ANSWER), 1).unwrap().encode();
        assert_eq!(sealer.unsent_key_update_answer(), Some(answer));
        shared.encrypt(message(), 2).unwrap();
        assert_eq!(sealer.unsent_key_update_answer(), None);
    }
}
