//! Packed trust anchors: a compact root store that bindings ship as data (the npm package's
//! `tlswire/roots` is Mozilla's roots in this format, written by `examples/pack-roots.rs`).
//!
//! Each anchor is three length-prefixed fields, lengths big-endian `u16`: the subject, the
//! SubjectPublicKeyInfo and the name constraints (length 0 = none), in `webpki`'s
//! `TrustAnchor` form. Packing trust anchors instead of certificates keeps the module small.

/// One anchor: (subject, spki, name constraints).
pub type Anchor<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

/// Packs anchors.
///
/// # Panics
///
/// If a field is 64 KiB or longer, which the format cannot hold. Anchors come from the caller's
/// own root store (a build step packs them); the engine only decodes.
pub fn encode<'a>(anchors: impl IntoIterator<Item = Anchor<'a>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (subject, spki, nc) in anchors {
        for field in [subject, spki, nc.unwrap_or_default()] {
            // Not outside bytes: the caller's own anchors, packed ahead of time (see # Panics).
            #[allow(clippy::expect_used)]
            let len = u16::try_from(field.len()).expect("a trust anchor field is under 64 KiB");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
    }
    out
}

/// Unpacks anchors; `None` if the input is not in this format.
pub fn decode(mut packed: &[u8]) -> Option<Vec<Anchor<'_>>> {
    let mut anchors = Vec::new();
    while !packed.is_empty() {
        let subject = field(&mut packed)?;
        let spki = field(&mut packed)?;
        let nc = field(&mut packed)?;
        anchors.push((subject, spki, (!nc.is_empty()).then_some(nc)));
    }
    Some(anchors)
}

fn field<'a>(packed: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = packed.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (value, rest) = rest.split_at_checked(len)?;
    *packed = rest;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let anchors = [(&b"subject"[..], &b"spki"[..], None), (&b"s2"[..], &b"k2"[..], Some(&b"nc"[..]))];
        let packed = encode(anchors);
        assert_eq!(decode(&packed).unwrap(), anchors);
        assert!(decode(&packed[..packed.len() - 1]).is_none());
        assert!(decode(&[0, 5, 1]).is_none());
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }
}
