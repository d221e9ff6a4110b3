//! Checks of a client's first ClientHello that RFCs require of every server and rustls 0.23
//! does not make, made by the core before rustls reads any of the hello (they decide nothing
//! rustls decides; they only refuse):
//!
//! - RFC 8446 appendix D.5: a ClientHello whose legacy_version is 0x0300 (SSL 3.0) or less ends
//!   the handshake with protocol_version.
//! - RFC 7507: TLS_FALLBACK_SCSV from a client whose highest version is below ours means an
//!   attacker forced a fallback: inappropriate_fallback.
//! - RFC 8446 section 9.2: a TLS 1.3 ClientHello with supported_groups and no key_share gets
//!   missing_extension (rustls answers handshake_failure). The reverse, key_share without
//!   supported_groups, is left to rustls: no group in common, as BoringSSL answers it too.
//!
//! Record framing is not part of the transcript: an attacker may split a ClientHello over any
//! number of records at any byte, so the checks run on the hello reassembled from every record
//! that carries it, never on one record. rustls joins handshake fragments in place in the input
//! (its unbuffered deframer moves bytes over the record headers), so the server's input is held
//! back from rustls until the whole hello is here and checked ([`Verdict::Incomplete`]). Only
//! supported_versions makes a hello TLS 1.3 (RFC 8446 section 4.2.1); a legacy_version above
//! TLS 1.2 without it is a TLS 1.2 hello (RFC 5246 appendix E).

use crate::error::{AlertDescription, Error, ProtocolError};

const FALLBACK_SCSV: u16 = 0x5600;
const SUPPORTED_VERSIONS: u16 = 43;
const SUPPORTED_GROUPS: u16 = 10;
const KEY_SHARE: u16 = 51;
const EXTENDED_MASTER_SECRET: u16 = 23;
const TLS13: u16 = 0x0304;
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const CLIENT_HELLO: u8 = 1;
/// The largest handshake message rustls takes (its deframer's limit): a longer hello is left to
/// rustls to refuse (decode_error) without being gathered here.
const MAX_HELLO: usize = 0xffff;
/// The largest plaintext record (RFC 8446 section 5.1).
const MAX_RECORD: usize = 16384;

/// What to do with a server's first input.
pub(crate) enum Verdict {
    /// Not the whole ClientHello yet: give rustls nothing, wait for more input.
    Incomplete,
    /// rustls may read it; what the hello offers, `None` if the input is not a ClientHello in
    /// handshake records (rustls refuses it).
    Pass(Option<Offered>),
    /// Refuse with this alert and error.
    Refuse(AlertDescription, Error),
}

/// What a client's hello decides of the handshake, before rustls reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Offered {
    /// The handshake will be TLS 1.3: the client offers it, and so do we.
    pub tls13: bool,
    /// The client asked for the extended master secret (RFC 7627), which rustls then uses in
    /// TLS 1.2.
    pub ems: bool,
}

/// Gathers a server's first ClientHello from the records as they arrive, then checks it.
/// While it answers [`Verdict::Incomplete`] nothing of the input reaches rustls, so the records
/// already read stay as received and are not read again.
#[derive(Default)]
pub(crate) struct Gatherer {
    /// Input bytes read so far: whole records.
    read: usize,
    /// Their handshake payloads, joined.
    message: Vec<u8>,
    /// Empty handshake records and warning alerts among them.
    empty: usize,
}

/// Empty records and warning alerts passed over before the hello (rustls refuses more than 32
/// empty records in a row, and more than a few warnings).
const MAX_EMPTY_RECORDS: usize = 32;

impl Gatherer {
    /// Reads the records of `input` (the server's input from its first byte) not read before
    /// and, once they hold the whole ClientHello, checks it against `our_max` (the wire value
    /// of our highest enabled version).
    pub(crate) fn check(&mut self, input: &[u8], our_max: u16) -> Verdict {
        let message = match self.gather(input) {
            Gathered::Incomplete => return Verdict::Incomplete,
            Gathered::NotAHello => return Verdict::Pass(None),
            Gathered::Hello(message) => message,
        };
        check_hello(message, our_max)
    }

    /// Joins handshake payloads until they hold the first handshake message. Bounded: the
    /// message is at most [`MAX_HELLO`] bytes, and so the input held back is at most one
    /// 6-byte record per byte of it, plus [`MAX_EMPTY_RECORDS`] empty ones.
    fn gather(&mut self, input: &[u8]) -> Gathered<'_> {
        let mut unread = input.get(self.read..).unwrap_or_default();
        let whole = loop {
            if let Some(&[typ, a, b, c]) = self.message.get(..4) {
                let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                if typ != CLIENT_HELLO || len > MAX_HELLO {
                    return Gathered::NotAHello;
                }
                if self.message.len() >= 4 + len {
                    break 4 + len;
                }
            }
            // A header is judged as soon as it is here: what is not a handshake record of a
            // length TLS allows (an HTTP request, say) goes to rustls at once.
            let Some((&[typ, _, _, len_hi, len_lo], rest)) = unread.split_first_chunk::<5>() else {
                return Gathered::Incomplete;
            };
            let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
            if !matches!(typ, HANDSHAKE | ALERT) || len > MAX_RECORD {
                return Gathered::NotAHello;
            }
            let Some((payload, rest)) = rest.split_at_checked(len) else { return Gathered::Incomplete };
            unread = rest;
            self.read += 5 + len;
            if typ == ALERT {
                // Alerts are not in the transcript, and rustls passes over warnings before a
                // version is agreed: they must not let the hello past the checks. Anything
                // else (a fatal alert, a malformed one) ends the connection in rustls.
                if payload.first() != Some(&1) || payload.len() != 2 {
                    return Gathered::NotAHello;
                }
                self.empty += 1;
                if self.empty > MAX_EMPTY_RECORDS {
                    return Gathered::NotAHello;
                }
                continue;
            }
            if payload.is_empty() {
                self.empty += 1;
                if self.empty > MAX_EMPTY_RECORDS {
                    return Gathered::NotAHello;
                }
            }
            self.message.extend_from_slice(payload);
        };
        // The loop ends only once the message holds `whole` bytes.
        self.message.get(..whole).map_or(Gathered::Incomplete, Gathered::Hello)
    }
}

/// The checks of the module documentation, on a whole ClientHello message.
fn check_hello(message: &[u8], our_max: u16) -> Verdict {
    let Some(hello) = parse(message) else { return Verdict::Pass(None) };
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
    let tls13 = our_max >= TLS13 && hello.offers_tls13;
    if tls13 && hello.supported_groups && !hello.key_share {
        let error = Error::Protocol {
            error: ProtocolError::Misbehaved("a TLS 1.3 ClientHello with supported_groups and no key_share".into()),
            alert_sent: Some(AlertDescription::MissingExtension),
        };
        return Verdict::Refuse(AlertDescription::MissingExtension, error);
    }
    Verdict::Pass(Some(Offered { tls13, ems: hello.ems }))
}

/// A client's read of the ServerHello at the front of `input` (the server's first record): whether
/// it acknowledges the extended master secret (RFC 7627), which rustls then uses in TLS 1.2.
/// `None` if the first record is not a whole ServerHello (then nothing is known, and TLS 1.2
/// exporters stay refused).
pub(crate) fn server_hello_ems(input: &[u8]) -> Option<bool> {
    let (&[typ, _, _, len_hi, len_lo], rest) = input.split_first_chunk::<5>()?;
    let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    let payload = rest.get(..len).filter(|_| typ == HANDSHAKE)?;
    let mut r = Reader(payload);
    if r.number(1)? != 2 {
        return None; // not a ServerHello
    }
    let len = r.number(3)?;
    let mut r = Reader(r.take(len)?);
    r.take(2 + 32)?; // legacy_version, random
    let session_id = r.number(1)?;
    r.take(session_id)?;
    r.take(2 + 1)?; // cipher_suite, legacy_compression_method
    if r.0.is_empty() {
        return Some(false);
    }
    let extensions_len = r.number(2)?;
    let mut extensions = Reader(r.take(extensions_len)?);
    let mut ems = false;
    while !extensions.0.is_empty() {
        let typ = extensions.number(2)? as u16;
        let len = extensions.number(2)?;
        extensions.take(len)?;
        ems |= typ == EXTENDED_MASTER_SECRET;
    }
    Some(ems)
}

/// The first handshake message gathered from the records at the front of the input.
enum Gathered<'a> {
    /// More records are needed.
    Incomplete,
    /// The input does not start with a ClientHello of at most [`MAX_HELLO`] bytes carried in
    /// handshake records (another record type first, another message, one too long, too many
    /// empty records): rustls refuses it.
    NotAHello,
    /// The whole ClientHello message (type, length and body).
    Hello(&'a [u8]),
}

struct Hello {
    legacy_version: u16,
    /// The client's highest version: supported_versions' highest (GREASE aside), or without
    /// that extension legacy_version.
    max_version: u16,
    /// supported_versions lists TLS 1.3: only that makes a hello TLS 1.3.
    offers_tls13: bool,
    fallback_scsv: bool,
    supported_groups: bool,
    key_share: bool,
    ems: bool,
}

/// The facts above from a whole ClientHello message; `None` if it does not parse (rustls
/// refuses it).
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
    let fallback_scsv = suites.as_chunks::<2>().0.iter().any(|&s| u16::from_be_bytes(s) == FALLBACK_SCSV);
    let compression = r.number(1)?;
    r.take(compression)?;
    let mut max_version = legacy_version;
    let (mut supported_groups, mut key_share, mut offers_tls13, mut ems) = (false, false, false, false);
    if !r.0.is_empty() {
        let extensions_len = r.number(2)?;
        let mut extensions = Reader(r.take(extensions_len)?);
        while !extensions.0.is_empty() {
            let typ = extensions.number(2)? as u16;
            let len = extensions.number(2)?;
            let data = extensions.take(len)?;
            supported_groups |= typ == SUPPORTED_GROUPS;
            key_share |= typ == KEY_SHARE;
            ems |= typ == EXTENDED_MASTER_SECRET;
            if typ == SUPPORTED_VERSIONS {
                let mut list = Reader(data);
                let n = list.number(1)?;
                let versions = list.take(n)?;
                let versions = || versions.as_chunks::<2>().0.iter().map(|&v| u16::from_be_bytes(v));
                offers_tls13 = versions().any(|v| v == TLS13);
                max_version = versions()
                    .filter(|v| v & 0x0f0f != 0x0a0a) // GREASE
                    .max()
                    .unwrap_or(legacy_version);
            }
        }
    }
    Some(Hello { legacy_version, max_version, offers_tls13, fallback_scsv, supported_groups, key_share, ems })
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

    fn check(input: &[u8], our_max: u16) -> Verdict {
        Gatherer::default().check(input, our_max)
    }

    /// A ClientHello record: `version`, `suites`, and a supported_versions extension if given.
    fn hello(version: u16, suites: &[u16], supported: Option<&[u16]>) -> Vec<u8> {
        hello_with(version, suites, supported, &[SUPPORTED_GROUPS, KEY_SHARE])
    }

    /// The same, with empty extensions of the types `extra` after supported_versions.
    fn hello_with(version: u16, suites: &[u16], supported: Option<&[u16]>, extra: &[u16]) -> Vec<u8> {
        records(&message(version, suites, supported, extra), &[])
    }

    /// A ClientHello handshake message (type, length, body).
    fn message(version: u16, suites: &[u16], supported: Option<&[u16]>, extra: &[u16]) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([7; 32]);
        body.push(0);
        body.extend(((suites.len() * 2) as u16).to_be_bytes());
        suites.iter().for_each(|s| body.extend(s.to_be_bytes()));
        body.extend([1, 0]);
        let mut exts = Vec::new();
        if let Some(versions) = supported {
            let mut ext = vec![(versions.len() * 2) as u8];
            versions.iter().for_each(|v| ext.extend(v.to_be_bytes()));
            exts.extend(SUPPORTED_VERSIONS.to_be_bytes());
            exts.extend((ext.len() as u16).to_be_bytes());
            exts.extend(ext);
        }
        for typ in extra {
            exts.extend(typ.to_be_bytes());
            exts.extend([0, 0]);
        }
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut message = vec![1, (body.len() >> 16) as u8, (body.len() >> 8) as u8, body.len() as u8];
        message.extend(body);
        message
    }

    /// `message` in handshake records, split at the offsets `cuts` (ascending).
    fn records(message: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut from = 0;
        for &to in cuts.iter().chain([message.len()].iter()) {
            let piece = &message[from..to];
            out.extend([HANDSHAKE, 3, 1]);
            out.extend((piece.len() as u16).to_be_bytes());
            out.extend(piece);
            from = to;
        }
        out
    }

    fn alert(v: Verdict) -> Option<AlertDescription> {
        match v {
            Verdict::Refuse(alert, _) => Some(alert),
            _ => None,
        }
    }

    fn tls13(v: Verdict) -> Option<bool> {
        match v {
            Verdict::Pass(offered) => offered.map(|o| o.tls13),
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

    /// Only supported_versions makes a hello TLS 1.3 (RFC 8446 section 4.2.1; RFC 5246 appendix
    /// E: a higher legacy_version is a TLS 1.2 hello): tlsfuzzer's test-version-numbers.
    #[test]
    fn a_high_legacy_version_without_supported_versions_is_tls12() {
        for version in [0x0304, 0x0401, 0x0603, 0xfefe] {
            let record = hello_with(version, &[0xc02f], None, &[SUPPORTED_GROUPS]);
            assert_eq!(tls13(check(&record, 0x0304)), Some(false), "{version:#06x}");
        }
        // TLS 1.8 and 1.2 offered: TLS 1.2 (tlsfuzzer's "fallback from TLS 1.8 to 1.2").
        let record = hello_with(0x0303, &[0xc02f], Some(&[0x0309, 0x0303]), &[SUPPORTED_GROUPS]);
        assert_eq!(tls13(check(&record, 0x0304)), Some(false));
        assert_eq!(alert(check(&record, 0x0304)), None);
    }

    /// The extended master secret (RFC 7627) as each side reads it: a server from the
    /// ClientHello's request (rustls's server then always uses it), a client from the
    /// ServerHello's acknowledgement; TLS 1.2 exporters need it.
    #[test]
    fn the_extended_master_secret_is_read_from_the_hello_that_decides_it() {
        let ems = |extra: &[u16]| match check(&hello_with(0x0303, &[0xc02b], None, extra), 0x0304) {
            Verdict::Pass(Some(offered)) => offered.ems,
            _ => panic!("not passed"),
        };
        assert!(ems(&[EXTENDED_MASTER_SECRET]));
        assert!(!ems(&[SUPPORTED_GROUPS]));
        let server_hello = |extensions: &[u8]| {
            let mut body = vec![3, 3];
            body.extend([9; 32]);
            body.extend([0, 0xc0, 0x2b, 0]);
            body.extend(extensions);
            let mut message = vec![2, 0, (body.len() >> 8) as u8, body.len() as u8];
            message.extend(body);
            records(&message, &[])
        };
        assert_eq!(server_hello_ems(&server_hello(&[0, 4, 0, 23, 0, 0])), Some(true));
        assert_eq!(server_hello_ems(&server_hello(&[0, 4, 0xff, 1, 0, 0])), Some(false));
        assert_eq!(server_hello_ems(&server_hello(&[])), Some(false));
        let whole = server_hello(&[0, 4, 0, 23, 0, 0]);
        assert_eq!(server_hello_ems(&whole[..whole.len() - 1]), None, "not whole: unknown");
        assert_eq!(server_hello_ems(&[21, 3, 3, 0, 2, 2, 40]), None);
    }

    /// Record framing is not in the transcript: every split of the hello over records, at every
    /// byte, gets the verdict of the hello in one record; and so do one-byte records.
    #[test]
    fn every_framing_of_a_hello_gets_the_same_verdict() {
        let cases: [(Vec<u8>, Option<AlertDescription>); 4] = [
            (message(0x0303, &[0xc02b, FALLBACK_SCSV], None, &[]), Some(AlertDescription::InappropriateFallback)),
            (message(0x0300, &[0x1301], Some(&[0x0304]), &[KEY_SHARE]), Some(AlertDescription::ProtocolVersion)),
            (
                message(0x0303, &[0x1301], Some(&[0x0304]), &[SUPPORTED_GROUPS]),
                Some(AlertDescription::MissingExtension),
            ),
            (message(0x0303, &[0x1301], Some(&[0x0304]), &[SUPPORTED_GROUPS, KEY_SHARE]), None),
        ];
        for (message, expected) in &cases {
            for cut in 1..message.len() {
                let input = records(message, &[cut]);
                assert_eq!(alert(check(&input, 0x0304)), *expected, "split at {cut}");
            }
            let bytes: Vec<usize> = (1..message.len()).collect();
            let input = records(message, &bytes);
            assert_eq!(alert(check(&input, 0x0304)), *expected, "one byte per record");
            // Warning alerts before the hello or between its records (not in the transcript,
            // passed over by rustls) change nothing.
            let warnings: &[&[u8]] = &[&[21, 3, 3, 0, 2, 1, 90], &[21, 3, 0, 0, 2, 1, 0], &[21, 3, 1, 0, 2, 1, 100]];
            for warning in warnings {
                let before = [*warning, &records(message, &[])].concat();
                assert_eq!(alert(check(&before, 0x0304)), *expected, "after {warning:?}");
                let mut between = records(message, &[message.len() / 2]);
                let second = 5 + message.len() / 2;
                between.splice(second..second, warning.iter().copied());
                assert_eq!(alert(check(&between, 0x0304)), *expected, "{warning:?} inside");
            }
            // Fed a byte at a time, the same gatherer answers Incomplete until the last byte.
            let mut gatherer = Gatherer::default();
            for end in 1..input.len() {
                assert!(matches!(gatherer.check(&input[..end], 0x0304), Verdict::Incomplete), "at {end}");
            }
            assert_eq!(alert(gatherer.check(&input, 0x0304)), *expected);
        }
    }

    /// A hello of many extensions is larger than a record: it is checked whole, after its last
    /// record (tlsfuzzer's test-tls13-large-number-of-extensions).
    #[test]
    fn a_hello_larger_than_a_record_is_checked_whole() {
        let extra: Vec<u16> = (0x1000..0x1000 + 4100).collect();
        let offered = Some(&[0x0304u16, 0x0303][..]);
        let message = message(0x0303, &[0x1301], offered, &[&extra[..], &[SUPPORTED_GROUPS, KEY_SHARE]].concat());
        assert!(message.len() > 16384);
        let input = records(&message, &[16384]);
        assert!(matches!(check(&input[..16389], 0x0304), Verdict::Incomplete));
        assert_eq!(tls13(check(&input, 0x0304)), Some(true));
        // Without key_share, in the last record: missing_extension all the same.
        let message = self::message(0x0303, &[0x1301], offered, &[&extra[..], &[SUPPORTED_GROUPS]].concat());
        assert_eq!(alert(check(&records(&message, &[16384]), 0x0304)), Some(AlertDescription::MissingExtension));
    }

    #[test]
    fn what_is_not_a_hello_in_handshake_records_is_left_to_rustls() {
        let record = hello(0x0300, &[0x1301], None);
        assert!(matches!(check(&record[..record.len() - 1], 0x0304), Verdict::Incomplete));
        assert!(matches!(check(&[21, 3, 3, 0, 2, 2, 40], 0x0304), Verdict::Pass(None)));
        assert!(matches!(check(&[22, 3, 1, 0, 4, 2, 0, 0, 0], 0x0304), Verdict::Pass(None)), "not a ClientHello");
        assert!(matches!(check(&[22, 3, 1, 0, 4, 1, 1, 0, 0], 0x0304), Verdict::Pass(None)), "over 64 KiB");
        assert!(matches!(check(b"GET / HTTP/1.1\r\n", 0x0304), Verdict::Pass(None)));
        // A record of another type inside the hello.
        let mut input = records(&message(0x0300, &[0x1301], None, &[]), &[10]);
        input.splice(15..15, [20, 3, 3, 0, 1, 1]);
        assert!(matches!(check(&input, 0x0304), Verdict::Pass(None)));
        // Empty records: a few are gathered over, many are rustls's to refuse.
        let message = message(0x0300, &[0x1301], None, &[]);
        let empties = |n: usize| [[22, 3, 1, 0, 0].repeat(n), records(&message, &[])].concat();
        assert_eq!(alert(check(&empties(MAX_EMPTY_RECORDS), 0x0304)), Some(AlertDescription::ProtocolVersion));
        assert!(matches!(check(&empties(MAX_EMPTY_RECORDS + 1), 0x0304), Verdict::Pass(None)));
    }
}
