//! SHA-256 and SHA-384 for the transcript hash.

use rustls::crypto::hash;
use sha2::Digest;

pub(crate) static SHA256: Sha2<sha2::Sha256> = Sha2(hash::HashAlgorithm::SHA256, core::marker::PhantomData);
pub(crate) static SHA384: Sha2<sha2::Sha384> = Sha2(hash::HashAlgorithm::SHA384, core::marker::PhantomData);

pub(crate) struct Sha2<D>(hash::HashAlgorithm, core::marker::PhantomData<fn() -> D>);

impl<D> hash::Hash for Sha2<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Context(D::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&D::digest(data)[..])
    }

    fn output_len(&self) -> usize {
        <D as Digest>::output_size()
    }

    fn algorithm(&self) -> hash::HashAlgorithm {
        self.0
    }
}

struct Context<D>(D);

impl<D> hash::Context for Context<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize()[..])
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize()[..])
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

#[cfg(test)]
mod tests {
    use rustls::crypto::hash::Hash;

    use super::*;

    #[test]
    fn sha256_known_answer_and_fork() {
        let out = SHA256.hash(b"abc");
        assert_eq!(hex::encode(out.as_ref()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut ctx = SHA256.start();
        ctx.update(b"a");
        let forked = ctx.fork();
        ctx.update(b"bc");
        assert_eq!(ctx.fork_finish().as_ref(), out.as_ref());
        assert_eq!(forked.finish().as_ref(), SHA256.hash(b"a").as_ref());
    }

    #[test]
    fn sha384_known_answer() {
        assert_eq!(
            hex::encode(SHA384.hash(b"abc").as_ref()),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
    }
}
