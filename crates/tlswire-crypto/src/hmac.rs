//! HMAC-SHA256 and HMAC-SHA384; rustls derives HKDF (TLS 1.3) and the PRF (TLS 1.2) from these.

use hmac::{KeyInit, Mac};
use rustls::crypto;

pub(crate) static HMAC_SHA256: Hmac<sha2::Sha256> = Hmac(core::marker::PhantomData);
pub(crate) static HMAC_SHA384: Hmac<sha2::Sha384> = Hmac(core::marker::PhantomData);

pub(crate) struct Hmac<D>(core::marker::PhantomData<fn() -> D>);

impl<D> crypto::hmac::Hmac for Hmac<D>
where
    D: sha2::Digest + hmac::EagerHash + Send + Sync + 'static,
    hmac::Hmac<D>: KeyInit + Mac + Clone + Send + Sync,
{
    fn with_key(&self, key: &[u8]) -> Box<dyn crypto::hmac::Key> {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        match <hmac::Hmac<D> as KeyInit>::new_from_slice(key) {
            Ok(mac) => Box::new(Key(mac)),
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    fn hash_output_len(&self) -> usize {
        <D as sha2::Digest>::output_size()
    }
}

struct Key<M>(M);

impl<M> crypto::hmac::Key for Key<M>
where
    M: Mac + Clone + Send + Sync,
{
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> crypto::hmac::Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        crypto::hmac::Tag::new(&mac.finalize().into_bytes()[..])
    }

    fn tag_len(&self) -> usize {
        <M as hmac::digest::OutputSizeUser>::output_size()
    }
}
