//! Session tickets for servers (RFC 5077 / RFC 8446 section 4.6.1): the server's session state
//! sealed with ChaCha20-Poly1305 under a random key that only this process knows, rotated by
//! rustls's `TicketRotator` every 6 hours (a ticket is accepted for at most 12), as rustls's own
//! providers do. A new key is drawn from the OS RNG at each rotation; the old one is dropped
//! (and zeroized) one rotation later, so a stolen key opens at most 12 hours of tickets.
//!
//! Ticket layout: `key name (16) | nonce (12) | ciphertext | tag (16)`, the key name as the
//! additional data. A ticket under another key (another process, or older than two rotations)
//! is declined, and the handshake is a full one.

use std::fmt;
use std::sync::Arc;

use aead::{AeadInOut, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use rustls::server::ProducesTickets;
use rustls::ticketer::TicketRotator;

/// How long one key seals new tickets, in seconds; tickets are accepted for twice as long.
pub const KEY_LIFETIME: u32 = 6 * 60 * 60;

const NAME_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A rotating ticketer for a server configuration.
pub fn ticketer() -> Result<Arc<dyn ProducesTickets>, rustls::Error> {
    #[cfg(fuzzing)]
    return Ok(Arc::new(crate::fuzzing::Ticketer));
    #[cfg(not(fuzzing))]
    Ok(Arc::new(TicketRotator::new(KEY_LIFETIME, generate)?))
}

fn generate() -> Result<Box<dyn ProducesTickets>, rustls::crypto::GetRandomFailed> {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    let mut name = [0u8; NAME_LEN];
    getrandom::fill(&mut *key).map_err(|_| rustls::crypto::GetRandomFailed)?;
    getrandom::fill(&mut name).map_err(|_| rustls::crypto::GetRandomFailed)?;
    let cipher = ChaCha20Poly1305::new_from_slice(&*key).map_err(|_| rustls::crypto::GetRandomFailed)?;
    Ok(Box::new(KeyTicketer { name, cipher }))
}

/// One key's tickets.
pub(crate) struct KeyTicketer {
    name: [u8; NAME_LEN],
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for KeyTicketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyTicketer").finish_non_exhaustive()
    }
}

impl ProducesTickets for KeyTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        KEY_LIFETIME
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(NAME_LEN + NONCE_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let body = out.get_mut(NAME_LEN + NONCE_LEN..)?;
        let tag = self.cipher.encrypt_inout_detached(&nonce.into(), &self.name, body.into()).ok()?;
        out.extend_from_slice(&tag);
        Some(out)
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        // Too short for name, nonce and tag, or another key's name: not ours.
        let (name, rest) = ticket.split_at_checked(NAME_LEN)?;
        let (nonce, rest) = rest.split_at_checked(NONCE_LEN)?;
        let (body, tag) = rest.split_at_checked(rest.len().checked_sub(TAG_LEN)?)?;
        if name != self.name {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let mut plain = body.to_vec();
        let tag = aead::Tag::<ChaCha20Poly1305>::try_from(tag).ok()?;
        self.cipher.decrypt_inout_detached(&nonce.into(), &self.name, plain.as_mut_slice().into(), &tag).ok()?;
        Some(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_open_under_their_own_key_only_and_not_when_changed() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        let ticket = a.encrypt(b"session state").unwrap();
        assert_eq!(ticket.len(), NAME_LEN + NONCE_LEN + 13 + TAG_LEN);
        assert_eq!(a.decrypt(&ticket).as_deref(), Some(&b"session state"[..]));
        assert_ne!(a.encrypt(b"session state").unwrap(), ticket, "a fresh nonce each time");
        assert_eq!(b.decrypt(&ticket), None, "another key");
        for at in [0, NAME_LEN, NAME_LEN + NONCE_LEN, ticket.len() - 1] {
            let mut bad = ticket.clone();
            bad[at] ^= 1;
            assert_eq!(a.decrypt(&bad), None, "byte {at} changed");
        }
        for len in [0, NAME_LEN, NAME_LEN + NONCE_LEN + TAG_LEN - 1] {
            assert_eq!(a.decrypt(&ticket[..len]), None, "truncated to {len}");
        }
        // The rotator: accepted for two key lifetimes, and it opens its own tickets.
        let rotating = ticketer().unwrap();
        assert_eq!(rotating.lifetime(), 2 * KEY_LIFETIME);
        let t = rotating.encrypt(b"x").unwrap();
        assert_eq!(rotating.decrypt(&t).as_deref(), Some(&b"x"[..]));
        assert_eq!(rotating.decrypt(&ticket), None);
    }
}
