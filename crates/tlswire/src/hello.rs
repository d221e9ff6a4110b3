//! Two checks of a client's first ClientHello that RFCs require of every server and rustls 0.23
//! does not make, made by the core before rustls reads the hello (they decide nothing rustls
//! decides; they only refuse):
//!
//! - RFC 8446 appendix D.5: a ClientHello whose legacy_version is 0x0300 (SSL 3.0) or less ends
//!   the handshake with protocol_version.
//! - RFC 7507: TLS_FALLBACK_SCSV from a client whose highest version is below ours means an
//!   attacker forced a fallback: inappropriate_fallback.
//! - RFC 8446 section 9.2: a TLS 1.3 ClientHello with supported_groups and no key_share gets
//!   missing_extension (rustls answers handshake_failure). The reverse, key_share without
//!   supported_groups, is left to rustls: no group in common, as BoringSSL answers it too.

use crate::error::{AlertDescription, Error, ProtocolError};

const FALLBACK_SCSV: u16 = 0x5600;
const SUPPORTED_VERSIONS: u16 = 43;
const SUPPORTED_GROUPS: u16 = 10;
const KEY_SHARE: u16 = 51;

/// What to do about the first record a server received.
pub(crate) enum Verdict {
    /// Not a whole ClientHello in one record yet (or not a ClientHello): look again later.
    Incomplete,
    /// rustls may read it; `Some(true)` if the handshake will be TLS 1.3 (the client offers it
    /// and so do we), `None` if the hello could not be read here.
    Pass(Option<bool>),
    /// Refuse with this alert and error.
    Refuse(AlertDescription, Error),
}

/// Checks the record at the front of `input` (a server's first input) against `our_max`
/// (the wire value of our highest enabled version).
pub(crate) fn check(input: &[u8], our_max: u16) -> Verdict {
    let Some(header) = input.get(..5) else { return Verdict::Incomplete };
    let len = u16::from_be_bytes([header[3], header[4]]) as usize;
    let Some(body) = input.get(5..5 + len) else { return Verdict::Incomplete };
    // Anything else (another record type, a hello spread over several records) is left to rustls.
    if header[0] != 22 || body.first() != Some(&1) {
        return Verdict::Pass(None);
    }
    let Some(hello) = parse(body) else { return Verdict::Pass(None) };
    if hello.legacy_version <= 0x0300 {
        let error = Error::Protocol {
            error: ProtocolError::Incompatible("the ClientHello's version is SSL 3.0 or older".into()),
            alert_sent: Some(AlertDescription::ProtocolVersion),
        };
        return Verdict::Refuse(AlertDescription::ProtocolVersion, error);
    }
    if hello.fallback_scsv && hello.max_version < our_max {
        let error = Error::Protocol {
            error: ProtocolError::Misbehaved(
                "TLS_FALLBACK_SCSV from a client whose highest version is below ours (RFC 7507): a downgrade".into(),
            ),
            alert_sent: Some(AlertDescription::InappropriateFallback),
        };
        return Verdict::Refuse(AlertDescription::InappropriateFallback, error);
    }
    if our_max >= 0x0304 && hello.max_version >= 0x0304 && hello.supported_groups && !hello.key_share {
        let error = Error::Protocol {
            error: ProtocolError::Misbehaved("a TLS 1.3 ClientHello with supported_groups and no key_share".into()),
            alert_sent: Some(AlertDescription::MissingExtension),
        };
        return Verdict::Refuse(AlertDescription::MissingExtension, error);
    }
    Verdict::Pass(Some(our_max >= 0x0304 && hello.max_version >= 0x0304))
}

struct Hello {
    legacy_version: u16,
    max_version: u16,
    fallback_scsv: bool,
    supported_groups: bool,
    key_share: bool,
}

/// The facts above from a handshake message holding a whole ClientHello; `None` if it is not.
fn parse(message: &[u8]) -> Option<Hello> {
    let mut r = Reader(message);
    r.take(1)?; // msg_type
    let len = r.number(3)?;
    let mut r = Reader(r.take(len)?);
    let legacy_version = r.number(2)? as u16;
    r.take(32)?; // random
    let session_id = r.number(1)?;
    r.take(session_id)?;
    let suites_len = r.number(2)?;
    let suites = r.take(suites_len)?;
    let fallback_scsv = suites.chunks_exact(2).any(|s| u16::from_be_bytes([s[0], s[1]]) == FALLBACK_SCSV);
    let compression = r.number(1)?;
    r.take(compression)?;
    let mut max_version = legacy_version;
    let (mut supported_groups, mut key_share) = (false, false);
    if !r.0.is_empty() {
        let extensions_len = r.number(2)?;
        let mut extensions = Reader(r.take(extensions_len)?);
        while !extensions.0.is_empty() {
            let typ = extensions.number(2)? as u16;
            let len = extensions.number(2)?;
            let data = extensions.take(len)?;
            supported_groups |= typ == SUPPORTED_GROUPS;
            key_share |= typ == KEY_SHARE;
            if typ == SUPPORTED_VERSIONS {
                let mut list = Reader(data);
                let n = list.number(1)?;
                let versions = list.take(n)?;
                max_version = versions
                    .chunks_exact(2)
                    .map(|v| u16::from_be_bytes([v[0], v[1]]))
                    .filter(|v| v & 0x0f0f != 0x0a0a) // GREASE
                    .max()
                    .unwrap_or(legacy_version);
            }
        }
    }
    Some(Hello { legacy_version, max_version, fallback_scsv, supported_groups, key_share })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn number(&mut self, bytes: usize) -> Option<usize> {
        Some(self.take(bytes)?.iter().fold(0, |n, &b| n << 8 | usize::from(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record: `version`, `suites`, and a supported_versions extension if given.
    fn hello(version: u16, suites: &[u16], supported: Option<&[u16]>) -> Vec<u8> {
        hello_with(version, suites, supported, &[SUPPORTED_GROUPS, KEY_SHARE])
    }

    /// The same, with empty extensions of the types `extra` after supported_versions.
    fn hello_with(version: u16, suites: &[u16], supported: Option<&[u16]>, extra: &[u16]) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([7; 32]);
        body.push(0);
        body.extend(((suites.len() * 2) as u16).to_be_bytes());
        suites.iter().for_each(|s| body.extend(s.to_be_bytes()));
        body.extend([1, 0]);
        if let Some(versions) = supported {
            let mut ext = vec![(versions.len() * 2) as u8];
            versions.iter().for_each(|v| ext.extend(v.to_be_bytes()));
            let mut exts = SUPPORTED_VERSIONS.to_be_bytes().to_vec();
            exts.extend((ext.len() as u16).to_be_bytes());
            exts.extend(ext);
            for typ in extra {
                exts.extend(typ.to_be_bytes());
                exts.extend([0, 0]);
            }
            body.extend((exts.len() as u16).to_be_bytes());
            body.extend(exts);
        }
        let mut message = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        message.extend(body);
        let mut record = vec![22, 3, 1, (message.len() >> 8) as u8, message.len() as u8];
        record.extend(message);
        record
    }

    fn alert(v: Verdict) -> Option<AlertDescription> {
        match v {
            Verdict::Refuse(alert, _) => Some(alert),
            _ => None,
        }
    }

    #[test]
    fn ssl3_and_older_are_refused_with_protocol_version() {
        let ssl3 = hello(0x0300, &[0x1301], Some(&[0x0304]));
        assert_eq!(alert(check(&ssl3, 0x0304)), Some(AlertDescription::ProtocolVersion));
        assert_eq!(alert(check(&hello(0x0300, &[0xc02b], None), 0x0304)), Some(AlertDescription::ProtocolVersion));
        assert_eq!(alert(check(&hello(0x0303, &[0x1301], Some(&[0x0304])), 0x0304)), None);
    }

    #[test]
    fn fallback_scsv_below_our_highest_version_is_refused() {
        let fallback = hello(0x0303, &[0xc02b, FALLBACK_SCSV], None);
        assert_eq!(alert(check(&fallback, 0x0304)), Some(AlertDescription::InappropriateFallback));
        // Our highest is the client's: no downgrade happened.
        assert_eq!(alert(check(&fallback, 0x0303)), None);
        let tls13 = hello(0x0303, &[0x1301, FALLBACK_SCSV], Some(&[0x3a3a, 0x0304, 0x0303]));
        assert_eq!(alert(check(&tls13, 0x0304)), None);
    }

    #[test]
    fn tls13_supported_groups_without_key_share_is_missing_extension() {
        let tls13 = Some(&[0x0304u16, 0x0303][..]);
        let record = hello_with(0x0303, &[0x1301], tls13, &[SUPPORTED_GROUPS]);
        assert_eq!(alert(check(&record, 0x0304)), Some(AlertDescription::MissingExtension));
        // A TLS 1.2 server, or a TLS 1.2 client, is not concerned.
        assert_eq!(alert(check(&record, 0x0303)), None);
        let record = hello_with(0x0303, &[0x1301], tls13, &[KEY_SHARE]);
        assert_eq!(alert(check(&record, 0x0304)), None, "left to rustls");
        let tls12 = hello_with(0x0303, &[0xc02b], Some(&[0x0303]), &[SUPPORTED_GROUPS]);
        assert_eq!(alert(check(&tls12, 0x0304)), None);
        assert_eq!(alert(check(&hello_with(0x0303, &[0x1301], tls13, &[SUPPORTED_GROUPS, KEY_SHARE]), 0x0304)), None);
    }

    #[test]
    fn partial_or_other_input_is_left_to_rustls() {
        let record = hello(0x0300, &[0x1301], None);
        assert!(matches!(check(&record[..record.len() - 1], 0x0304), Verdict::Incomplete));
        assert!(matches!(check(&[21, 3, 3, 0, 2, 2, 40], 0x0304), Verdict::Pass(_)));
        assert!(matches!(check(&[22, 3, 1, 0, 3, 1, 0, 9], 0x0304), Verdict::Pass(_)));
    }
}
