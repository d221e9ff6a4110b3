//! HPKE (RFC 9180), base mode, for Encrypted Client Hello: DHKEM(X25519, HKDF-SHA256) with
//! HKDF-SHA256 and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305 — the suites ECH deployments
//! publish. Built on the same RustCrypto primitives as the rest of the provider (x25519-dalek,
//! HMAC-SHA256, aes-gcm, chacha20poly1305), so it adds no crate of its own.

use aead::{AeadInOut, KeyInit};
use hmac::{Hmac, Mac};
use rustls::crypto::hpke::{
    EncapsulatedSecret, Hpke, HpkeOpener, HpkePrivateKey, HpkePublicKey, HpkeSealer, HpkeSuite,
};
use rustls::internal::msgs::enums::{HpkeAead, HpkeKdf, HpkeKem};
use rustls::internal::msgs::handshake::HpkeSymmetricCipherSuite;
use rustls::Error;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::random;

/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.
pub static X25519_SHA256_AES128GCM: &dyn Hpke = &Suite(Aead::Aes128Gcm);
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
pub static X25519_SHA256_AES256GCM: &dyn Hpke = &Suite(Aead::Aes256Gcm);
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
pub static X25519_SHA256_CHACHA20POLY1305: &dyn Hpke = &Suite(Aead::ChaCha20Poly1305);

/// Every HPKE suite here, in preference order (as ECH configurations are matched against them).
pub static ALL_SUPPORTED_SUITES: &[&dyn Hpke] =
    &[X25519_SHA256_AES128GCM, X25519_SHA256_AES256GCM, X25519_SHA256_CHACHA20POLY1305];

const KEM_ID: u16 = 0x0020;
const KDF_ID: u16 = 0x0001;
/// Nsecret, Nenc, Npk, Nsk of DHKEM(X25519, HKDF-SHA256); Nh of HKDF-SHA256.
const N: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MODE_BASE: u8 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aead {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Aead {
    fn id(self) -> HpkeAead {
        match self {
            Self::Aes128Gcm => HpkeAead::AES_128_GCM,
            Self::Aes256Gcm => HpkeAead::AES_256_GCM,
            Self::ChaCha20Poly1305 => HpkeAead::CHACHA20_POLY_1305,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }
}

#[derive(Debug)]
struct Suite(Aead);

fn hpke_error(what: &'static str) -> Error {
    Error::General(format!("HPKE: {what}"))
}

// ---------------------------------------------------------------- HKDF-SHA256, labeled (§4)

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; N] {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm).
fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; N]> {
    Zeroizing::new(hmac(salt, &[b"HPKE-v1", suite_id, label, ikm]))
}

/// LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
/// label || info, L).
fn labeled_expand(suite_id: &[u8], prk: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    let length = (out.len() as u16).to_be_bytes();
    let mut previous: Zeroizing<[u8; N]> = Zeroizing::new([0; N]);
    for (i, chunk) in out.chunks_mut(N).enumerate() {
        let counter = [i as u8 + 1];
        let head: &[u8] = if i == 0 { &[] } else { &previous[..] };
        *previous = hmac(prk, &[head, &length, b"HPKE-v1", suite_id, label, info, &counter]);
        for (dst, src) in chunk.iter_mut().zip(previous.iter()) {
            *dst = *src;
        }
    }
}

// ---------------------------------------------------------------- DHKEM(X25519, HKDF-SHA256) (§4.1)

fn kem_suite_id() -> [u8; 5] {
    let id = KEM_ID.to_be_bytes();
    [b'K', b'E', b'M', id[0], id[1]]
}

fn x25519(secret: &[u8; N], public: &[u8]) -> Result<Zeroizing<[u8; N]>, Error> {
    let public: [u8; N] = public.try_into().map_err(|_| hpke_error("bad X25519 public key"))?;
    let shared = Zeroizing::new(x25519_dalek::x25519(*secret, public));
    // §7.1.4: an all-zero shared secret (a small-order public key) is a validation error.
    if shared.iter().all(|b| *b == 0) {
        return Err(hpke_error("X25519 public key of small order"));
    }
    Ok(shared)
}

fn public_of(secret: &[u8; N]) -> [u8; N] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// ExtractAndExpand(dh, kem_context).
fn shared_secret(dh: &[u8], enc: &[u8], pk_r: &[u8]) -> Zeroizing<[u8; N]> {
    let suite_id = kem_suite_id();
    let eae_prk = labeled_extract(&suite_id, b"", b"eae_prk", dh);
    let mut out = Zeroizing::new([0u8; N]);
    labeled_expand(&suite_id, &eae_prk[..], b"shared_secret", &[enc, pk_r].concat(), &mut out[..]);
    out
}

/// Encap(pkR) with a given ephemeral secret (random in use; fixed in the RFC's test vectors).
fn encap_with(secret_e: &[u8; N], pk_r: &[u8]) -> Result<(Zeroizing<[u8; N]>, [u8; N]), Error> {
    let dh = x25519(secret_e, pk_r)?;
    let enc = public_of(secret_e);
    Ok((shared_secret(&dh[..], &enc, pk_r), enc))
}

fn decap(enc: &[u8], secret_r: &[u8]) -> Result<Zeroizing<[u8; N]>, Error> {
    let secret_r: Zeroizing<[u8; N]> =
        Zeroizing::new(secret_r.try_into().map_err(|_| hpke_error("bad X25519 private key"))?);
    let dh = x25519(&secret_r, enc)?;
    Ok(shared_secret(&dh[..], enc, &public_of(&secret_r)))
}

// ---------------------------------------------------------------- key schedule and context (§5)

struct Context {
    aead: Aead,
    key: Zeroizing<Vec<u8>>,
    base_nonce: [u8; NONCE_LEN],
    seq: u64,
}

impl core::fmt::Debug for Context {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HpkeContext").field("aead", &self.aead).field("seq", &self.seq).finish_non_exhaustive()
    }
}

impl Suite {
    fn suite_id(&self) -> [u8; 10] {
        let (kem, kdf, aead) = (KEM_ID.to_be_bytes(), KDF_ID.to_be_bytes(), u16::from(self.0.id()).to_be_bytes());
        [b'H', b'P', b'K', b'E', kem[0], kem[1], kdf[0], kdf[1], aead[0], aead[1]]
    }

    /// KeySchedule(mode_base, shared_secret, info, default_psk, default_psk_id).
    fn key_schedule(&self, shared_secret: &[u8], info: &[u8]) -> Context {
        let suite_id = self.suite_id();
        let psk_id_hash = labeled_extract(&suite_id, b"", b"psk_id_hash", b"");
        let info_hash = labeled_extract(&suite_id, b"", b"info_hash", info);
        let context = [&[MODE_BASE][..], &psk_id_hash[..], &info_hash[..]].concat();
        let secret = labeled_extract(&suite_id, shared_secret, b"secret", b"");
        let mut key = Zeroizing::new(vec![0u8; self.0.key_len()]);
        labeled_expand(&suite_id, &secret[..], b"key", &context, &mut key);
        let mut base_nonce = [0u8; NONCE_LEN];
        labeled_expand(&suite_id, &secret[..], b"base_nonce", &context, &mut base_nonce);
        Context { aead: self.0, key, base_nonce, seq: 0 }
    }

    fn sealer_with(
        &self,
        secret_e: &[u8; N],
        info: &[u8],
        pk_r: &[u8],
    ) -> Result<(EncapsulatedSecret, Context), Error> {
        let (shared, enc) = encap_with(secret_e, pk_r)?;
        Ok((EncapsulatedSecret(enc.to_vec()), self.key_schedule(&shared[..], info)))
    }

    fn sealer(&self, info: &[u8], pk_r: &HpkePublicKey) -> Result<(EncapsulatedSecret, Context), Error> {
        let mut secret_e = Zeroizing::new([0u8; N]);
        random(&mut secret_e[..])?;
        self.sealer_with(&secret_e, info, &pk_r.0)
    }

    fn opener(&self, enc: &EncapsulatedSecret, info: &[u8], sk_r: &HpkePrivateKey) -> Result<Context, Error> {
        let shared = decap(&enc.0, sk_r.secret_bytes())?;
        Ok(self.key_schedule(&shared[..], info))
    }
}

impl Context {
    /// ComputeNonce(seq) and IncrementSeq (§5.2): the sequence may not wrap.
    fn next_nonce(&mut self) -> Result<[u8; NONCE_LEN], Error> {
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq = self.seq.checked_add(1).ok_or_else(|| hpke_error("message limit reached"))?;
        Ok(nonce)
    }

    fn seal_in_place(&mut self, aad: &[u8], data: &mut Vec<u8>) -> Result<(), Error> {
        let nonce = self.next_nonce()?;
        let tag = match self.aead {
            Aead::Aes128Gcm => seal::<aes_gcm::Aes128Gcm>(&self.key, &nonce, aad, data),
            Aead::Aes256Gcm => seal::<aes_gcm::Aes256Gcm>(&self.key, &nonce, aad, data),
            Aead::ChaCha20Poly1305 => seal::<chacha20poly1305::ChaCha20Poly1305>(&self.key, &nonce, aad, data),
        }?;
        data.extend_from_slice(&tag);
        Ok(())
    }

    fn open_in_place(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let split = ciphertext.len().checked_sub(TAG_LEN).ok_or(Error::DecryptError)?;
        let (body, tag) = ciphertext.split_at(split);
        let nonce = self.next_nonce()?;
        let mut data = body.to_vec();
        match self.aead {
            Aead::Aes128Gcm => open::<aes_gcm::Aes128Gcm>(&self.key, &nonce, aad, &mut data, tag),
            Aead::Aes256Gcm => open::<aes_gcm::Aes256Gcm>(&self.key, &nonce, aad, &mut data, tag),
            Aead::ChaCha20Poly1305 => {
                open::<chacha20poly1305::ChaCha20Poly1305>(&self.key, &nonce, aad, &mut data, tag)
            }
        }?;
        Ok(data)
    }
}

fn seal<A: AeadInOut + KeyInit>(key: &[u8], nonce: &[u8], aad: &[u8], data: &mut [u8]) -> Result<[u8; TAG_LEN], Error> {
    let cipher = A::new_from_slice(key).map_err(|_| Error::EncryptError)?;
    let nonce = aead::Nonce::<A>::try_from(nonce).map_err(|_| Error::EncryptError)?;
    let tag = cipher.encrypt_inout_detached(&nonce, aad, data.into()).map_err(|_| Error::EncryptError)?;
    tag.as_slice().try_into().map_err(|_| Error::EncryptError)
}

fn open<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    data: &mut [u8],
    tag: &[u8],
) -> Result<(), Error> {
    let cipher = A::new_from_slice(key).map_err(|_| Error::DecryptError)?;
    let nonce = aead::Nonce::<A>::try_from(nonce).map_err(|_| Error::DecryptError)?;
    let tag = aead::Tag::<A>::try_from(tag).map_err(|_| Error::DecryptError)?;
    cipher.decrypt_inout_detached(&nonce, aad, data.into(), &tag).map_err(|_| Error::DecryptError)
}

impl HpkeSealer for Context {
    fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut data = Vec::with_capacity(plaintext.len() + TAG_LEN);
        data.extend_from_slice(plaintext);
        self.seal_in_place(aad, &mut data)?;
        Ok(data)
    }
}

impl HpkeOpener for Context {
    fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        self.open_in_place(aad, ciphertext)
    }
}

impl Hpke for Suite {
    fn seal(
        &self,
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        pub_key: &HpkePublicKey,
    ) -> Result<(EncapsulatedSecret, Vec<u8>), Error> {
        let (enc, mut context) = self.sealer(info, pub_key)?;
        Ok((enc, HpkeSealer::seal(&mut context, aad, plaintext)?))
    }

    fn setup_sealer(
        &self,
        info: &[u8],
        pub_key: &HpkePublicKey,
    ) -> Result<(EncapsulatedSecret, Box<dyn HpkeSealer + 'static>), Error> {
        let (enc, context) = self.sealer(info, pub_key)?;
        Ok((enc, Box::new(context)))
    }

    fn open(
        &self,
        enc: &EncapsulatedSecret,
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        secret_key: &HpkePrivateKey,
    ) -> Result<Vec<u8>, Error> {
        self.opener(enc, info, secret_key)?.open_in_place(aad, ciphertext)
    }

    fn setup_opener(
        &self,
        enc: &EncapsulatedSecret,
        info: &[u8],
        secret_key: &HpkePrivateKey,
    ) -> Result<Box<dyn HpkeOpener + 'static>, Error> {
        Ok(Box::new(self.opener(enc, info, secret_key)?))
    }

    fn generate_key_pair(&self) -> Result<(HpkePublicKey, HpkePrivateKey), Error> {
        let mut secret = Zeroizing::new([0u8; N]);
        random(&mut secret[..])?;
        Ok((HpkePublicKey(public_of(&secret).to_vec()), HpkePrivateKey::from(secret.to_vec())))
    }

    fn suite(&self) -> HpkeSuite {
        HpkeSuite {
            kem: HpkeKem::DHKEM_X25519_HKDF_SHA256,
            sym: HpkeSymmetricCipherSuite { kdf_id: HpkeKdf::HKDF_SHA256, aead_id: self.0.id() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 9180 appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode)
    /// and A.2.1 (the same with ChaCha20-Poly1305): the key schedule and the first sequence's
    /// encryption, sealed from the vectors' fixed ephemeral key and opened with the recipient's.
    #[test]
    fn rfc9180_base_mode_vectors() {
        struct Vector {
            suite: &'static dyn Hpke,
            sk_e: &'static str,
            pk_r: &'static str,
            sk_r: &'static str,
            enc: &'static str,
            key: &'static str,
            base_nonce: &'static str,
            ct0: &'static str,
            ct1: &'static str,
        }
        let info = hex("4f6465206f6e2061204772656369616e2055726e");
        let pt = hex("4265617574792069732074727574682c20747275746820626561757479");
        let vectors = [
            Vector {
                suite: X25519_SHA256_AES128GCM,
                sk_e: "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
                pk_r: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
                sk_r: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
                enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
                key: "4531685d41d65f03dc48f6b8302c05b0",
                base_nonce: "56d890e5accaaf011cff4b7d",
                ct0: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
                ct1: "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84",
            },
            Vector {
                suite: X25519_SHA256_CHACHA20POLY1305,
                sk_e: "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
                pk_r: "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
                sk_r: "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
                enc: "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
                key: "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
                base_nonce: "5c4d98150661b848853b547f",
                ct0: "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
                ct1: "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c",
            },
        ];
        for v in vectors {
            let suite = Suite(match v.suite.suite().sym.aead_id {
                HpkeAead::AES_128_GCM => Aead::Aes128Gcm,
                _ => Aead::ChaCha20Poly1305,
            });
            let sk_e: [u8; N] = hex(v.sk_e).try_into().unwrap();
            let (enc, mut sealer) = suite.sealer_with(&sk_e, &info, &hex(v.pk_r)).unwrap();
            assert_eq!(enc.0, hex(v.enc));
            assert_eq!(&sealer.key[..], &hex(v.key)[..]);
            assert_eq!(sealer.base_nonce.to_vec(), hex(v.base_nonce));
            let aad0 = hex("436f756e742d30");
            let aad1 = hex("436f756e742d31");
            assert_eq!(HpkeSealer::seal(&mut sealer, &aad0, &pt).unwrap(), hex(v.ct0));
            assert_eq!(HpkeSealer::seal(&mut sealer, &aad1, &pt).unwrap(), hex(v.ct1));

            let sk_r = HpkePrivateKey::from(hex(v.sk_r));
            let mut opener = v.suite.setup_opener(&enc, &info, &sk_r).unwrap();
            assert_eq!(opener.open(&aad0, &hex(v.ct0)).unwrap(), pt);
            // Out of order: the opener is at sequence 1 now, so ct0 no longer opens.
            assert!(opener.open(&aad0, &hex(v.ct0)).is_err());
        }
    }

    #[test]
    fn round_trip_every_suite_and_tamper() {
        for suite in ALL_SUPPORTED_SUITES {
            let (pk, sk) = suite.generate_key_pair().unwrap();
            let (enc, ct) = suite.seal(b"info", b"aad", b"inner client hello", &pk).unwrap();
            assert_eq!(suite.open(&enc, b"info", b"aad", &ct, &sk).unwrap(), b"inner client hello");
            assert!(suite.open(&enc, b"info", b"other aad", &ct, &sk).is_err());
            assert!(suite.open(&enc, b"other info", b"aad", &ct, &sk).is_err());
            let mut bad = ct.clone();
            bad[0] ^= 1;
            assert!(suite.open(&enc, b"info", b"aad", &bad, &sk).is_err());
            assert!(suite.open(&enc, b"info", b"aad", &ct[..TAG_LEN - 1], &sk).is_err());
        }
    }

    #[test]
    fn small_order_public_key_is_refused() {
        let zero = HpkePublicKey(vec![0; N]);
        assert!(X25519_SHA256_AES128GCM.seal(b"", b"", b"x", &zero).is_err());
        assert!(X25519_SHA256_AES128GCM.seal(b"", b"", b"x", &HpkePublicKey(vec![9; 31])).is_err());
    }
}
