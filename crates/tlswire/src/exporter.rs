//! Keying-material exporters: RFC 8446 section 7.5 (TLS 1.3) and RFC 5705 (TLS 1.2), what
//! `SSL_export_keying_material` computes.
//!
//! rustls 0.23's unbuffered connections have no exporter, so tlswire derives it itself from the
//! secrets rustls hands its `KeyLog` hook (TLS 1.3's exporter master secret, TLS 1.2's master
//! secret; see [`crate::keylog`]) and, for TLS 1.2, the randoms our PRF sees when it derives the
//! key block; with the negotiated suite's own HKDF, hash and PRF.

use rustls::crypto::tls13::OkmBlock;
use rustls::SupportedCipherSuite;
use zeroize::Zeroizing;

use crate::error::{Error, Misuse};

/// The most keying material one export gives, in every version (TLS 1.3 itself stops at 255
/// hash lengths, 8160 or 12240 bytes; TLS 1.2's PRF has no limit), so that a length from an
/// application cannot make a binding allocate without bound: bindings allocate at most one byte
/// more than this, which the core then refuses.
pub const MAX_EXPORT: usize = 16384;

/// What a connection keeps to export keying material.
#[derive(Default)]
pub(crate) struct Secrets {
    /// TLS 1.3: the exporter master secret.
    pub tls13: Option<Zeroizing<Vec<u8>>>,
    /// TLS 1.2: the master secret.
    pub master: Option<Zeroizing<Vec<u8>>>,
    /// TLS 1.2: client random then server random, from the key block's derivation.
    pub randoms: Option<[u8; 64]>,
}

/// TLS 1.2 labels the PRF uses itself: an exporter must not use them (RFC 5705 section 4).
const RESERVED_TLS12: [&[u8]; 5] =
    [b"client finished", b"server finished", b"master secret", b"key expansion", b"extended master secret"];

impl Secrets {
    /// Fills `out` with keying material for `label` and `context` under `suite`.
    pub(crate) fn export(
        &self,
        suite: SupportedCipherSuite,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        if out.is_empty() {
            return Err(Misuse::BadExport("zero-length output").into());
        }
        if out.len() > MAX_EXPORT {
            return Err(Misuse::BadExport("output longer than 16384 bytes").into());
        }
        match suite {
            SupportedCipherSuite::Tls13(suite) => {
                let secret = self.tls13.as_ref().ok_or(Misuse::BadExport("no exporter secret"))?;
                let hash = suite.common.hash_provider;
                if out.len() > 255 * hash.output_len() {
                    return Err(Misuse::BadExport("output longer than 255 hash lengths").into());
                }
                if label.len() > 249 {
                    return Err(Misuse::BadExport("label longer than 249 bytes").into());
                }
                // Derive-Secret(exporter_master_secret, label, "")
                let empty = hash.hash(&[]);
                let expander = suite.hkdf_provider.expander_for_okm(&OkmBlock::new(secret));
                let mut derived = Zeroizing::new(vec![0u8; hash.output_len()]);
                expand_label(expander.as_ref(), label, empty.as_ref(), &mut derived)?;
                // HKDF-Expand-Label(that, "exporter", Hash(context), length); no context is the
                // empty context in TLS 1.3.
                let context_hash = hash.hash(context.unwrap_or(&[]));
                let expander = suite.hkdf_provider.expander_for_okm(&OkmBlock::new(&derived));
                expand_label(expander.as_ref(), b"exporter", context_hash.as_ref(), out)
            }
            SupportedCipherSuite::Tls12(suite) => {
                let (Some(master), Some(randoms)) = (&self.master, &self.randoms) else {
                    return Err(Misuse::BadExport("no master secret").into());
                };
                if RESERVED_TLS12.contains(&label) {
                    return Err(Misuse::BadExport("label reserved by TLS 1.2").into());
                }
                let mut seed = randoms.to_vec();
                if let Some(context) = context {
                    let len = u16::try_from(context.len())
                        .map_err(|_| Misuse::BadExport("context longer than 65535 bytes"))?;
                    seed.extend_from_slice(&len.to_be_bytes());
                    seed.extend_from_slice(context);
                }
                suite.prf_provider.for_secret(out, master, label, &seed);
                Ok(())
            }
        }
    }
}

/// HKDF-Expand-Label (RFC 8446 section 7.1) into `out`.
fn expand_label(
    expander: &dyn rustls::crypto::tls13::HkdfExpander,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let length = (out.len() as u16).to_be_bytes();
    let label_len = [6 + label.len() as u8];
    let context_len = [context.len() as u8];
    let info: [&[u8]; 6] = [&length, &label_len, b"tls13 ", label, &context_len, context];
    expander.expand_slice(&info, out).map_err(|_| Misuse::BadExport("output too long").into())
}
