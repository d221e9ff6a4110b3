//! Protocol tests on an in-memory client/server pair (model: quinn-proto's `Pair`).

use std::sync::{Arc, Mutex};

use crate::*;

const CA: &[u8] = include_bytes!("../testdata/ca.pem");
const OTHER_CA: &[u8] = include_bytes!("../testdata/other-ca.pem");
const ECDSA: (&[u8], &[u8]) =
    (include_bytes!("../testdata/server-ecdsa.pem"), include_bytes!("../testdata/server-ecdsa.key"));
const RSA: (&[u8], &[u8]) =
    (include_bytes!("../testdata/server-rsa.pem"), include_bytes!("../testdata/server-rsa.key"));
const ED25519: (&[u8], &[u8]) =
    (include_bytes!("../testdata/server-ed25519.pem"), include_bytes!("../testdata/server-ed25519.key"));
const EXPIRED: (&[u8], &[u8]) = (include_bytes!("../testdata/expired.pem"), include_bytes!("../testdata/expired.key"));
const CLIENT: (&[u8], &[u8]) = (include_bytes!("../testdata/client.pem"), include_bytes!("../testdata/client.key"));

type Trace = Arc<Mutex<Vec<OwnedMessage>>>;

/// The tests' clock: 2030-01-01, inside the committed test certificates' validity (the CA's ends
/// in 2036), so that the tests do not depend on the day they run.
#[derive(Debug)]
struct TestClock(u64);

impl TimeProvider for TestClock {
    fn current_time(&self) -> Option<pki_types::UnixTime> {
        Some(pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(self.0)))
    }
}

fn test_clock() -> Arc<TestClock> {
    Arc::new(TestClock(1_893_456_000))
}

fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.clock(test_clock());
    c.clock(test_clock());
    c.add_ca(CA).unwrap();
    c
}

fn server_config(identity: (&[u8], &[u8])) -> ServerConfig {
    let mut s = ServerConfig::new(identity.0, identity.1).unwrap();
    s.clock(test_clock());
    s
}

fn recorder() -> (Trace, Callback) {
    let trace: Trace = Arc::default();
    let sink = trace.clone();
    (trace, Box::new(move |m: &Message<'_>| sink.lock().unwrap().push(m.to_owned())))
}

struct Pair {
    client: Connection,
    server: Connection,
    /// Feed in chunks of this many bytes (tests chunking independence).
    chunk: usize,
}

impl Pair {
    fn new(client: &ClientConfig, server: &ServerConfig) -> Self {
        Self {
            client: Connection::client(&client.build().unwrap(), "localhost").unwrap(),
            server: Connection::server(&server.build().unwrap()).unwrap(),
            chunk: usize::MAX,
        }
    }

    /// Moves pending bytes both ways; true if any moved.
    fn transfer(&mut self) -> bool {
        let a = self.client.take_output();
        let b = self.server.take_output();
        for c in a.chunks(self.chunk.min(a.len().max(1))) {
            self.server.feed(c).unwrap();
        }
        for c in b.chunks(self.chunk.min(b.len().max(1))) {
            self.client.feed(c).unwrap();
        }
        !a.is_empty() || !b.is_empty()
    }

    fn handshake(&mut self) -> Result<(), Error> {
        for _ in 0..64 {
            let c = self.client.do_handshake()?;
            let s = self.server.do_handshake()?;
            let moved = self.transfer();
            if c == Status::Done(()) && s == Status::Done(()) && !moved {
                return Ok(());
            }
        }
        panic!("handshake did not finish");
    }

    /// Reads everything currently readable on `server` (true) or `client` (false).
    fn read_all(&mut self, on_server: bool) -> Vec<u8> {
        let conn = if on_server { &mut self.server } else { &mut self.client };
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(Status::Done(n)) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
}

#[test]
fn tls13_and_tls12_handshakes_with_each_server_key_type() {
    for identity in [ECDSA, RSA, ED25519] {
        for max in [Version::Tls13, Version::Tls12] {
            let mut client = client_config();
            client.versions(Version::Tls12, max);
            let mut pair = Pair::new(&client, &server_config(identity));
            pair.handshake().unwrap();
            let info = pair.client.info().unwrap();
            assert_eq!(info.version, max);
            assert_eq!(info.peer_certificates.len(), 1);
            if max == Version::Tls13 {
                assert_eq!(info.group.as_deref(), Some("X25519MLKEM768"));
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_result() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.chunk = 1;
    pair.handshake().unwrap();
    assert_eq!(pair.client.write(b"ping").unwrap(), Status::Done(4));
    pair.transfer();
    assert_eq!(pair.read_all(true), b"ping");
}

#[test]
fn every_suite_and_group_negotiates() {
    for suite in tlswire_crypto::ALL_CIPHER_SUITES {
        let name = format!("{:?}", suite.suite());
        let tls13 = name.starts_with("TLS13");
        let identity = if name.contains("RSA") { RSA } else { ECDSA };
        let mut client = client_config();
        client.cipher_suites(&[name.as_str()]).unwrap();
        if !tls13 {
            client.versions(Version::Tls12, Version::Tls12);
        }
        let mut pair = Pair::new(&client, &server_config(identity));
        pair.handshake().unwrap();
        assert_eq!(pair.client.info().unwrap().cipher_suite, name.replace("TLS13_", "TLS_"));
    }
    for group in ["X25519MLKEM768", "X25519", "P-256", "P-384"] {
        let mut client = client_config();
        client.groups(&[group]).unwrap();
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.handshake().unwrap();
        let got = pair.client.info().unwrap().group.unwrap();
        let expect = match group {
            "P-256" => "secp256r1",
            "P-384" => "secp384r1",
            g => g,
        };
        assert_eq!(got, expect);
    }
}

#[test]
fn hello_retry_request_is_reported() {
    let mut server = server_config(ECDSA);
    server.groups(&["P-256"]).unwrap();
    let mut pair = Pair::new(&client_config(), &server);
    pair.handshake().unwrap();
    assert!(pair.client.info().unwrap().hello_retry_request);
}

#[test]
fn megabyte_round_trip_is_byte_identical() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + i / 251) as u8).collect();
    assert_eq!(pair.client.write(&data).unwrap(), Status::Done(data.len()));
    // Records are at most 16 KiB of plaintext: 64 full records for 1 MiB.
    let wire = pair.client.take_output();
    let mut records = 0;
    let mut rest = &wire[..];
    while rest.len() >= 5 {
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        assert!(len <= MAX_RECORD_PLAINTEXT + 256);
        records += 1;
        rest = &rest[5 + len..];
    }
    assert_eq!(records, 64);
    pair.server.feed(&wire).unwrap();
    assert_eq!(pair.read_all(true), data);
}

#[test]
fn a_large_buffered_input_reads_whole_through_the_observer_and_read_available() {
    // 4 MiB fed at once while the observer steps record by record: every record is reported,
    // the data comes out intact, and `read_available` hands it over without a size limit.
    let (trace, callback) = recorder();
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.server.set_msg_callback(callback).unwrap();
    pair.handshake().unwrap();
    trace.lock().unwrap().clear();
    let data: Vec<u8> = (0..4 << 20).map(|i| (i * 31 + i / 4099) as u8).collect();
    assert_eq!(pair.client.write(&data).unwrap(), Status::Done(data.len()));
    pair.server.feed(&pair.client.take_output()).unwrap();
    let mut got = Vec::new();
    loop {
        match pair.server.read_available().unwrap() {
            Status::Done(chunk) => {
                assert!(!chunk.is_empty());
                got.extend_from_slice(chunk);
            }
            Status::WantRead => break,
            Status::WantWrite => panic!("nothing to send"),
        }
    }
    assert_eq!(got, data);
    let headers = trace.lock().unwrap().iter().filter(|m| m.content_type == RECORD_HEADER).count();
    assert_eq!(headers, (4 << 20) / MAX_RECORD_PLAINTEXT);
    // `read` into a small buffer after `read_available` keeps the rest for the next call.
    assert_eq!(pair.client.write(b"abcdef").unwrap(), Status::Done(6));
    pair.server.feed(&pair.client.take_output()).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(pair.server.read(&mut buf).unwrap(), Status::Done(4));
    assert_eq!(&buf, b"abcd");
    assert_eq!(pair.server.read_available().unwrap(), Status::Done(&b"ef"[..]));
}

#[test]
fn whole_writes_wait_for_room_and_partial_writes_take_whole_records() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.client.set_output_limit(20_000);
    let data = vec![0x5a; 100_000];
    assert_eq!(pair.client.write(&data).unwrap(), Status::Done(100_000));
    // Above the limit now: the retry is refused whole, nothing consumed.
    assert_eq!(pair.client.write(&data).unwrap(), Status::WantWrite);
    pair.transfer();
    assert_eq!(pair.client.write(&data).unwrap(), Status::Done(100_000));
    pair.transfer();
    pair.client.set_partial_writes(true);
    match pair.client.write(&data).unwrap() {
        Status::Done(n) => assert!(n % MAX_RECORD_PLAINTEXT == 0 && n < data.len(), "took {n}"),
        other => panic!("{other:?}"),
    }
    pair.transfer();
    assert_eq!(pair.read_all(true).len(), 200_000 + 2 * MAX_RECORD_PLAINTEXT);
}

#[test]
fn write_before_handshake_drives_it() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    let mut sent = None;
    for _ in 0..16 {
        match pair.client.write(b"early").unwrap() {
            Status::Done(n) => {
                sent = Some(n);
                break;
            }
            _ => {
                let _ = pair.server.do_handshake().unwrap();
                pair.transfer();
            }
        }
    }
    assert_eq!(sent, Some(5));
    pair.transfer();
    let _ = pair.server.do_handshake().unwrap();
    assert_eq!(pair.read_all(true), b"early");
}

#[test]
fn close_notify_is_clean_eof_and_bare_eof_is_truncation() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(b"bye").unwrap();
    pair.server.close().unwrap();
    pair.transfer();
    let mut buf = [0u8; 16];
    assert_eq!(pair.client.read(&mut buf).unwrap(), Status::Done(3));
    assert_eq!(pair.client.read(&mut buf).unwrap(), Status::Done(0));
    assert!(pair.client.peer_closed());
    assert_eq!(pair.server.write(b"x"), Err(Error::Misuse(Misuse::WriteAfterClose)));

    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(b"partial").unwrap();
    pair.transfer();
    pair.client.feed_eof();
    assert_eq!(pair.client.read(&mut buf).unwrap(), Status::Done(7));
    assert_eq!(pair.client.read(&mut buf), Err(Error::Transport(TransportError::Truncated)));
    // Sticky.
    assert_eq!(pair.client.read(&mut buf), Err(Error::Transport(TransportError::Truncated)));
}

#[test]
fn eof_mid_record_and_mid_handshake_are_distinct() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(b"0123456789").unwrap();
    let wire = pair.server.take_output();
    pair.client.feed(&wire[..wire.len() - 3]).unwrap();
    pair.client.feed_eof();
    let mut buf = [0u8; 16];
    assert_eq!(pair.client.read(&mut buf), Err(Error::Transport(TransportError::ClosedMidRecord)));

    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    assert_eq!(pair.client.do_handshake().unwrap(), Status::WantWrite);
    pair.client.take_output();
    pair.client.feed_eof();
    assert_eq!(pair.client.do_handshake(), Err(Error::Transport(TransportError::ClosedDuringHandshake)));
}

fn handshake_error(client: &ClientConfig, server: &ServerConfig) -> (Error, Option<Error>) {
    let mut pair = Pair::new(client, server);
    for _ in 0..16 {
        if let Err(e) = pair.client.do_handshake() {
            // Deliver our alert to the server: it must see it as an alert, not garbage.
            pair.server.feed(&pair.client.take_output()).unwrap();
            return (e, pair.server.do_handshake().err());
        }
        let _ = pair.server.do_handshake();
        pair.transfer();
    }
    panic!("handshake did not fail");
}

#[test]
fn certificate_failures_are_typed_with_the_alert_sent() {
    let server = server_config(ECDSA);
    let mut unknown = ClientConfig::new();
    unknown.clock(test_clock());
    unknown.add_ca(OTHER_CA).unwrap();
    let (err, server_err) = handshake_error(&unknown, &server);
    assert_eq!(err.code(), "CERT_UNKNOWN_ISSUER");
    assert_eq!(err.alert_sent(), Some(AlertDescription::UnknownCA));
    assert_eq!(server_err, Some(Error::AlertReceived(AlertDescription::UnknownCA)));

    let (err, _) = handshake_error(&client_config(), &server_config(EXPIRED));
    assert_eq!(err.code(), "CERT_EXPIRED");
    assert_eq!(err.alert_sent(), Some(AlertDescription::CertificateExpired));

    let built = client_config().build().unwrap();
    let mut pair = Pair::new(&client_config(), &server);
    pair.client = Connection::client(&built, "not-localhost.example").unwrap();
    let err = loop {
        if let Err(e) = pair.client.do_handshake() {
            break e;
        }
        let _ = pair.server.do_handshake();
        pair.transfer();
    };
    assert_eq!(err.code(), "CERT_HOSTNAME_MISMATCH");
    assert_eq!(err.alert_sent(), Some(AlertDescription::BadCertificate));
}

#[test]
fn pins_match_and_mismatch() {
    let leaf = certificates_from(ECDSA.0).unwrap().remove(0);
    let pin = spki_sha256(&leaf).unwrap();
    let mut ok = client_config();
    ok.pin_spki_sha256(pin);
    Pair::new(&ok, &server_config(ECDSA)).handshake().unwrap();
    let mut bad = client_config();
    bad.pin_spki_sha256([0u8; 32]);
    let (err, _) = handshake_error(&bad, &server_config(ECDSA));
    assert_eq!(err.code(), "CERT_PIN_MISMATCH");
}

/// A server that presents its own certificate (its key signs the handshake) and appends the
/// pinned server's public certificate as if it were an intermediate: the pinned key vouches for
/// nothing on that chain (the class of OkHttp's CVE-2016-2402).
#[test]
fn a_pinned_certificate_appended_to_another_chain_does_not_satisfy_the_pin() {
    let pinned = spki_sha256(&certificates_from(ECDSA.0).unwrap()[0]).unwrap();
    let appended = |leaf: (&[u8], &[u8])| {
        let chain = [leaf.0, ECDSA.0].concat();
        let mut s = ServerConfig::new(&chain, leaf.1).unwrap();
        s.clock(test_clock());
        s
    };
    // Verification on: a certificate from a trusted CA (a mis-issued one, say) plus the pinned one.
    let mut verified = client_config();
    verified.pin_spki_sha256(pinned);
    let (err, _) = handshake_error(&verified, &appended(RSA));
    assert_eq!(err.code(), "CERT_PIN_MISMATCH", "{err}");
    assert_eq!(err.alert_sent(), Some(AlertDescription::CertificateUnknown));
    // Verification off: only the leaf's key proves anything.
    let mut unverified = ClientConfig::new();
    unverified.clock(test_clock());
    unverified.dangerously_disable_verification().pin_spki_sha256(pinned);
    let (err, _) = handshake_error(&unverified, &appended(EXPIRED));
    assert_eq!(err.code(), "CERT_PIN_MISMATCH", "{err}");
    // The pinned server itself still passes, with verification on and off.
    Pair::new(&verified, &server_config(ECDSA)).handshake().unwrap();
    Pair::new(&unverified, &server_config(ECDSA)).handshake().unwrap();
}

/// With verification on, a pin may name any key on the verified path: the leaf's, or the trust
/// anchor's (a CA pin), but not a key the path does not use.
#[test]
fn pins_match_keys_on_the_verified_path_including_the_anchor() {
    let ca_pin = spki_sha256(&certificates_from(CA).unwrap()[0]).unwrap();
    let mut anchored = client_config();
    anchored.pin_spki_sha256(ca_pin);
    Pair::new(&anchored, &server_config(ECDSA)).handshake().unwrap();
    Pair::new(&anchored, &server_config(RSA)).handshake().unwrap();
    // The same CA given as a trust anchor (no certificate) pins the same.
    let mut by_anchor = ClientConfig::new();
    by_anchor.clock(test_clock());
    let ca = certificates_from(CA).unwrap().remove(0);
    let anchor = webpki::anchor_from_trusted_cert(&ca).unwrap();
    by_anchor.add_trust_anchor(&anchor.subject, &anchor.subject_public_key_info, None).pin_spki_sha256(ca_pin);
    Pair::new(&by_anchor, &server_config(ECDSA)).handshake().unwrap();
    // With verification off, a CA pin proves nothing: only the leaf is pinned then.
    let mut unverified = ClientConfig::new();
    unverified.clock(test_clock());
    unverified.dangerously_disable_verification().pin_spki_sha256(ca_pin);
    let (err, _) = handshake_error(&unverified, &server_config(ECDSA));
    assert_eq!(err.code(), "CERT_PIN_MISMATCH", "{err}");
}

#[test]
fn dangerous_no_verify_accepts_unknown_ca() {
    let mut c = ClientConfig::new();
    c.clock(test_clock());
    c.dangerously_disable_verification();
    Pair::new(&c, &server_config(EXPIRED)).handshake().unwrap();
}

#[test]
fn client_auth_required_optional_and_missing() {
    let mut server = server_config(ECDSA);
    server.client_auth(ClientAuth::Required, CA).unwrap();
    let mut with_cert = client_config();
    with_cert.client_auth(CLIENT.0, CLIENT.1).unwrap();
    let mut pair = Pair::new(&with_cert, &server);
    pair.handshake().unwrap();
    assert_eq!(pair.server.info().unwrap().peer_certificates.len(), 1);

    // TLS 1.3 names certificate_required; TLS 1.2 has no such alert: handshake_failure.
    for (version, alert) in
        [(Version::Tls13, AlertDescription::CertificateRequired), (Version::Tls12, AlertDescription::HandshakeFailure)]
    {
        let mut without = client_config();
        without.versions(version, version);
        let mut pair = Pair::new(&without, &server);
        let err = loop {
            let _ = pair.client.do_handshake();
            if let Err(e) = pair.server.do_handshake() {
                break e;
            }
            pair.transfer();
        };
        assert_eq!((err.code(), err.alert_sent()), ("CERT_MISSING", Some(alert)), "{version:?}");
        pair.client.feed(&pair.server.take_output()).unwrap();
        assert_eq!(pair.client.do_handshake(), Err(Error::AlertReceived(alert)), "{version:?}: the wire agrees");
    }

    let mut optional = server_config(ECDSA);
    optional.client_auth(ClientAuth::Optional, CA).unwrap();
    Pair::new(&client_config(), &optional).handshake().unwrap();
}

#[test]
fn alpn_is_negotiated() {
    let mut client = client_config();
    client.alpn(&["h2", "http/1.1"]);
    let mut server = server_config(ECDSA);
    server.alpn(&["http/1.1"]);
    let mut pair = Pair::new(&client, &server);
    pair.handshake().unwrap();
    assert_eq!(pair.client.info().unwrap().alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn garbage_and_oversized_records_get_typed_errors_and_alerts() {
    let cases: [(&[u8], &str); 4] = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PROTOCOL_MALFORMED"),
        (&[0x16, 0x03, 0x03, 0xff, 0xff, 0], "PROTOCOL_MALFORMED"),
        (&[0x17, 0x03, 0x03, 0x00, 0x01, 0x00], "PROTOCOL_VIOLATION"),
        (&[0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00], "PROTOCOL_MALFORMED"),
    ];
    for (input, code) in cases {
        for observe in [false, true] {
            let mut client = Connection::client(&client_config().build().unwrap(), "localhost").unwrap();
            if observe {
                client.set_msg_callback(recorder().1).unwrap();
            }
            assert_eq!(client.do_handshake().unwrap(), Status::WantWrite);
            client.take_output();
            client.feed(input).unwrap();
            let err = client.do_handshake().unwrap_err();
            assert_eq!(err.code(), code, "{input:?} -> {err}");
            assert!(err.alert_sent().is_some(), "{err}");
            let alert = client.take_output();
            assert_eq!(alert[0], 21, "an alert record follows the error");
        }
    }
}

#[test]
fn tampered_record_is_bad_record_mac() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(b"secret").unwrap();
    let mut wire = pair.server.take_output();
    let last = wire.len() - 1;
    wire[last] ^= 1;
    pair.client.feed(&wire).unwrap();
    let err = pair.client.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.code(), "BAD_RECORD_MAC");
    assert_eq!(err.alert_sent(), Some(AlertDescription::BadRecordMac));
}

fn lines(trace: &Trace, dir: Direction) -> Vec<String> {
    trace
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.direction == dir)
        .map(|m| {
            let text = format_message(&m.as_message());
            let line = text.lines().next().unwrap();
            format!("{}{}", line.split(" [").next().unwrap(), line.split(']').nth(1).unwrap_or(""))
        })
        .collect()
}

#[test]
fn observer_reports_tls13_like_openssl() {
    let mut server = server_config(ECDSA);
    server.tickets(1);
    let mut pair = Pair::new(&client_config(), &server);
    let (trace, cb) = recorder();
    pair.client.set_msg_callback(cb).unwrap();
    pair.handshake().unwrap();
    pair.client.write(b"hello").unwrap();
    pair.client.close().unwrap();
    pair.transfer();
    let _ = pair.read_all(false);
    let sent = lines(&trace, Direction::Sent);
    assert_eq!(sent[..2], [">>> TLS 1.0, RecordHeader", ">>> TLS 1.3, Handshake, ClientHello"]);
    assert!(sent.contains(&">>> TLS 1.2, InnerContent".to_string()));
    assert!(sent.contains(&">>> TLS 1.3, Handshake, Finished".to_string()));
    assert_eq!(sent.last().unwrap(), ">>> TLS 1.3, Alert, warning close_notify");
    let received = lines(&trace, Direction::Received);
    for expected in [
        "<<< TLS 1.3, Handshake, ServerHello",
        "<<< TLS 1.3, InnerContent",
        "<<< TLS 1.3, Handshake, EncryptedExtensions",
        "<<< TLS 1.3, Handshake, Certificate",
        "<<< TLS 1.3, Handshake, CertificateVerify",
        "<<< TLS 1.3, Handshake, Finished",
        "<<< TLS 1.3, Handshake, NewSessionTicket",
    ] {
        assert!(received.contains(&expected.to_string()), "missing {expected}: {received:#?}");
    }
    // Application data is never reported.
    assert!(trace.lock().unwrap().iter().all(|m| m.content_type != APPLICATION_DATA));
    // Each handshake message's bytes are the real message: length field matches.
    for m in trace.lock().unwrap().iter().filter(|m| m.content_type == HANDSHAKE) {
        let len = u32::from_be_bytes([0, m.bytes[1], m.bytes[2], m.bytes[3]]) as usize;
        assert_eq!(len + 4, m.bytes.len());
    }
}

#[test]
fn observer_reports_tls12_labels_and_hrr() {
    let mut client = client_config();
    client.versions(Version::Tls12, Version::Tls12);
    let mut pair = Pair::new(&client, &server_config(RSA));
    let (trace, cb) = recorder();
    pair.client.set_msg_callback(cb).unwrap();
    pair.handshake().unwrap();
    let received = lines(&trace, Direction::Received);
    assert!(received.contains(&"<<< TLS 1.2, Handshake, ServerHello".to_string()), "{received:#?}");
    assert!(received.contains(&"<<< TLS 1.2, Handshake, ServerKeyExchange".to_string()));
    let sent = lines(&trace, Direction::Sent);
    assert!(sent.contains(&">>> TLS 1.2, ChangeCipherSpec".to_string()));
    assert!(sent.contains(&">>> TLS 1.2, Handshake, Finished".to_string()));
    assert!(!sent.iter().any(|l| l.contains("InnerContent")));

    let mut server = server_config(ECDSA);
    server.groups(&["P-256"]).unwrap();
    let mut pair = Pair::new(&client_config(), &server);
    let (trace, cb) = recorder();
    pair.client.set_msg_callback(cb).unwrap();
    pair.handshake().unwrap();
    let sent = lines(&trace, Direction::Sent);
    assert_eq!(sent.iter().filter(|l| l.ends_with("ClientHello")).count(), 2);
}

#[test]
fn observer_sees_alerts_both_ways_and_key_update() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    let (trace, cb) = recorder();
    pair.client.set_msg_callback(cb).unwrap();
    pair.handshake().unwrap();
    pair.client.key_update(true).unwrap();
    pair.transfer();
    pair.read_all(true);
    pair.transfer();
    pair.read_all(false);
    pair.server.close().unwrap();
    pair.transfer();
    pair.read_all(false);
    let all = lines(&trace, Direction::Sent);
    assert!(all.contains(&">>> TLS 1.3, Handshake, KeyUpdate".to_string()), "{all:#?}");
    let received = lines(&trace, Direction::Received);
    assert!(received.contains(&"<<< TLS 1.3, Handshake, KeyUpdate".to_string()), "{received:#?}");
    assert!(received.contains(&"<<< TLS 1.3, Alert, warning close_notify".to_string()));

    // A fatal alert we send is reported too.
    let mut unknown = ClientConfig::new();
    unknown.clock(test_clock());
    unknown.add_ca(OTHER_CA).unwrap();
    let mut pair = Pair::new(&unknown, &server_config(ECDSA));
    let (trace, cb) = recorder();
    pair.client.set_msg_callback(cb).unwrap();
    assert!(pair.handshake().is_err());
    let sent = lines(&trace, Direction::Sent);
    assert_eq!(sent.last().unwrap(), ">>> TLS 1.3, Alert, fatal unknown_ca");
}

#[test]
fn observer_must_be_set_before_start() {
    let mut c = Connection::client(&client_config().build().unwrap(), "localhost").unwrap();
    c.do_handshake().unwrap();
    assert_eq!(c.set_msg_callback(recorder().1), Err(Error::Misuse(Misuse::ObserverTooLate)));
}

#[test]
fn key_update_is_refused_where_there_is_none_and_the_connection_goes_on() {
    let bad = |r: Result<(), Error>| matches!(r, Err(Error::Misuse(Misuse::BadKeyUpdate(_))));
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    assert!(bad(pair.client.key_update(true)), "before the handshake");
    pair.handshake().unwrap();
    pair.client.close().unwrap();
    assert!(bad(pair.client.key_update(true)), "after close");
    let mut client = client_config();
    client.versions(Version::Tls12, Version::Tls12);
    let mut pair = Pair::new(&client, &server_config(ECDSA));
    pair.handshake().unwrap();
    assert!(bad(pair.client.key_update(true)), "TLS 1.2");
    let mut tls13 = Pair::new(&client_config(), &server_config(ECDSA));
    tls13.handshake().unwrap();
    assert!(bad(tls13.client.key_update(false)), "update_not_requested: not in rustls 0.23");
    tls13.client.key_update(true).unwrap();
    assert!(pair.client.output().is_empty());
    pair.client.write(b"still fine").unwrap();
    pair.transfer();
    assert_eq!(pair.read_all(true), b"still fine");
}

/// A side that fails while its answer to the peer's KeyUpdate request is still held back
/// (rustls switches to the new key at once but sends the answer only in front of its next
/// record) sends that answer before its own alert: the peer reads the alert. Before, the alert
/// went out alone under a key the peer had never heard of, and the peer failed with
/// bad_record_mac. Here the failure is the 33rd KeyUpdate request (rustls sends no alert for it;
/// tlswire sends illegal_parameter), with and without the message observer.
#[test]
fn an_alert_after_an_unanswered_key_update_request_follows_the_answer() {
    for observed in [false, true] {
        let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
        let (trace, cb) = recorder();
        if observed {
            pair.server.set_msg_callback(cb).unwrap();
        }
        pair.handshake().unwrap();
        for _ in 0..33 {
            pair.client.key_update(true).unwrap();
        }
        pair.transfer();
        let err = pair.server.read(&mut [0u8; 64]).unwrap_err();
        assert!(matches!(err, Error::Protocol { alert_sent: Some(AlertDescription::IllegalParameter), .. }), "{err:?}");
        pair.transfer();
        assert_eq!(pair.client.read(&mut [0u8; 64]), Err(Error::AlertReceived(AlertDescription::IllegalParameter)));
        if observed {
            let sent = lines(&trace, Direction::Sent);
            let messages: Vec<&str> = sent
                .iter()
                .map(String::as_str)
                .filter(|l| !l.ends_with("RecordHeader") && !l.ends_with("InnerContent"))
                .collect();
            let tail = messages.get(messages.len() - 2..).unwrap();
            assert_eq!(tail, [">>> TLS 1.3, Handshake, KeyUpdate", ">>> TLS 1.3, Alert, fatal illegal_parameter"]);
            assert_eq!(sent.iter().filter(|l| l.ends_with("KeyUpdate")).count(), 1, "answered once: {sent:#?}");
        }
    }
}

/// After `close` (our close_notify closed the write side), a record from the peer that does not
/// open fails the read, but no alert follows the close_notify, in TLS 1.3 and 1.2. Before, rustls
/// sealed bad_record_mac after it, and its debug assertion that it sends one fatal alert fired.
#[test]
fn nothing_is_sent_after_close_notify_when_a_received_record_fails() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.handshake().unwrap();
        pair.client.close().unwrap();
        assert!(!pair.client.take_output().is_empty(), "close_notify");
        pair.server.write(b"hello").unwrap();
        let mut out = pair.server.take_output();
        *out.last_mut().unwrap() ^= 1;
        pair.client.feed(&out).unwrap();
        let err = pair.client.read(&mut [0u8; 64]).unwrap_err();
        assert_eq!(err.alert_sent(), None, "{version:?}: {err:?}");
        assert_eq!(pair.client.take_output(), b"", "{version:?}: nothing after close_notify");
    }
}

/// Seals a TLS 1.2 AES-GCM record as the server would at `seq`, from an offload job of the
/// client (its nonce at `job_seq`, the key).
fn forge_tls12(key: &[u8], job_nonce: [u8; 12], job_seq: u64, seq: u64, typ: u8, plain: &[u8]) -> Vec<u8> {
    use aead::{Aead, KeyInit, Payload};
    let mut nonce = job_nonce;
    let delta = (job_seq ^ seq).to_be_bytes();
    for (n, d) in nonce[4..].iter_mut().zip(delta) {
        *n ^= d;
    }
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[typ, 3, 3]);
    aad.extend_from_slice(&(plain.len() as u16).to_be_bytes());
    let n = aes_gcm::Nonce::try_from(&nonce[..]).unwrap();
    let sealed =
        aes_gcm::Aes128Gcm::new_from_slice(key).unwrap().encrypt(&n, Payload { msg: plain, aad: &aad }).unwrap();
    let mut body = nonce[4..].to_vec();
    body.extend_from_slice(&sealed);
    let mut record = vec![typ, 3, 3];
    record.extend_from_slice(&(body.len() as u16).to_be_bytes());
    record.extend_from_slice(&body);
    record
}

/// Nothing follows our close_notify in TLS 1.2 either: a HelloRequest from the server after the
/// client's close_notify made rustls answer with a warning no_renegotiation after it (found in
/// review; the record is forged with the key the client's offload hands out).
#[test]
fn a_renegotiation_request_after_close_notify_is_not_answered() {
    let mut pair = offload_pair("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Version::Tls12);
    pair.server.write(&[1u8; 2 * 16384]).unwrap();
    pair.transfer();
    let (generation, jobs) = decode_jobs(&pair.client.offload_jobs()).unwrap();
    assert_eq!(jobs.len(), 2);
    let key = pair.client.offload_key(generation).unwrap().to_vec();
    let last = jobs.last().unwrap();
    let (job_nonce, job_seq) = (last.nonce, last.seq);
    assert_eq!(pair.read_all(false).len(), 2 * 16384);

    pair.client.close().unwrap();
    let close_notify = pair.client.take_output();
    assert!(!close_notify.is_empty());
    let hello_request = forge_tls12(&key, job_nonce, job_seq, job_seq + 1, 22, &[0, 0, 0, 0]);
    pair.client.feed(&hello_request).unwrap();
    let result = pair.client.read(&mut [0u8; 64]);
    let after = pair.client.take_output();
    assert!(after.is_empty(), "{} bytes follow close_notify ({result:?})", after.len());
}

/// Seals a TLS 1.3 AES-128-GCM record from an offload job's key and nonce (at `job_seq`).
fn forge_tls13(key: &[u8], job_nonce: [u8; 12], job_seq: u64, seq: u64, inner: &[u8]) -> Vec<u8> {
    forge_tls13_under_header(key, job_nonce, job_seq, seq, [23, 3, 3], inner)
}

/// The client answered the server's KeyUpdate request (the answer held back); the server's next
/// record holds a KeyUpdate followed by part of another handshake message. rustls seals
/// unexpected_message under the new key with the answer in front of it, which the server reads.
/// Before, the core took both back as if they were the client's Finished flight (which it does
/// only during the handshake) and sent the alert alone: bad_record_mac at the server (found in
/// review).
#[test]
fn a_key_update_sharing_its_record_after_the_handshake_keeps_the_answer_before_the_alert() {
    let mut pair = offload_pair("TLS13_AES_128_GCM_SHA256", Version::Tls13);
    pair.server.key_update(true).unwrap();
    pair.server.write(&[1u8; 4096]).unwrap();
    pair.transfer();
    assert_eq!(pair.read_all(false).len(), 4096); // the client answered; the answer is held back
    assert!(pair.client.take_output().is_empty(), "answer held back");
    pair.server.write(&[2u8; 4096]).unwrap();
    pair.transfer();
    let (generation, jobs) = decode_jobs(&pair.client.offload_jobs()).unwrap();
    let key = pair.client.offload_key(generation).unwrap().to_vec();
    let job = jobs.last().unwrap();
    let (nonce, seq) = (job.nonce, job.seq);
    assert_eq!(pair.read_all(false).len(), 4096);
    // KeyUpdate(update_not_requested), then the first 4 bytes of a 32-byte NewSessionTicket.
    let forged = forge_tls13(&key, nonce, seq, seq + 1, &[24, 0, 0, 1, 0, 4, 0, 0, 32, 22]);
    pair.client.feed(&forged).unwrap();
    let err = pair.client.read(&mut [0u8; 8]).unwrap_err();
    let out = pair.client.output().to_vec();
    let mut records = Vec::new();
    let mut at = 0;
    while at + 5 <= out.len() {
        let len = u16::from_be_bytes([out[at + 3], out[at + 4]]) as usize;
        records.push((out[at], len));
        at += 5 + len;
    }
    assert_eq!(err.alert_sent(), Some(AlertDescription::UnexpectedMessage));
    assert_eq!(records.len(), 2, "the answer, then the alert: {records:?}");
    pair.transfer();
    let server = pair.server.read(&mut [0u8; 8]);
    assert_eq!(server, Err(Error::AlertReceived(AlertDescription::UnexpectedMessage)));
}

/// Sequences around a held-back KeyUpdate answer, each ending in an alert tlswire seals on the
/// client: the server (an honest peer) reads the alert, and every record the client sent opens.
#[test]
fn alerts_after_held_back_or_sent_key_update_answers_reach_the_peer() {
    // How the client fails: 33 KeyUpdate requests (illegal_parameter), reject_peer
    // (certificate_unknown), an oversized record header (record_overflow).
    for failure in 0..3 {
        // 0: answer held back; 1: answer flushed by a write; 2: flushed by our own KeyUpdate;
        // 3: flushed by a write, then a second request answered and held back.
        for before in 0..4 {
            let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
            pair.handshake().unwrap();
            let mut expected = Vec::new();
            pair.server.key_update(true).unwrap();
            pair.transfer();
            pair.read_all(false);
            match before {
                1 | 3 => {
                    pair.client.write(b"data").unwrap();
                    expected.extend_from_slice(b"data");
                }
                2 => pair.client.key_update(true).unwrap(),
                _ => {}
            }
            if before == 3 {
                pair.transfer();
                assert_eq!(pair.read_all(true), std::mem::take(&mut expected));
                pair.server.key_update(true).unwrap();
                pair.transfer();
                pair.read_all(false);
            }
            let alert = match failure {
                0 => {
                    for _ in 0..33 {
                        pair.server.key_update(true).unwrap();
                    }
                    pair.transfer();
                    pair.client.read(&mut [0u8; 8]).unwrap_err().alert_sent()
                }
                1 => pair.client.reject_peer("no").alert_sent(),
                _ => {
                    pair.client.feed(&[23, 3, 3, 0xff, 0xff]).unwrap();
                    pair.client.read(&mut [0u8; 8]).unwrap_err().alert_sent()
                }
            };
            let alert = alert.unwrap();
            let out = pair.client.take_output();
            pair.server.feed(&out).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            let end = loop {
                match pair.server.read(&mut buf) {
                    Ok(Status::Done(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                    other => break other,
                }
            };
            assert_eq!(got, expected);
            assert_eq!(end, Err(Error::AlertReceived(alert)), "failure {failure} before {before}");
        }
    }
}

/// Splits a byte stream into (type, whole record bytes).
fn split_records(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 5 <= bytes.len() {
        let len = u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]) as usize;
        out.push((bytes[at], bytes[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    out
}

fn frame_record(typ: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// A server that rejects a client's early data skips undecryptable records up to the client's
/// Finished. A copy of a skipped record placed after the Finished is an undecryptable record
/// after the handshake: bad_record_mac, as any other. Before, the core dropped it (it matched
/// rejected records by length and tag, not by their place in the stream): a network attacker
/// could have records dropped silently and double the 16 KiB allowance (found in review).
#[test]
fn a_copy_of_skipped_early_data_after_the_finished_is_not_skipped() {
    let run = |copy_after: bool| -> Result<Vec<u8>, Error> {
        let mut client = client_config();
        client.early_data(true);
        let client = client.build().unwrap();
        let issuing = {
            let mut s = server_config(ECDSA);
            s.max_early_data(16384);
            s.build().unwrap()
        };
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&issuing).unwrap(),
            chunk: usize::MAX,
        };
        pair.client.record_sessions();
        pair.handshake().unwrap();
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        let session = pair.client.take_sessions().pop().unwrap();

        // A server that cannot resume the session: early data requested but rejected.
        let mut pair = Pair {
            client: Connection::client_resuming(&client, "localhost", &session).unwrap(),
            server: Connection::server(&server_config(ECDSA).build().unwrap()).unwrap(),
            chunk: usize::MAX,
        };
        assert_eq!(pair.client.write_early_data(b"early").unwrap(), 5);
        let _ = pair.client.do_handshake().unwrap();
        pair.transfer(); // ClientHello + early data record
        let _ = pair.server.do_handshake().unwrap();
        pair.transfer(); // server flight
        let _ = pair.client.do_handshake().unwrap();
        assert!(pair.client.is_handshake_done());
        let flight = pair.client.take_output(); // [CCS] Finished, then "early" sent again
        let recs = split_records(&flight);
        let fin = recs.iter().position(|(t, _)| *t == 23).unwrap();

        let junk = |seed: u8| frame_record(23, &(0..8000u32).map(|i| (i as u8) ^ seed).collect::<Vec<_>>());
        let (r1, r2) = (junk(0x11), junk(0x22));
        let mut input = Vec::new();
        for (i, (t, p)) in recs.iter().enumerate() {
            if i == fin {
                input.extend_from_slice(&r1);
                input.extend_from_slice(&r2);
            }
            input.extend_from_slice(&frame_record(*t, p));
            if i == fin {
                if copy_after {
                    input.extend_from_slice(&r1);
                    input.extend_from_slice(&r2);
                } else {
                    input.extend_from_slice(&junk(0x33)); // same length, another tag
                }
            }
        }
        pair.server.feed(&input).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match pair.server.read(&mut buf)? {
                Status::Done(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        Ok(got)
    };
    assert_eq!(run(false).unwrap_err().code(), "BAD_RECORD_MAC");
    assert_eq!(run(true).unwrap_err().code(), "BAD_RECORD_MAC", "copies of skipped records after the Finished");
}

/// Seals a TLS 1.3 AES-128-GCM record under an arbitrary header (AAD = that header).
fn forge_tls13_under_header(
    key: &[u8],
    job_nonce: [u8; 12],
    job_seq: u64,
    seq: u64,
    header3: [u8; 3],
    inner: &[u8],
) -> Vec<u8> {
    use aead::{Aead, KeyInit, Payload};
    let mut nonce = job_nonce;
    for (n, d) in nonce[4..].iter_mut().zip((job_seq ^ seq).to_be_bytes()) {
        *n ^= d;
    }
    let len = (inner.len() + 16) as u16;
    let header = [header3[0], header3[1], header3[2], (len >> 8) as u8, len as u8];
    let n = aes_gcm::Nonce::try_from(&nonce[..]).unwrap();
    let sealed =
        aes_gcm::Aes128Gcm::new_from_slice(key).unwrap().encrypt(&n, Payload { msg: inner, aad: &header }).unwrap();
    [&header[..], &sealed].concat()
}

/// A TLS 1.3 record is authenticated with its header as received (RFC 8446 section 5.2), which a
/// TLS 1.3 sender writes as 17 03 03: a record whose tag covers a legacy_record_version of
/// 0x0301 (only the key's holder can make one) is refused with or without offload, as OpenSSL
/// and BoringSSL refuse it. Before, the wasm path refused it and offload took it (found in
/// review).
#[test]
fn a_tls13_record_under_another_header_is_refused_with_and_without_offload() {
    let run = |answer: bool| -> (Result<Vec<u8>, Error>, (usize, usize)) {
        let mut pair = offload_pair("TLS13_AES_128_GCM_SHA256", Version::Tls13);
        pair.server.write(&[1u8; 4096]).unwrap();
        pair.transfer();
        let (generation, jobs) = decode_jobs(&pair.client.offload_jobs()).unwrap();
        let key = pair.client.offload_key(generation).unwrap().to_vec();
        let (nonce, seq) = (jobs[0].nonce, jobs[0].seq);
        assert_eq!(pair.read_all(false).len(), 4096);
        let mut inner = vec![b'X'; 3000];
        inner.push(23);
        let forged = forge_tls13_under_header(&key, nonce, seq, seq + 1, [23, 3, 1], &inner);
        pair.client.feed(&forged).unwrap();
        let counts = if answer { open_elsewhere(&mut pair.client) } else { (0, 0) };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let r = loop {
            match pair.client.read(&mut buf) {
                Ok(Status::Done(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                Ok(_) => break Ok(got),
                Err(e) => break Err(e),
            }
        };
        (r, counts)
    };
    let (plain, _) = run(false);
    let (offloaded, counts) = run(true);
    assert!(counts.0 > 0, "offloaded: {counts:?}");
    assert_eq!(plain.unwrap_err().code(), "BAD_RECORD_MAC");
    assert_eq!(offloaded.unwrap_err().code(), "BAD_RECORD_MAC");
}

/// A TLS 1.2 plaintext record carries 2^14 bytes at most (RFC 5246 section 6.2.1): a server
/// flight framed as one plaintext record over that gets record_overflow whether or not it comes
/// in the same input as the ServerHello. Before, it was taken once the ServerHello had been
/// processed (the TLS 1.2 limit for protected records applied to it; found in review).
#[test]
fn an_oversized_tls12_plaintext_record_is_refused_however_the_input_is_cut() {
    let ca_pem = CA;
    let run = |split: bool| -> Result<(), Error> {
        let mut chain = ECDSA.0.to_vec();
        for _ in 0..40 {
            chain.extend_from_slice(ca_pem);
        }
        let mut server = ServerConfig::new(&chain, ECDSA.1).unwrap();
        server.clock(test_clock());
        let mut client = client_config();
        client.versions(Version::Tls12, Version::Tls12);
        let mut pair = Pair::new(&client, &server);
        let _ = pair.client.do_handshake()?;
        pair.transfer();
        let _ = pair.server.do_handshake()?;
        let flight = pair.server.take_output();
        let hs: Vec<u8> = split_records(&flight).into_iter().flat_map(|(_, p)| p).collect();
        let sh_len = 4 + u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
        let (sh, rest) = hs.split_at(sh_len);
        assert!(rest.len() > 16384 && rest.len() < 18432);
        pair.client.feed(&frame_record(22, sh))?;
        if split {
            assert_eq!(pair.client.do_handshake()?, Status::WantRead);
        }
        pair.client.feed(&frame_record(22, rest))?;
        pair.handshake()
    };
    for split in [false, true] {
        assert_eq!(run(split).unwrap_err().alert_sent(), Some(AlertDescription::RecordOverflow), "split {split}");
    }
}

/// A network attacker who changes a protected TLS 1.3 record's outer type (to alert or
/// handshake) gets bad_record_mac: the type is authenticated (RFC 8446 section 5.2). Before,
/// the record opened anyway (rustls's fixed additional data), and the observer reported its
/// ciphertext as a received alert or swallowed the handshake messages after it (found in
/// review).
#[test]
fn a_protected_record_with_another_outer_type_does_not_open() {
    for new_type in [20u8, 21, 22] {
        let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
        let (trace, cb) = recorder();
        pair.client.set_msg_callback(cb).unwrap();
        pair.handshake().unwrap();
        pair.server.write(b"hello").unwrap();
        let mut wire = pair.server.take_output();
        assert_eq!(wire[0], 23);
        wire[0] = new_type;
        let before = trace.lock().unwrap().len();
        pair.client.feed(&wire).unwrap();
        let err = pair.client.read(&mut [0u8; 64]).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Protocol {
                    alert_sent: Some(
                        AlertDescription::BadRecordMac
                            | AlertDescription::UnexpectedMessage
                            | AlertDescription::DecodeError
                    ),
                    ..
                }
            ),
            "type {new_type}: {err:?}"
        );
        let t = trace.lock().unwrap();
        let reported: Vec<String> = t[before..]
            .iter()
            .filter(|m| m.direction == Direction::Received && m.content_type != RECORD_HEADER)
            .map(|m| format_message(&m.as_message()).lines().next().unwrap().to_string())
            .collect();
        assert!(reported.is_empty(), "type {new_type}: the observer reported {reported:#?}");
    }
}

#[test]
fn the_clock_is_injectable() {
    // 2001-06-01: inside the "expired" certificate's validity (2001-01-01 .. 2002-01-01).
    let mut client = client_config();
    client.clock(Arc::new(TestClock(991_353_600)));
    Pair::new(&client, &server_config(EXPIRED)).handshake().unwrap();
    let (err, _) = handshake_error(&client_config(), &server_config(EXPIRED));
    assert_eq!(err.code(), "CERT_EXPIRED");
}

#[test]
fn trust_anchors_stand_in_for_ca_certificates() {
    let ca = certificates_from(CA).unwrap().remove(0);
    let anchor = webpki::anchor_from_trusted_cert(&ca).unwrap();
    let mut c = ClientConfig::new();
    c.clock(test_clock());
    c.add_trust_anchor(&anchor.subject, &anchor.subject_public_key_info, anchor.name_constraints.as_deref());
    Pair::new(&c, &server_config(ECDSA)).handshake().unwrap();

    let other = certificates_from(OTHER_CA).unwrap().remove(0);
    let anchor = webpki::anchor_from_trusted_cert(&other).unwrap();
    let mut c = ClientConfig::new();
    c.clock(test_clock());
    c.add_trust_anchor(&anchor.subject, &anchor.subject_public_key_info, None);
    let (err, _) = handshake_error(&c, &server_config(ECDSA));
    assert_eq!(err.code(), "CERT_UNKNOWN_ISSUER");
}

#[test]
fn packed_trust_anchors_round_trip_into_a_config() {
    let ca = certificates_from(CA).unwrap().remove(0);
    let a = webpki::anchor_from_trusted_cert(&ca).unwrap();
    let packed = anchors::encode([(&a.subject[..], &a.subject_public_key_info[..], None)]);
    let mut c = ClientConfig::new();
    c.clock(test_clock());
    c.add_packed_trust_anchors(&packed).unwrap();
    Pair::new(&c, &server_config(ECDSA)).handshake().unwrap();
    assert!(ClientConfig::new().add_packed_trust_anchors(&packed[1..]).is_err());
}

#[test]
fn recorded_messages_drain_in_order() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.client.record_messages().unwrap();
    assert!(pair.client.take_messages().is_empty());
    pair.handshake().unwrap();
    let first = pair.client.take_messages();
    assert_eq!(first.first().map(|m| (m.direction, m.content_type)), Some((Direction::Sent, RECORD_HEADER)));
    assert!(first.iter().any(|m| m.direction == Direction::Received && m.content_type == HANDSHAKE));
    assert!(pair.client.take_messages().is_empty(), "a drain empties the queue");
    assert_eq!(pair.client.record_messages().unwrap_err().code(), "MISUSE");
}

/// One decryption job of [`Connection::offload_jobs`], decoded.
struct Job {
    seq: u64,
    nonce: [u8; 12],
    aad: Vec<u8>,
    body: Vec<u8>,
}

fn decode_jobs(bytes: &[u8]) -> Option<(u32, Vec<Job>)> {
    let generation = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let mut rest = &bytes[4..];
    let mut jobs = Vec::new();
    while !rest.is_empty() {
        let seq = u64::from_be_bytes(rest[..8].try_into().unwrap());
        let nonce = rest[8..20].try_into().unwrap();
        let aad_len = rest[20] as usize;
        let aad = rest[21..21 + aad_len].to_vec();
        rest = &rest[21 + aad_len..];
        let body_len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        jobs.push(Job { seq, nonce, aad, body: rest[4..4 + body_len].to_vec() });
        rest = &rest[4 + body_len..];
    }
    Some((generation, jobs))
}

/// Plays the platform's AES-GCM for `conn`: opens every job with RustCrypto's AES-GCM and hands
/// back what authenticated. Returns (jobs, results handed back).
fn open_elsewhere(conn: &mut Connection) -> (usize, usize) {
    use aead::{Aead, KeyInit, Payload};
    let Some((generation, jobs)) = decode_jobs(&conn.offload_jobs()) else {
        return (0, 0);
    };
    let key = conn.offload_key(generation).unwrap().to_vec();
    let mut opened = 0;
    for job in &jobs {
        let payload = Payload { msg: &job.body, aad: &job.aad };
        let nonce = aes_gcm::Nonce::try_from(&job.nonce[..]).unwrap();
        let plain = match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(&key).unwrap().decrypt(&nonce, payload),
            _ => aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap().decrypt(&nonce, payload),
        };
        if let Ok(plain) = plain {
            conn.offload_opened(generation, job.seq, plain);
            opened += 1;
        }
    }
    (jobs.len(), opened)
}

/// The AES-GCM suites (what the platform's AES-GCM can take over), with their versions.
const AES_GCM_SUITES: [(&str, Version); 4] = [
    ("TLS13_AES_128_GCM_SHA256", Version::Tls13),
    ("TLS13_AES_256_GCM_SHA384", Version::Tls13),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Version::Tls12),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Version::Tls12),
];

fn offload_pair(suite: &str, version: Version) -> Pair {
    let mut client = client_config();
    client.cipher_suites(&[suite]).unwrap();
    client.versions(Version::Tls12, version);
    let mut pair = Pair::new(&client, &server_config(ECDSA));
    pair.client.set_record_offload(true).unwrap();
    pair.handshake().unwrap();
    pair
}

#[test]
fn offloaded_records_read_the_same_and_are_used() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 13 + i / 97) as u8).collect();
    for (suite, version) in AES_GCM_SUITES {
        let mut pair = offload_pair(suite, version);
        assert_eq!(pair.client.info().unwrap().version, version);
        pair.server.write(&data).unwrap();
        pair.transfer();
        let (jobs, opened) = open_elsewhere(&mut pair.client);
        assert_eq!((jobs, opened), (13, 13), "{suite}: every full record is handed out and opens");
        // Nothing is handed out twice.
        assert!(pair.client.offload_jobs().is_empty());
        assert_eq!(pair.read_all(false), data, "{suite}");

        // The results are what the connection returns: a result that differs from the record's
        // true plaintext shows through (only a caller holding the key can make one).
        pair.server.write(&[7u8; 4096]).unwrap();
        pair.transfer();
        let (generation, jobs) = decode_jobs(&pair.client.offload_jobs()).unwrap();
        let inner = if version == Version::Tls13 { &[23u8][..] } else { &[] };
        pair.client.offload_opened(generation, jobs[0].seq, [&[9u8; 4096][..], inner].concat());
        assert_eq!(pair.read_all(false), vec![9u8; 4096], "{suite}");
    }
}

#[test]
fn offload_leaves_small_records_chacha_and_the_handshake_alone() {
    let mut pair = offload_pair("TLS13_AES_128_GCM_SHA256", Version::Tls13);
    pair.server.write(&[1u8; OFFLOAD_MIN_RECORD - 100]).unwrap();
    pair.transfer();
    assert!(pair.client.offload_jobs().is_empty());
    assert_eq!(pair.read_all(false).len(), OFFLOAD_MIN_RECORD - 100);

    let mut pair = offload_pair("TLS13_CHACHA20_POLY1305_SHA256", Version::Tls13);
    pair.server.write(&[1u8; 65536]).unwrap();
    pair.transfer();
    assert!(pair.client.offload_jobs().is_empty());
    assert_eq!(pair.read_all(false).len(), 65536);

    let mut c = Connection::client(&client_config().build().unwrap(), "localhost").unwrap();
    c.do_handshake().unwrap();
    assert_eq!(c.set_record_offload(true), Err(Error::Misuse(Misuse::OffloadTooLate)));
}

#[test]
fn offload_keeps_tamper_errors_key_updates_and_the_trace() {
    // A record the platform cannot open is opened here, and fails here, with the same alert.
    let mut pair = offload_pair("TLS13_AES_128_GCM_SHA256", Version::Tls13);
    pair.server.write(&[5u8; 8000]).unwrap();
    let mut wire = pair.server.take_output();
    let last = wire.len() - 1;
    wire[last] ^= 1;
    pair.client.feed(&wire).unwrap();
    assert_eq!(open_elsewhere(&mut pair.client), (1, 0));
    let err = pair.client.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.code(), "BAD_RECORD_MAC");
    assert_eq!(err.alert_sent(), Some(AlertDescription::BadRecordMac));

    // Records handed out under the old key after a KeyUpdate fail to open and are decrypted
    // here under the new one; jobs after it use the new key. The trace matches a connection
    // without offload.
    let run = |offload: bool| {
        let mut client = client_config();
        client.cipher_suites(&["TLS13_AES_128_GCM_SHA256"]).unwrap();
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        let (trace, cb) = recorder();
        pair.client.set_msg_callback(cb).unwrap();
        pair.client.set_record_offload(offload).unwrap();
        pair.handshake().unwrap();
        let mut got = Vec::new();
        let mut counts = Vec::new();
        for round in 0..3u8 {
            pair.server.write(&[round; 40_000]).unwrap();
            pair.server.key_update(true).unwrap();
            pair.server.write(&[round + 100; 40_000]).unwrap();
            pair.transfer();
            counts.push(open_elsewhere(&mut pair.client));
            got.extend(pair.read_all(false));
            pair.transfer();
            pair.read_all(true);
        }
        pair.server.close().unwrap();
        pair.transfer();
        assert_eq!(pair.client.read(&mut [0u8; 1]), Ok(Status::Done(0)));
        // After our Finished, each message's label line (bytes differ between handshakes).
        let lines: Vec<String> = trace
            .lock()
            .unwrap()
            .iter()
            .map(|m| format_message(&m.as_message()).lines().next().unwrap_or_default().to_string())
            .skip_while(|l| !(l.starts_with(">>>") && l.ends_with("Finished")))
            .collect();
        (got, counts, lines)
    };
    let (plain, none, trace_plain) = run(false);
    let (offloaded, counts, trace_offloaded) = run(true);
    assert_eq!(none, vec![(0, 0); 3]);
    // 3 records under the current key open; the 3 after the KeyUpdate do not.
    assert_eq!(counts, vec![(6, 3); 3]);
    assert_eq!(offloaded, plain);
    assert!(trace_plain.len() > 40 && trace_offloaded == trace_plain, "{trace_offloaded:#?}");
    assert_eq!(trace_plain.iter().filter(|l| l.ends_with("KeyUpdate")).count(), 3);
}

/// A platform AEAD for tests (AES-GCM suites only): RustCrypto's, counting the records it protects; `forge` makes
/// every open fail authentication, `decline` makes it decline every record.
use tlswire_crypto::platform::Algorithm;

#[derive(Default)]
struct CountingAesGcm {
    sealed: std::cell::Cell<usize>,
    opened: std::cell::Cell<usize>,
    forge: bool,
    decline: bool,
}

impl tlswire_crypto::platform::Aead for CountingAesGcm {
    fn seal(
        &self,
        _: Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> bool {
        use aead::{AeadInOut, KeyInit};
        if self.decline {
            return false;
        }
        let nonce = aes_gcm::Nonce::try_from(&nonce[..]).unwrap();
        let t = match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(key).unwrap().encrypt_inout_detached(&nonce, aad, data.into()),
            _ => aes_gcm::Aes256Gcm::new_from_slice(key).unwrap().encrypt_inout_detached(&nonce, aad, data.into()),
        };
        tag.copy_from_slice(&t.unwrap());
        self.sealed.set(self.sealed.get() + 1);
        true
    }

    fn open(
        &self,
        _: Algorithm,
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<bool> {
        use aead::{AeadInOut, KeyInit};
        if self.decline {
            return None;
        }
        self.opened.set(self.opened.get() + 1);
        if self.forge {
            return Some(false);
        }
        let nonce = aes_gcm::Nonce::try_from(&nonce[..]).unwrap();
        let tag = aes_gcm::Tag::try_from(&tag[..]).unwrap();
        let r = match key.len() {
            16 => {
                aes_gcm::Aes128Gcm::new_from_slice(key).unwrap().decrypt_inout_detached(&nonce, aad, data.into(), &tag)
            }
            _ => {
                aes_gcm::Aes256Gcm::new_from_slice(key).unwrap().decrypt_inout_detached(&nonce, aad, data.into(), &tag)
            }
        };
        Some(r.is_ok())
    }
}

#[test]
fn the_platform_aes_gcm_protects_large_records_both_ways_and_its_verdict_stands() {
    use std::rc::Rc;
    use tlswire_crypto::platform;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 + i / 7) as u8).collect();
    for (suite, version) in AES_GCM_SUITES {
        let aes = Rc::new(CountingAesGcm::default());
        platform::install(Some(aes.clone()));
        let mut client = client_config();
        client.cipher_suites(&[suite]).unwrap();
        client.versions(Version::Tls12, version);
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.handshake().unwrap();
        let handshake = (aes.sealed.get(), aes.opened.get());
        pair.client.write(&data).unwrap();
        pair.transfer();
        assert_eq!(pair.read_all(true), data, "{suite}");
        pair.server.write(&data).unwrap();
        pair.transfer();
        assert_eq!(pair.read_all(false), data, "{suite}");
        // 7 records each way (6 full, one of 1,696 bytes); small records stay here.
        assert_eq!((aes.sealed.get() - handshake.0, aes.opened.get() - handshake.1), (14, 14), "{suite}");
        pair.client.write(b"small").unwrap();
        pair.transfer();
        assert_eq!(pair.read_all(true), b"small");
        assert_eq!((aes.sealed.get() - handshake.0, aes.opened.get() - handshake.1), (14, 14), "{suite}");
    }

    // The platform says a record does not authenticate: bad_record_mac, as if opened here.
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    platform::install(Some(Rc::new(CountingAesGcm { forge: true, ..Default::default() })));
    pair.server.write(&[1u8; 5000]).unwrap();
    pair.transfer();
    let err = pair.client.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.alert_sent(), Some(AlertDescription::BadRecordMac));

    // A platform that declines leaves every record to RustCrypto.
    platform::install(Some(Rc::new(CountingAesGcm { decline: true, ..Default::default() })));
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(&data).unwrap();
    pair.transfer();
    assert_eq!(pair.read_all(false), data);
    platform::install(None);
}

/// A platform verifier for tests: counts what it is asked, and answers `verdict`.
struct AskedVerifier {
    asked: std::cell::RefCell<Vec<tlswire_crypto::platform::Signature>>,
    verdict: Option<bool>,
}

impl tlswire_crypto::platform::Verifier for AskedVerifier {
    fn verify(&self, algorithm: tlswire_crypto::platform::Signature, _: &[u8], _: &[u8], _: &[u8]) -> Option<bool> {
        self.asked.borrow_mut().push(algorithm);
        self.verdict
    }
}

#[test]
fn the_platform_verifier_is_asked_for_ecdsa_and_rsa_and_its_no_stands() {
    use std::rc::Rc;
    use tlswire_crypto::platform::{install_verifier, Signature};
    // The test CA is P-256; the RSA server signs CertificateVerify with RSA-PSS (SHA-512 here).
    for (identity, expect) in [(ECDSA, Signature::EcdsaP256Sha256), (RSA, Signature::RsaPssSha512)] {
        // Cannot tell: the engine checks the signatures itself and the handshake completes.
        let unsure = Rc::new(AskedVerifier { asked: Default::default(), verdict: None });
        install_verifier(Some(unsure.clone()));
        let mut pair = Pair::new(&client_config(), &server_config(identity));
        pair.handshake().unwrap();
        assert!(unsure.asked.borrow().contains(&expect), "{:?}", unsure.asked.borrow());

        // Says no: the handshake fails as with a forged CertificateVerify.
        let no = Rc::new(AskedVerifier { asked: Default::default(), verdict: Some(false) });
        install_verifier(Some(no.clone()));
        let (client_err, _) = handshake_error(&client_config(), &server_config(identity));
        assert_eq!(client_err.alert_sent(), Some(AlertDescription::DecryptError), "{client_err:?}");
        assert!(!no.asked.borrow().is_empty());
    }
    install_verifier(None);
}

#[test]
fn errors_are_sticky_for_close_and_feed() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.client.feed(&[23, 3, 3, 0, 1, 0]).unwrap(); // a record too short to be protected
    let mut buf = [0u8; 16];
    let err = pair.client.read(&mut buf).unwrap_err();
    assert_eq!(pair.client.close(), Err(err.clone()));
    assert_eq!(pair.client.feed(b"more"), Err(err.clone()));
    assert_eq!(pair.client.do_handshake(), Err(err));
}

#[test]
fn close_before_the_handshake_completes_sends_user_canceled_then_close_notify() {
    // Before any key is in use (the ClientHello is out, no ServerHello yet): plaintext alerts.
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.client.do_handshake().unwrap();
    pair.client.take_output();
    pair.client.close().unwrap();
    assert_eq!(pair.client.take_output(), [21, 3, 3, 0, 2, 1, 90, 21, 3, 3, 0, 2, 1, 0]);
    assert_eq!(pair.client.do_handshake(), Err(Error::Misuse(Misuse::HandshakeAfterClose)));
    assert_eq!(pair.client.read(&mut [0u8; 4]), Err(Error::Misuse(Misuse::HandshakeAfterClose)));

    // The server after its first flight (its keys for application data already in use): protected
    // alerts, which the client reads under those keys (a wrong key would be bad_record_mac) as a
    // warning it passes over and then the peer's close.
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.client.do_handshake().unwrap();
    pair.transfer();
    pair.server.do_handshake().unwrap();
    let flight = pair.server.take_output();
    pair.server.close().unwrap();
    let alerts = pair.server.take_output();
    assert_eq!(alerts.len(), 2 * (5 + 2 + 1 + 16), "two protected alert records");
    pair.client.feed(&flight).unwrap();
    pair.client.feed(&alerts).unwrap();
    assert_eq!(pair.client.do_handshake(), Ok(Status::WantWrite));
    pair.client.take_output();
    assert_eq!(pair.client.read(&mut [0u8; 4]), Ok(Status::Done(0)), "close_notify: a clean end");
}

/// A client whose handshake keys are in use (it read the ServerHello) and that closes: its
/// user_canceled and close_notify take the first two sequence numbers under its handshake key.
/// Nothing may seal another record under that key afterwards: rustls's Finished would take
/// sequence number 0 again (the same key and nonce: AEAD nonce reuse). Every call that could
/// move the handshake on is refused, and none writes a byte.
#[test]
fn after_close_mid_handshake_no_call_seals_another_record() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version).early_data(true);
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.client.do_handshake().unwrap();
        pair.transfer();
        pair.server.do_handshake().unwrap();
        let flight = pair.server.take_output();
        let first = 5 + u16::from_be_bytes([flight[3], flight[4]]) as usize;
        pair.client.feed(&flight[..first]).unwrap(); // the ServerHello alone
        assert!(pair.client.do_handshake().is_ok(), "{version:?}");
        pair.client.take_output(); // TLS 1.3: the middlebox ChangeCipherSpec
        assert_eq!(pair.client.do_handshake(), Ok(Status::WantRead), "{version:?}");
        pair.client.close().unwrap();
        let alerts = pair.client.take_output();
        assert!(!alerts.is_empty());
        // The rest of the server's flight arrives; the app goes on calling.
        pair.client.feed(&flight[first..]).unwrap();
        let misuse = Error::Misuse(Misuse::HandshakeAfterClose);
        assert!(pair.client.key_update(true).is_err(), "{version:?}");
        assert_eq!(pair.client.output(), b"", "{version:?}: key_update moved the handshake on");
        assert!(matches!(pair.client.write_early_data(b"x"), Ok(0) | Err(_)));
        assert_eq!(pair.client.output(), b"", "{version:?}: write_early_data moved the handshake on");
        assert_eq!(pair.client.do_handshake(), Err(misuse.clone()), "{version:?}");
        assert_eq!(pair.client.read(&mut [0u8; 4]), Err(misuse), "{version:?}");
        assert!(pair.client.write(b"x").is_err(), "{version:?}");
        assert!(pair.client.close().is_ok(), "{version:?}: close again is a no-op");
        assert_eq!(pair.client.output(), b"", "{version:?}");
        assert!(!pair.client.is_handshake_done(), "{version:?}");
        // The server reads the client's alerts as its end.
        pair.server.feed(&alerts).unwrap();
        assert!(pair.server.do_handshake().is_err(), "{version:?}");
    }
}

/// The ClientHello message (type, length, body) in a client's first flight of one record.
fn client_hello_of(client: &ClientConfig) -> Vec<u8> {
    let mut conn = Connection::client(&client.build().unwrap(), "localhost").unwrap();
    conn.do_handshake().unwrap();
    let record = conn.take_output();
    assert_eq!(5 + u16::from_be_bytes([record[3], record[4]]) as usize, record.len(), "one record");
    record[5..].to_vec()
}

/// `message` with `suite` appended to its cipher suites.
fn with_cipher_suite(message: &[u8], suite: u16) -> Vec<u8> {
    let suites_at = 4 + 2 + 32 + 1 + message[4 + 2 + 32] as usize;
    let len = u16::from_be_bytes([message[suites_at], message[suites_at + 1]]);
    let mut out = message.to_vec();
    out[suites_at..suites_at + 2].copy_from_slice(&(len + 2).to_be_bytes());
    out.splice(suites_at + 2..suites_at + 2, suite.to_be_bytes());
    let body = (out.len() - 4) as u32;
    out[1..4].copy_from_slice(&body.to_be_bytes()[1..]);
    out
}

/// `message` without its extension of type `typ`.
fn without_extension(message: &[u8], typ: u16) -> Vec<u8> {
    let mut at = 4 + 2 + 32;
    at += 1 + message[at] as usize; // session id
    at += 2 + u16::from_be_bytes([message[at], message[at + 1]]) as usize; // suites
    at += 1 + message[at] as usize; // compression
    let exts_at = at;
    let mut out = message[..exts_at + 2].to_vec();
    at += 2;
    while at < message.len() {
        let len = u16::from_be_bytes([message[at + 2], message[at + 3]]) as usize;
        if u16::from_be_bytes([message[at], message[at + 1]]) != typ {
            out.extend_from_slice(&message[at..at + 4 + len]);
        }
        at += 4 + len;
    }
    let exts_len = (out.len() - exts_at - 2) as u16;
    out[exts_at..exts_at + 2].copy_from_slice(&exts_len.to_be_bytes());
    let body = (out.len() - 4) as u32;
    out[1..4].copy_from_slice(&body.to_be_bytes()[1..]);
    out
}

/// `message` in handshake records split at `cuts`.
fn framed(message: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&message.len())) {
        out.extend([22, 3, 1]);
        out.extend(((to - from) as u16).to_be_bytes());
        out.extend(&message[from..to]);
        from = to;
    }
    out
}

/// The first record a server sends in answer to `input`: (content type, first payload byte).
fn server_answer(server: &ServerConfig, input: &[u8]) -> (u8, u8, Option<Error>) {
    let mut conn = Connection::server(&server.build().unwrap()).unwrap();
    conn.feed(input).unwrap();
    let err = conn.do_handshake().err();
    let out = conn.take_output();
    assert!(out.len() > 5, "no answer");
    (out[0], out[5], err)
}

/// TLS_FALLBACK_SCSV (RFC 7507) from a TLS 1.2 client to a TLS 1.3 server is refused however
/// the hello is framed: record boundaries are not in the transcript, so an attacker who re-frames
/// the hello must not get past the check (it ran only on a hello in one record).
#[test]
fn a_reframed_fallback_hello_is_refused_at_every_split() {
    let mut tls12 = client_config();
    tls12.versions(Version::Tls12, Version::Tls12);
    let message = with_cipher_suite(&client_hello_of(&tls12), 0x5600);
    let server = server_config(ECDSA);
    let inappropriate_fallback = u8::from(AlertDescription::InappropriateFallback);
    for cut in (1..message.len()).step_by(7).chain([1, 3, 4, 5, message.len() - 1]) {
        let (typ, _, err) = server_answer(&server, &framed(&message, &[cut]));
        assert_eq!(typ, 21, "split at {cut}: answered with a record of type {typ}, not an alert");
        assert_eq!(err.unwrap().alert_sent(), Some(AlertDescription::InappropriateFallback), "split at {cut}");
    }
    let bytes: Vec<usize> = (1..message.len()).collect();
    let (typ, _, _) = server_answer(&server, &framed(&message, &bytes));
    assert_eq!(typ, 21, "one byte per record");
    // Fed a byte at a time, too.
    let input = framed(&message, &[message.len() / 2]);
    let mut conn = Connection::server(&server.build().unwrap()).unwrap();
    for byte in &input[..input.len() - 1] {
        conn.feed(&[*byte]).unwrap();
        assert_eq!(conn.do_handshake(), Ok(Status::WantRead));
        assert_eq!(conn.output(), b"");
    }
    conn.feed(&input[input.len() - 1..]).unwrap();
    assert!(conn.do_handshake().is_err());
    assert_eq!(&conn.take_output()[..], &[21, 3, 3, 0, 2, 2, inappropriate_fallback]);
    // Without the SCSV, the same splits get a ServerHello.
    let plain = client_hello_of(&tls12);
    let (typ, msg, err) = server_answer(&server, &framed(&plain, &[plain.len() / 2]));
    assert_eq!((typ, msg, err), (22, 2, None));
}

/// A TLS 1.3 ClientHello larger than a record (here with 4,100 unassigned extensions), in two
/// records, gets a ServerHello (tlsfuzzer's test-tls13-large-number-of-extensions).
#[test]
fn a_hello_in_several_records_gets_a_server_hello() {
    let message = client_hello_of(&client_config());
    // Unassigned extensions appended to the extension block, which ends the message.
    let mut extra = Vec::new();
    for typ in 0x2000u16..0x2000 + 4100 {
        extra.extend(typ.to_be_bytes());
        extra.extend([0, 0]);
    }
    let exts_at = {
        let mut at = 4 + 2 + 32;
        at += 1 + message[at] as usize; // session id
        at += 2 + u16::from_be_bytes([message[at], message[at + 1]]) as usize; // suites
        at + 1 + message[at] as usize // compression
    };
    let mut big = message.clone();
    let exts_len = u16::from_be_bytes([big[exts_at], big[exts_at + 1]]) as usize + extra.len();
    big[exts_at..exts_at + 2].copy_from_slice(&(exts_len as u16).to_be_bytes());
    big.extend(extra);
    let body = (big.len() - 4) as u32;
    big[1..4].copy_from_slice(&body.to_be_bytes()[1..]);
    assert!(big.len() > 16384);
    for cuts in [vec![16384], vec![100, 16000], vec![8000, 16000]] {
        let input = framed(&big, &cuts);
        let (typ, msg, err) = server_answer(&server_config(ECDSA), &input);
        assert_eq!((typ, msg, err), (22, 2, None), "split at {cuts:?}");
        // As a socket delivers it: in pieces, the server driven after each.
        for piece in [1000, 16389, 7] {
            let mut conn = Connection::server(&server_config(ECDSA).build().unwrap()).unwrap();
            for chunk in input.chunks(piece) {
                conn.feed(chunk).unwrap();
                conn.do_handshake().unwrap();
            }
            let out = conn.take_output();
            assert_eq!((out[0], out[5]), (22, 2), "split at {cuts:?}, fed {piece} bytes at a time");
        }
    }
}

/// A TLS 1.2-style hello (no supported_versions) whose legacy_version is above TLS 1.2 is a
/// TLS 1.2 hello (RFC 5246 appendix E, RFC 8446 section 4.2.1), never missing_extension.
#[test]
fn a_tls12_hello_with_a_higher_legacy_version_gets_a_tls12_server_hello() {
    let mut tls12 = client_config();
    tls12.versions(Version::Tls12, Version::Tls12);
    // rustls's hello says supported_versions [TLS 1.2] even then: a hello without it, as
    // tlsfuzzer sends, has only legacy_version to go by.
    let message = without_extension(&client_hello_of(&tls12), 43);
    for version in [0x0303u16, 0x0304, 0x0401, 0x0603, 0xfefe] {
        let mut hello = message.clone();
        hello[4..6].copy_from_slice(&version.to_be_bytes());
        let (typ, msg, err) = server_answer(&server_config(ECDSA), &framed(&hello, &[]));
        assert_eq!((typ, msg, err), (22, 2, None), "{version:#06x}");
    }
}

/// A TLS 1.3 client whose signature schemes are all legacy ones (PKCS#1 v1.5, SHA-1) gets
/// handshake_failure before any ServerHello (tlsfuzzer's "only legacy sigalgs").
#[test]
fn a_tls13_client_with_only_legacy_signature_schemes_gets_handshake_failure_first() {
    let mut client = client_config();
    client
        .versions(Version::Tls13, Version::Tls13)
        .signature_schemes(&["rsa_pkcs1_sha256", "rsa_pkcs1_sha512"])
        .unwrap();
    let message = client_hello_of(&client);
    let (typ, msg, err) = server_answer(&server_config(RSA), &framed(&message, &[]));
    assert_eq!((typ, msg), (21, 2), "a fatal alert, not a ServerHello");
    assert_eq!(err.unwrap().alert_sent(), Some(AlertDescription::HandshakeFailure));
}

#[test]
fn resumption_is_reported() {
    let (client, server) = (client_config().build().unwrap(), server_config(ECDSA).build().unwrap());
    let connect = || {
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        pair.handshake().unwrap();
        // The client takes the server's tickets with its first read.
        pair.server.write(b"x").unwrap();
        pair.transfer();
        assert_eq!(pair.read_all(false), b"x");
        (pair.client.info().unwrap(), pair.server.info().unwrap())
    };
    let (first, _) = connect();
    assert!(!first.resumed);
    let (client_info, server_info) = connect();
    assert!(client_info.resumed && server_info.resumed, "{client_info:?}");
    assert!(!client_info.hello_retry_request);
}

#[test]
fn a_key_that_does_not_belong_to_its_certificate_is_a_config_error() {
    let p384_key = include_bytes!("../testdata/server-p384.key");
    let err = ServerConfig::new(ECDSA.0, p384_key).unwrap().build().unwrap_err();
    assert!(matches!(err, ConfigError::BadPrivateKey(_)), "{err:?}");
    let err = ServerConfig::new(RSA.0, ECDSA.1).unwrap().build().unwrap_err();
    assert!(matches!(err, ConfigError::BadPrivateKey(_)), "{err:?}");
    let mut client = client_config();
    client.client_auth(CLIENT.0, ECDSA.1).unwrap();
    assert!(matches!(client.build(), Err(ConfigError::BadPrivateKey(_))));
    // Each key type still builds with its own certificate.
    for identity in [ECDSA, RSA, ED25519] {
        ServerConfig::new(identity.0, identity.1).unwrap().build().unwrap();
    }
}

#[test]
fn an_rsassa_pss_key_is_refused_when_loaded() {
    // openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048: a PKCS#8 key whose
    // algorithm is id-RSASSA-PSS, which may only make rsa_pss_pss_* signatures.
    let key = include_bytes!("../testdata/rsa-pss.key");
    let err = ServerConfig::new(RSA.0, key).unwrap().build().unwrap_err();
    assert!(matches!(&err, ConfigError::BadPrivateKey(m) if m.contains("RSASSA-PSS")), "{err:?}");
}

#[test]
fn a_tls12_record_that_fails_to_decrypt_is_reported_as_its_header_alone() {
    let mut client = client_config();
    client.versions(Version::Tls12, Version::Tls12);
    let mut pair = Pair::new(&client, &server_config(ECDSA));
    let (trace, callback) = recorder();
    pair.client.set_msg_callback(callback).unwrap();
    pair.handshake().unwrap();
    let before = trace.lock().unwrap().len();
    // The server's close_notify: a protected record whose outer type is alert (21). Its tag is
    // flipped, so it does not decrypt; its ciphertext must not be reported as an alert.
    pair.server.close().unwrap();
    let mut wire = pair.server.take_output();
    assert_eq!(wire[0], 21);
    let last = wire.len() - 1;
    wire[last] ^= 1;
    pair.client.feed(&wire).unwrap();
    let err = pair.client.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.code(), "BAD_RECORD_MAC");
    let received: Vec<u16> = trace.lock().unwrap()[before..]
        .iter()
        .filter(|m| m.direction == Direction::Received)
        .map(|m| m.content_type)
        .collect();
    assert_eq!(received, [256], "the undecryptable record is reported by its header alone");
}

#[test]
fn records_longer_than_tls_allows_get_record_overflow_after_what_came_before() {
    // A plaintext record of 2^14 + 1 bytes during the handshake.
    for observe in [false, true] {
        let mut client = Connection::client(&client_config().build().unwrap(), "localhost").unwrap();
        if observe {
            client.set_msg_callback(recorder().1).unwrap();
        }
        client.do_handshake().unwrap();
        client.take_output();
        let mut record = vec![22, 3, 3, 0x40, 0x01];
        record.resize(5 + 16385, 0);
        client.feed(&record).unwrap();
        let err = client.do_handshake().unwrap_err();
        assert_eq!((err.code(), err.alert_sent()), ("PROTOCOL_MALFORMED", Some(AlertDescription::RecordOverflow)));
        assert_eq!(client.take_output(), [21, 3, 3, 0, 2, 2, 22]);
    }
    // TLS 1.3, after the handshake: a whole record of data, then the header of a protected record
    // of 2^14 + 257 bytes. The data is read first; the oversized record fails without decryption.
    for observe in [false, true] {
        let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
        if observe {
            pair.client.set_msg_callback(recorder().1).unwrap();
        }
        pair.handshake().unwrap();
        pair.server.write(b"before").unwrap();
        let mut wire = pair.server.take_output();
        wire.extend([23, 3, 3, 0x41, 0x01]);
        wire.resize(wire.len() + 16641, 0xee);
        pair.client.feed(&wire).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pair.client.read(&mut buf).unwrap(), Status::Done(6));
        assert_eq!(&buf[..6], b"before");
        let err = pair.client.read(&mut buf).unwrap_err();
        assert_eq!((err.code(), err.alert_sent()), ("PROTOCOL_MALFORMED", Some(AlertDescription::RecordOverflow)));
        let alert = pair.client.take_output();
        assert_eq!(alert[0], 23, "the alert is protected");
        pair.server.feed(&alert).unwrap();
        assert_eq!(pair.server.read(&mut buf).unwrap_err(), Error::AlertReceived(AlertDescription::RecordOverflow));
    }
}

#[test]
fn data_before_a_bad_record_in_the_same_input_is_read_first() {
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    pair.server.write(b"first").unwrap();
    pair.server.write(b"secret").unwrap();
    let mut wire = pair.server.take_output();
    let last = wire.len() - 1;
    wire[last] ^= 1;
    pair.client.feed(&wire).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(pair.client.read(&mut buf).unwrap(), Status::Done(5));
    assert_eq!(&buf[..5], b"first");
    let err = pair.client.read(&mut buf).unwrap_err();
    assert_eq!((err.code(), err.alert_sent()), ("BAD_RECORD_MAC", Some(AlertDescription::BadRecordMac)));
    assert_eq!(pair.client.read(&mut buf).unwrap_err(), err, "sticky");
}

#[test]
fn a_resumed_tls12_session_reports_the_group_of_the_handshake_that_made_it() {
    let mut client = client_config();
    client.versions(Version::Tls12, Version::Tls12).groups(&["P-256"]).unwrap();
    let (client, server) = (client.build().unwrap(), server_config(ECDSA).build().unwrap());
    let connect = || {
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        pair.handshake().unwrap();
        pair.client.info().unwrap()
    };
    let first = connect();
    assert_eq!((first.resumed, first.group.as_deref()), (false, Some("secp256r1")));
    let resumed = connect();
    assert_eq!((resumed.resumed, resumed.group.as_deref()), (true, Some("secp256r1")), "{resumed:?}");
}

#[test]
fn key_log_lines_are_per_connection_and_both_sides_agree() {
    for (version, labels) in [
        (
            Version::Tls13,
            &[
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
                "EXPORTER_SECRET",
            ][..],
        ),
        (Version::Tls12, &["CLIENT_RANDOM"][..]),
    ] {
        let mut client = client_config();
        client.versions(version, version);
        let (client, server) = (client.build().unwrap(), server_config(ECDSA).build().unwrap());
        let sink = |lines: &Arc<Mutex<Vec<String>>>| -> KeyLogCallback {
            let lines = lines.clone();
            Box::new(move |line: &str| lines.lock().unwrap().push(line.to_string()))
        };
        let (client_lines, server_lines) = (Arc::default(), Arc::default());
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        pair.client.set_key_log(sink(&client_lines)).unwrap();
        pair.server.set_key_log(sink(&server_lines)).unwrap();
        // A connection of the same contexts without a key log, interleaved: it logs nothing and
        // takes nothing from the other.
        let mut quiet = Pair::new(&client_config(), &server_config(ECDSA));
        quiet.client.do_handshake().unwrap();
        pair.handshake().unwrap();
        quiet.handshake().unwrap();
        let mut client_lines = client_lines.lock().unwrap().clone();
        let mut server_lines = server_lines.lock().unwrap().clone();
        let found: Vec<&str> = client_lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
        for label in labels {
            assert!(found.contains(label), "{version:?}: {label} missing from {client_lines:?}");
        }
        assert_eq!(client_lines.len(), labels.len(), "{version:?}: {client_lines:?}");
        for line in &client_lines {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 3, "{line}");
            assert_eq!(parts[1].len(), 64, "client random: {line}");
            assert!(parts[2].len() >= 64 && parts[2].bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
        }
        client_lines.sort();
        server_lines.sort();
        assert_eq!(client_lines, server_lines, "{version:?}: both sides log the same secrets");
        assert_eq!(pair.client.set_key_log(Box::new(|_| {})), Err(Error::Misuse(Misuse::KeyLogTooLate)));
    }
}

#[test]
fn max_send_fragment_bounds_the_records_this_side_sends() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version).max_send_fragment(512).unwrap();
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.handshake().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        pair.client.write(&data).unwrap();
        let wire = pair.client.take_output();
        let mut at = 0;
        let mut records = 0;
        while at < wire.len() {
            let len = u16::from_be_bytes([wire[at + 3], wire[at + 4]]) as usize;
            // At most 512 bytes of plaintext: TLS 1.3 adds the content type and the tag, TLS 1.2
            // the explicit nonce (GCM) and the tag.
            assert!(len <= 512 + 24, "{version:?}: a record of {len}");
            at += 5 + len;
            records += 1;
        }
        assert!(records >= 10, "{version:?}: {records} records");
        pair.server.feed(&wire).unwrap();
        assert_eq!(pair.read_all(true), data);
    }
    assert!(matches!(ClientConfig::new().max_send_fragment(63), Err(ConfigError::Rejected(_))));
    assert!(matches!(
        ServerConfig::new(ECDSA.0, ECDSA.1).unwrap().max_send_fragment(16385),
        Err(ConfigError::Rejected(_))
    ));
}

#[test]
fn both_ends_export_the_same_keying_material_in_every_suite_and_after_resumption() {
    let export = |conn: &Connection, len: usize, label: &[u8], context: Option<&[u8]>| {
        let mut out = vec![0u8; len];
        conn.export_keying_material(&mut out, label, context).map(|()| out)
    };
    for suite in tlswire_crypto::ALL_CIPHER_SUITES {
        let name = format!("{:?}", suite.suite());
        let tls13 = name.starts_with("TLS13");
        let identity = if name.contains("RSA") { RSA } else { ECDSA };
        let mut client = client_config();
        client.cipher_suites(&[name.as_str()]).unwrap();
        if !tls13 {
            client.versions(Version::Tls12, Version::Tls12);
        }
        let (client, server) = (client.build().unwrap(), server_config(identity).build().unwrap());
        let mut seen = Vec::new();
        for round in 0..2 {
            let mut pair = Pair {
                client: Connection::client(&client, "localhost").unwrap(),
                server: Connection::server(&server).unwrap(),
                chunk: usize::MAX,
            };
            let early = pair.client.export_keying_material(&mut [0u8; 16], b"EXPERIMENTAL x", None);
            assert!(matches!(early, Err(Error::Misuse(Misuse::BadExport(_)))), "{name}: {early:?}");
            pair.handshake().unwrap();
            pair.server.write(b"x").unwrap();
            pair.transfer();
            assert_eq!(pair.read_all(false), b"x");
            assert_eq!(pair.client.info().unwrap().resumed, round == 1, "{name}");
            for (len, label, context) in [
                (32, &b"EXPERIMENTAL a"[..], None),
                (32, b"EXPERIMENTAL b", None),
                (32, b"EXPERIMENTAL a", Some(&b""[..])),
                (32, b"EXPERIMENTAL a", Some(&b"context"[..])),
                (1, b"EXPERIMENTAL a", None),
                (1000, b"EXPERIMENTAL a", None),
            ] {
                let c = export(&pair.client, len, label, context).unwrap();
                let s = export(&pair.server, len, label, context).unwrap();
                assert_eq!(c, s, "{name}: {label:?} {context:?}");
                seen.push(c);
            }
            // Prefixes: a shorter output is not a prefix of a longer one in TLS 1.3 (the length
            // is in the HKDF label) but is in TLS 1.2 (the PRF is a stream).
            let n = seen.len();
            assert_eq!(seen[n - 6][..] == seen[n - 1][..32], !tls13, "{name}");
            // No context and an empty one are the same in TLS 1.3 only.
            assert_eq!(seen[n - 6] == seen[n - 4], tls13, "{name}");
            assert_ne!(seen[n - 6], seen[n - 5]);
            assert_ne!(seen[n - 6], seen[n - 3]);
            for bad in [0, if tls13 { 255 * 48 + 1 } else { 0 }] {
                assert!(matches!(export(&pair.client, bad, b"x", None), Err(Error::Misuse(Misuse::BadExport(_)))));
            }
            let too_long = export(&pair.client, MAX_EXPORT + 1, b"x", None);
            assert!(matches!(too_long, Err(Error::Misuse(Misuse::BadExport(_)))), "{name}: {too_long:?}");
            let reserved = export(&pair.client, 16, b"key expansion", None);
            assert_eq!(reserved.is_err(), !tls13, "{name}");
        }
        // A new connection (full or resumed) exports other bytes.
        assert_ne!(seen[0], seen[6], "{name}");
    }
}

/// One handshake of `client` (a fresh context each time: as if in another process) with
/// `server`, offering `session` if given; returns (resumed, the sessions it received).
fn session_round(
    client: &ClientConfig,
    server: &ServerContext,
    name: &str,
    session: Option<&[u8]>,
) -> (bool, Vec<Vec<u8>>) {
    let ctx = client.build().unwrap();
    let mut pair = Pair {
        client: match session {
            Some(s) => Connection::client_resuming(&ctx, name, s).unwrap(),
            None => Connection::client(&ctx, name).unwrap(),
        },
        server: Connection::server(server).unwrap(),
        chunk: usize::MAX,
    };
    pair.client.record_sessions();
    pair.handshake().unwrap();
    // TLS 1.3 tickets come after the handshake: the client reads them with the server's data.
    pair.server.write(b"x").unwrap();
    pair.transfer();
    assert_eq!(pair.read_all(false), b"x");
    let resumed = pair.client.info().unwrap().resumed;
    assert_eq!(resumed, pair.server.info().unwrap().resumed);
    (resumed, pair.client.take_sessions())
}

/// `session` (tlswire's envelope) with its secret (TLS 1.2: the master secret; TLS 1.3: the
/// resumption secret) cut or padded (with 0x5a) to `len` bytes, as someone who can write session storage
/// could store it.
fn with_secret_of_length(session: &[u8], len: usize) -> Vec<u8> {
    let name_len = u16::from_be_bytes([session[5], session[6]]) as usize;
    let group_at = 7 + name_len + 32;
    let value = group_at + 1 + session[group_at] as usize;
    let tls13 = session[4] == 0x13;
    // TLS 1.3: suite, age_add, max_early_data_size; TLS 1.2: suite, session ID, extended_ms.
    let mut at = value + 2;
    if tls13 {
        at += 8;
    } else {
        at += 1 + session[at] as usize + 1;
    }
    at += 2 + u16::from_be_bytes([session[at], session[at + 1]]) as usize; // ticket
    let old_len = session[at] as usize;
    let mut out = session[..at].to_vec();
    out.push(len as u8);
    out.extend(session[at + 1..at + 1 + old_len].iter().copied().chain(std::iter::repeat(0x5a)).take(len));
    out.extend_from_slice(&session[at + 1 + old_len..]);
    out
}

/// Session bytes come back from storage a page or a worker can write: a secret of the wrong
/// length is a session tlswire does not offer (a full handshake), never a panic. A 47-byte TLS
/// 1.2 master secret used to be accepted, then panicked rustls when the server (or anyone in
/// the middle) echoed the session ID.
#[test]
fn a_stored_session_with_a_secret_of_the_wrong_length_is_not_offered() {
    for (version, bad_lengths) in [(Version::Tls12, [0, 47, 49, 255]), (Version::Tls13, [0, 31, 33, 48])] {
        let mut client = client_config();
        client.versions(version, version);
        let server = server_config(ECDSA).build().unwrap();
        let (_, sessions) = session_round(&client, &server, "localhost", None);
        let session = sessions.last().unwrap();
        let right = if version == Version::Tls12 { 48 } else { 32 };
        // The edit itself is sound: at the right length it gives the same bytes, which resume.
        assert_eq!(&with_secret_of_length(session, right), session);
        assert!(session_round(&client, &server, "localhost", Some(session)).0);
        for len in bad_lengths {
            let edited = with_secret_of_length(session, len);
            let (resumed, _) = session_round(&client, &server, "localhost", Some(&edited));
            assert!(!resumed, "{version:?}: a {len}-byte secret was offered");
        }
    }
}

/// A TLS 1.2 session made without a ticket carries no lifetime, which rustls reads as "never
/// expires": one that comes back from storage lives at most 7 days, as tickets do.
#[test]
fn a_stored_tls12_session_without_a_ticket_expires_after_seven_days() {
    let mut client = client_config();
    client.versions(Version::Tls12, Version::Tls12);
    let mut server = server_config(ECDSA);
    server.stateless_tickets(false);
    let server = server.build().unwrap();
    let (_, sessions) = session_round(&client, &server, "localhost", None);
    let session = sessions.last().unwrap();
    assert!(session_round(&client, &server, "localhost", Some(session)).0, "resumes by session ID");
    let mut later = client.clone();
    later.clock(Arc::new(TestClock(1_893_456_000 + 8 * 86_400)));
    assert!(!session_round(&later, &server, "localhost", Some(session)).0, "8 days on: expired");
}

#[test]
fn sessions_taken_as_bytes_resume_from_another_context_and_only_where_they_belong() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let server = server_config(ECDSA).build().unwrap();
        let (resumed, sessions) = session_round(&client, &server, "localhost", None);
        assert!(!resumed);
        let expected = if version == Version::Tls13 { 2 } else { 1 };
        assert_eq!(sessions.len(), expected, "{version:?}: one per ticket (TLS 1.3: two), one per TLS 1.2 session");
        let session = sessions.last().unwrap();

        // Another context (another process) resumes it, and gets new sessions.
        let (resumed, again) = session_round(&client, &server, "localhost", Some(session));
        assert!(resumed, "{version:?}");
        assert!(!again.is_empty(), "{version:?}");
        if version == Version::Tls12 {
            // A resumed TLS 1.2 session reports the group of the handshake that made it.
            let ctx = client.build().unwrap();
            let mut pair = Pair {
                client: Connection::client_resuming(&ctx, "localhost", session).unwrap(),
                server: Connection::server(&server).unwrap(),
                chunk: usize::MAX,
            };
            pair.handshake().unwrap();
            assert!(pair.client.info().unwrap().resumed);
            assert_eq!(pair.client.info().unwrap().group.as_deref(), Some("X25519"));
        }

        // Not to another name (the certificate is also valid for 127.0.0.1).
        let (resumed, _) = session_round(&client, &server, "127.0.0.1", Some(session));
        assert!(!resumed, "{version:?}: bound to its server name");

        // Not under other verification settings: another CA, verification off, a pin.
        let mut other = client_config();
        other.versions(version, version).add_ca(OTHER_CA).unwrap();
        assert!(!session_round(&other, &server, "localhost", Some(session)).0, "{version:?}: another CA");
        let mut other = client_config();
        other.versions(version, version).dangerously_disable_verification();
        assert!(!session_round(&other, &server, "localhost", Some(session)).0, "{version:?}: no verification");
        let mut other = client_config();
        other.versions(version, version).pin_spki_sha256([7; 32]);
        let err = Pair {
            client: Connection::client_resuming(&other.build().unwrap(), "localhost", session).unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        }
        .handshake();
        assert!(err.is_err(), "{version:?}: a pin that does not match is checked, not skipped by resuming");

        // Not once expired (rustls keeps tickets at most 7 days; this client's clock is 8 days on).
        let mut later = client.clone();
        later.clock(Arc::new(TestClock(1_893_456_000 + 8 * 86_400)));
        assert!(!session_round(&later, &server, "localhost", Some(session)).0, "{version:?}: expired");

        // Not by another server (another ticket key / session cache).
        let other_server = server_config(ECDSA).build().unwrap();
        assert!(!session_round(&client, &other_server, "localhost", Some(session)).0, "{version:?}: foreign");
    }
    // Bytes that are not a session.
    let ctx = client_config().build().unwrap();
    for bad in [&b""[..], b"TWS\x01", b"not a session at all", &[b'T', b'W', b'S', 1, 0x13, 0, 9][..]] {
        let err = Connection::client_resuming(&ctx, "localhost", bad).err();
        assert!(matches!(err, Some(Error::Config(ConfigError::BadSession(_)))), "{bad:?}: {err:?}");
    }
}

#[test]
fn the_session_cache_can_be_sized_or_turned_off() {
    let server = server_config(ECDSA).build().unwrap();
    for (size, resumes) in [(None, true), (Some(1), true), (Some(0), false)] {
        let mut client = client_config();
        if let Some(n) = size {
            client.session_cache(n);
        }
        let ctx = client.build().unwrap();
        let mut resumed = Vec::new();
        for _ in 0..2 {
            let mut pair = Pair {
                client: Connection::client(&ctx, "localhost").unwrap(),
                server: Connection::server(&server).unwrap(),
                chunk: usize::MAX,
            };
            pair.client.record_sessions();
            pair.handshake().unwrap();
            pair.server.write(b"x").unwrap();
            pair.transfer();
            pair.read_all(false);
            resumed.push(pair.client.info().unwrap().resumed);
            // Sessions are handed out whatever the cache's size.
            assert!(!pair.client.take_sessions().is_empty());
        }
        assert_eq!(resumed, [false, resumes], "cache {size:?}");
    }
}

/// A session cache or a ticket count the context cannot hold is a configuration error when the
/// context is built (a client cache of 2^32-1 sessions was a capacity overflow panic in rustls,
/// a trap in wasm); the largest allowed builds.
#[test]
fn session_caches_and_ticket_counts_beyond_their_bounds_are_configuration_errors() {
    for n in [MAX_SESSION_CACHE + 1, u32::MAX as usize, usize::MAX] {
        let mut client = client_config();
        client.session_cache(n);
        assert!(matches!(client.build(), Err(ConfigError::Rejected(_))), "client cache {n}");
        let mut server = server_config(ECDSA);
        server.session_cache(n);
        assert!(matches!(server.build(), Err(ConfigError::Rejected(_))), "server cache {n}");
    }
    for n in [MAX_TICKETS + 1, usize::MAX] {
        let mut server = server_config(ECDSA);
        server.tickets(n);
        assert!(matches!(server.build(), Err(ConfigError::Rejected(_))), "tickets {n}");
    }
    let mut client = client_config();
    client.session_cache(MAX_SESSION_CACHE);
    client.build().unwrap();
    let mut server = server_config(ECDSA);
    server.session_cache(MAX_SESSION_CACHE).tickets(MAX_TICKETS);
    server.build().unwrap();
}

#[test]
fn server_tickets_and_cache_each_resume_and_both_off_resume_nothing() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        for (stateless, cache, tickets, resumes) in
            [(true, 0, 2, true), (false, 256, 2, true), (false, 0, 2, false), (true, 256, 0, version == Version::Tls12)]
        {
            let mut server = server_config(ECDSA);
            server.stateless_tickets(stateless).session_cache(cache).tickets(tickets);
            let server = server.build().unwrap();
            let (_, sessions) = session_round(&client, &server, "localhost", None);
            let resumed = sessions.last().is_some_and(|s| session_round(&client, &server, "localhost", Some(s)).0);
            assert_eq!(resumed, resumes, "{version:?}: stateless {stateless}, cache {cache}, tickets {tickets}");
        }
    }
}

/// A client that names none of the server's names (or none at all) is served the default
/// certificate or one valid for the default's names, never the certificate of a name it did not
/// ask for: by offering only what that certificate's key can sign, it could obtain it before (a
/// virtual-hosting server's hidden name; found in review). Asked for by name, it is served.
#[test]
fn a_client_cannot_obtain_the_certificate_of_a_name_it_does_not_name() {
    const HIDDEN: (&[u8], &[u8]) = (include_bytes!("../testdata/hidden.pem"), include_bytes!("../testdata/hidden.key"));
    for version in [Version::Tls13, Version::Tls12] {
        let present = |server: &ServerConfig, name: &str| {
            let mut client = ClientConfig::new();
            client.clock(test_clock()).dangerously_disable_verification().versions(version, version);
            client.verify_schemes(&["rsa_pss_rsae_sha256"]).unwrap(); // only what the RSA keys sign
            let mut pair = Pair {
                client: Connection::client(&client.build().unwrap(), name).unwrap(),
                server: Connection::server(&server.build().unwrap()).unwrap(),
                chunk: usize::MAX,
            };
            pair.handshake().map(|()| pair.server.info().unwrap().certificate)
        };
        let mut server = server_config(ECDSA); // localhost, ECDSA
        server.add_certificate(HIDDEN.0, HIDDEN.1, None).unwrap(); // hidden.internal, RSA
        for name in ["nothing.example", "127.0.0.1"] {
            let refused = present(&server, name);
            assert!(refused.is_err(), "{version:?}, {name}: served {refused:?}");
        }
        assert_eq!(present(&server, "hidden.internal").unwrap(), Some(1), "{version:?}");
        // A second certificate for the default's own names stays a choice for them.
        let mut server = server_config(ECDSA);
        server.add_certificate(RSA.0, RSA.1, None).unwrap(); // localhost, RSA
        assert_eq!(present(&server, "nothing.example").unwrap(), Some(1), "{version:?}");
        assert_eq!(present(&server, "127.0.0.1").unwrap(), Some(1), "{version:?}");
    }
}

/// A resumption signs nothing and sends no certificate: `Info` says so on both sides, in TLS 1.3
/// and 1.2. Before, a resumed server reported the certificate and scheme its resolver picked
/// for the ClientHello (rustls asks it every time; found in review).
#[test]
fn a_resumed_connection_reports_no_certificate_and_no_signature() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let client = client.build().unwrap();
        let server = server_config(ECDSA).build().unwrap();
        let mut infos = Vec::new();
        for _ in 0..2 {
            let mut pair = Pair {
                client: Connection::client(&client, "localhost").unwrap(),
                server: Connection::server(&server).unwrap(),
                chunk: usize::MAX,
            };
            pair.handshake().unwrap();
            pair.server.write(b"x").unwrap();
            pair.transfer();
            assert_eq!(pair.read_all(false), b"x");
            infos.push((pair.client.info().unwrap(), pair.server.info().unwrap()));
        }
        let (full_client, full_server) = &infos[0];
        assert!(full_server.certificate.is_some() && full_server.signature_scheme.is_some(), "{version:?}");
        assert!(full_client.peer_signature_scheme.is_some(), "{version:?}");
        let (client, server) = &infos[1];
        assert!(client.resumed && server.resumed, "{version:?}");
        assert_eq!((server.certificate, &server.signature_scheme), (None, &None), "{version:?}");
        assert_eq!(client.peer_signature_scheme, None, "{version:?}");
    }
}

#[test]
fn a_stapled_ocsp_response_reaches_the_client_as_sent() {
    // The bytes are passed through, not parsed: any DER will do here (openssl's real ones in
    // tests/tests/ocsp.rs).
    let response = [0x30, 0x03, 0x0a, 0x01, 0x00];
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let mut server = server_config(ECDSA);
        server.ocsp_response(&response).unwrap();
        let (client, server) = (client.build().unwrap(), server.build().unwrap());
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        pair.handshake().unwrap();
        assert_eq!(pair.client.info().unwrap().ocsp_response.as_deref(), Some(&response[..]), "{version:?}");
        assert_eq!(pair.server.info().unwrap().ocsp_response, None);
        let mut plain = Pair::new(&client_config(), &server_config(ECDSA));
        plain.handshake().unwrap();
        assert_eq!(plain.client.info().unwrap().ocsp_response, None, "none stapled");
    }
    assert!(matches!(server_config(ECDSA).ocsp_response(b""), Err(ConfigError::Rejected(_))));
}

#[test]
fn the_verify_hook_sees_name_and_chain_after_the_checks_and_can_refuse() {
    let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let hook = |verdict: Result<(), String>| -> VerifyHook {
        let seen = seen.clone();
        Box::new(move |name: &str, chain: &[&[u8]]| {
            assert!(chain[0].starts_with(&[0x30]), "DER");
            seen.lock().unwrap().push((name.to_string(), chain.len()));
            verdict.clone()
        })
    };
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        seen.lock().unwrap().clear();
        // Accepts: the handshake completes; the hook saw the name and the one-certificate chain.
        let (ctx, server) = (client.build().unwrap(), server_config(ECDSA).build().unwrap());
        let mut pair = Pair {
            client: Connection::client(&ctx, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        pair.client.set_verify_hook(hook(Ok(()))).unwrap();
        pair.handshake().unwrap();
        assert_eq!(seen.lock().unwrap().drain(..).collect::<Vec<_>>(), [("localhost".to_string(), 1)]);
        // A resumed session sends no certificate: the hook judges the chain stored with it.
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        let mut again = Pair {
            client: Connection::client(&ctx, "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        again.client.set_verify_hook(hook(Err("no longer".into()))).unwrap();
        let err = again.handshake().unwrap_err();
        assert_eq!(err.code(), "CERT_REJECTED", "{version:?}: {err:?}");
        assert_eq!(seen.lock().unwrap().drain(..).collect::<Vec<_>>(), [("localhost".to_string(), 1)], "{version:?}");

        // Refuses: a typed error with its reason, certificate_unknown sent, before our Finished.
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        pair.client.set_verify_hook(hook(Err("not the key we expected".into()))).unwrap();
        let err = pair.handshake().unwrap_err();
        assert_eq!(err.code(), "CERT_REJECTED", "{version:?}: {err:?}");
        assert!(
            matches!(&err, Error::Certificate { error: CertificateError::Rejected(why), alert_sent: Some(AlertDescription::CertificateUnknown) } if why == "not the key we expected"),
            "{err:?}"
        );
        pair.transfer();
        let server_err = pair.server.do_handshake().unwrap_err();
        assert_eq!(server_err, Error::AlertReceived(AlertDescription::CertificateUnknown));

        // Not run when the built-in checks fail first (an unknown CA).
        seen.lock().unwrap().clear();
        let mut other = ClientConfig::new();
        other.clock(test_clock()).add_ca(OTHER_CA).unwrap().versions(version, version);
        let mut pair = Pair::new(&other, &server_config(ECDSA));
        pair.client.set_verify_hook(hook(Ok(()))).unwrap();
        assert_eq!(pair.handshake().unwrap_err().code(), "CERT_UNKNOWN_ISSUER");
        assert!(seen.lock().unwrap().is_empty());

        // Instead of them, with verification dangerously disabled: the hook decides alone.
        let mut dangerous = ClientConfig::new();
        dangerous.clock(test_clock()).dangerously_disable_verification().versions(version, version);
        for (verdict, ok) in [(Ok(()), true), (Err("unknown CA".to_string()), false)] {
            let mut pair = Pair::new(&dangerous, &server_config(EXPIRED));
            pair.client.set_verify_hook(hook(verdict)).unwrap();
            assert_eq!(pair.handshake().is_ok(), ok, "{version:?}");
        }
    }
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.client.do_handshake().unwrap();
    assert_eq!(pair.client.set_verify_hook(Box::new(|_, _| Ok(()))), Err(Error::Misuse(Misuse::HookTooLate)));
}

/// A verify hook judges resumed sessions too: a device revoked after its first connection is
/// refused when it comes back with a ticket (on by default), before any of its data is read;
/// and a client's hook judges the server chain stored with the session.
#[test]
fn the_verify_hook_judges_resumed_sessions_by_their_stored_chain() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut server = server_config(ECDSA);
        server.client_auth(ClientAuth::Required, CA).unwrap();
        let server = server.build().unwrap();
        let mut client = client_config();
        client.versions(version, version).client_auth(CLIENT.0, CLIENT.1).unwrap().early_data(true);
        let client = client.build().unwrap();
        let revoked = Arc::new(Mutex::new(false));
        let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
        let judged = || {
            let mut calls = std::mem::take(&mut *seen.lock().unwrap());
            calls.sort();
            calls
        };
        let both = [("localhost".to_string(), 1), ("server".to_string(), 1)];
        let connect = |early: &[u8]| {
            let mut pair = Pair {
                client: Connection::client(&client, "localhost").unwrap(),
                server: Connection::server(&server).unwrap(),
                chunk: usize::MAX,
            };
            let (revoked, sink) = (revoked.clone(), seen.clone());
            pair.server
                .set_verify_hook(Box::new(move |_, chain| {
                    sink.lock().unwrap().push(("server".into(), chain.len()));
                    if *revoked.lock().unwrap() {
                        Err("revoked device".into())
                    } else {
                        Ok(())
                    }
                }))
                .unwrap();
            let sink = seen.clone();
            pair.client
                .set_verify_hook(Box::new(move |name, chain| {
                    sink.lock().unwrap().push((name.to_string(), chain.len()));
                    Ok(())
                }))
                .unwrap();
            pair.client.write_early_data(early).unwrap();
            let result = pair.handshake();
            pair.client.write(b"after").ok();
            pair.transfer();
            (result, pair)
        };
        let (result, mut pair) = connect(b"");
        result.unwrap();
        // The client reads its tickets (TLS 1.3) with the server's data.
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        assert_eq!(judged(), both, "{version:?}");

        let (result, pair) = connect(b"");
        result.unwrap();
        assert!(pair.server.info().unwrap().resumed, "{version:?}");
        assert_eq!(judged(), both, "{version:?}: the resumed session's stored chains");

        // Revoked since: the ticket no longer lets it in, and nothing it sent is read.
        *revoked.lock().unwrap() = true;
        let (result, mut pair) = connect(b"early secret");
        let err = pair.server.read(&mut [0u8; 64]).unwrap_err();
        assert_eq!(err.code(), "CERT_REJECTED", "{version:?}: {err}");
        assert_eq!(err.alert_sent(), Some(AlertDescription::CertificateUnknown));
        assert!(result.is_err() || pair.client.read(&mut [0u8; 8]).is_err(), "{version:?}: the client was told");
        assert!(judged().contains(&("server".to_string(), 1)), "{version:?}");
    }
}

#[test]
fn reject_peer_after_the_handshake_sends_certificate_unknown_and_is_sticky() {
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        assert_eq!(pair.client.reject_peer("early"), Error::Misuse(Misuse::HandshakeNotDone));
        pair.handshake().unwrap();
        let err = pair.client.reject_peer("not the server we wanted");
        assert_eq!(err.code(), "CERT_REJECTED");
        assert!(
            matches!(&err, Error::Certificate { alert_sent: Some(AlertDescription::CertificateUnknown), .. }),
            "{err:?}"
        );
        assert_eq!(pair.client.write(b"x"), Err(err.clone()), "sticky");
        pair.transfer();
        assert_eq!(
            pair.server.read(&mut [0u8; 8]),
            Err(Error::AlertReceived(AlertDescription::CertificateUnknown)),
            "{version:?}"
        );
    }
}

#[test]
fn signature_scheme_preferences_choose_and_restrict_and_both_sides_report_them() {
    // Defaults: each side reports its own signature and the peer's.
    let mut pair = Pair::new(&client_config(), &server_config(ECDSA));
    pair.handshake().unwrap();
    let (c, s) = (pair.client.info().unwrap(), pair.server.info().unwrap());
    assert_eq!(c.peer_signature_scheme.as_deref(), Some("ecdsa_secp256r1_sha256"));
    assert_eq!(s.signature_scheme.as_deref(), Some("ecdsa_secp256r1_sha256"));
    assert_eq!((c.signature_scheme, s.peer_signature_scheme), (None, None), "no client certificate");

    for version in [Version::Tls13, Version::Tls12] {
        // The server's preference among what the client offers.
        for wanted in ["rsa_pss_rsae_sha512", "rsa_pss_rsae_sha384"] {
            let mut client = client_config();
            client.versions(version, version);
            let mut server = server_config(RSA);
            server.signing_schemes(&[wanted, "rsa_pss_rsae_sha256"]).unwrap();
            let mut pair = Pair::new(&client, &server);
            pair.handshake().unwrap();
            assert_eq!(pair.client.info().unwrap().peer_signature_scheme.as_deref(), Some(wanted), "{version:?}");
        }
        // PKCS#1 v1.5 signs TLS 1.2 handshakes only.
        let mut client = client_config();
        client.versions(version, version);
        let mut server = server_config(RSA);
        server.signing_schemes(&["rsa_pkcs1_sha256"]).unwrap();
        let result = Pair::new(&client, &server).handshake();
        assert_eq!(result.is_ok(), version == Version::Tls12, "{version:?}: {result:?}");

        // The client accepts only what it advertises: an ECDSA server cannot sign for a client
        // that takes RSA-PSS only.
        let mut client = client_config();
        client.versions(version, version).verify_schemes(&["rsa_pss_rsae_sha256"]).unwrap();
        let err = Pair::new(&client, &server_config(ECDSA)).handshake().unwrap_err();
        assert_eq!(err.code(), "HANDSHAKE_INCOMPATIBLE", "{version:?}: {err:?}");

        // A client certificate's signature, chosen by the client's preferences, seen by both.
        let mut server = server_config(ECDSA);
        server.client_auth(ClientAuth::Required, CA).unwrap();
        let mut client = client_config();
        client.versions(version, version).client_auth(CLIENT.0, CLIENT.1).unwrap();
        client.signing_schemes(&["ecdsa_secp256r1_sha256"]).unwrap();
        let mut pair = Pair::new(&client, &server);
        pair.handshake().unwrap();
        let (c, s) = (pair.client.info().unwrap(), pair.server.info().unwrap());
        assert_eq!(c.signature_scheme.as_deref(), Some("ecdsa_secp256r1_sha256"), "{version:?}");
        assert_eq!(s.peer_signature_scheme, c.signature_scheme);
    }
    assert!(matches!(ClientConfig::new().signature_schemes(&["md5_rsa"]), Err(ConfigError::UnknownName(_))));
    assert!(matches!(ClientConfig::new().signature_schemes(&[]), Err(ConfigError::Rejected(_))));
}

#[test]
fn a_server_with_several_certificates_presents_the_one_for_the_name_and_the_clients_schemes() {
    let present = |server: &ServerConfig, client: &ClientConfig, name: &str| {
        let mut pair = Pair {
            client: Connection::client(&client.build().unwrap(), name).unwrap(),
            server: Connection::server(&server.build().unwrap()).unwrap(),
            chunk: usize::MAX,
        };
        pair.handshake()
            .map(|()| (pair.server.info().unwrap().certificate, pair.client.info().unwrap().peer_signature_scheme))
    };
    for version in [Version::Tls13, Version::Tls12] {
        let mut server = server_config(ECDSA);
        server.add_certificate(RSA.0, RSA.1, None).unwrap();
        let mut client = client_config();
        client.versions(version, version);
        // By default the first certificate that fits: the ECDSA one.
        let (index, scheme) = present(&server, &client, "localhost").unwrap();
        assert_eq!((index, scheme.as_deref()), (Some(0), Some("ecdsa_secp256r1_sha256")), "{version:?}");
        // A client that takes RSA signatures only gets the RSA certificate.
        client.verify_schemes(&["rsa_pss_rsae_sha256"]).unwrap();
        let (index, scheme) = present(&server, &client, "localhost").unwrap();
        assert_eq!((index, scheme.as_deref()), (Some(1), Some("rsa_pss_rsae_sha256")), "{version:?}");

        // By name: a certificate valid for the name the client asked for comes first, whatever
        // its place; with none valid for it, the first that fits.
        let mut server = server_config(CLIENT);
        server.add_certificate(ECDSA.0, ECDSA.1, None).unwrap();
        let mut anything = ClientConfig::new();
        anything.clock(test_clock()).dangerously_disable_verification().versions(version, version);
        assert_eq!(present(&server, &anything, "localhost").unwrap().0, Some(1), "{version:?}");
        assert_eq!(present(&server, &anything, "other.example").unwrap().0, Some(0), "{version:?}");
    }
    // None fits (an ECDSA-only server, an RSA-only client): handshake_failure, typed, both ends.
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version).verify_schemes(&["rsa_pss_rsae_sha256"]).unwrap();
        let mut pair = Pair::new(&client, &server_config(ECDSA));
        let _ = pair.client.do_handshake();
        pair.transfer();
        let err = pair.server.do_handshake().unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Protocol {
                    error: ProtocolError::Incompatible(_),
                    alert_sent: Some(AlertDescription::HandshakeFailure)
                }
            ),
            "{version:?}: {err:?}"
        );
        pair.transfer();
        assert_eq!(pair.client.do_handshake(), Err(Error::AlertReceived(AlertDescription::HandshakeFailure)));
    }
    // A key that does not belong to its certificate is refused when the context is built.
    let mut server = server_config(ECDSA);
    server.add_certificate(RSA.0, ECDSA.1, None).unwrap();
    assert!(matches!(server.build(), Err(ConfigError::BadPrivateKey(_))));
}

#[test]
fn early_data_is_accepted_on_resumption_or_sent_again_never_lost() {
    let mut client = client_config();
    client.early_data(true);
    let client = client.build().unwrap();
    for (max, accepted) in [(16384, true), (0, false)] {
        let mut server = server_config(ECDSA);
        server.max_early_data(max);
        // A session that allows early data comes from a server that accepts it.
        let issuing = {
            let mut s = server_config(ECDSA);
            s.max_early_data(16384);
            s.build().unwrap()
        };
        let server = if accepted { issuing.clone() } else { server.build().unwrap() };
        // First connection: a full handshake that leaves a session allowing early data.
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&issuing).unwrap(),
            chunk: usize::MAX,
        };
        pair.client.record_sessions();
        pair.handshake().unwrap();
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        let session = pair.client.take_sessions().pop().unwrap();

        let mut pair = Pair {
            client: Connection::client_resuming(&client, "localhost", &session).unwrap(),
            server: Connection::server(&server).unwrap(),
            chunk: usize::MAX,
        };
        let n = pair.client.write_early_data(b"GET / early\n").unwrap();
        assert_eq!(n, 12, "{accepted}");
        pair.handshake().unwrap();
        let (c, s) = (pair.client.info().unwrap(), pair.server.info().unwrap());
        pair.transfer();
        let got = pair.read_all(true);
        assert_eq!(got, b"GET / early\n", "{accepted}: the data arrives once, early or again after the handshake");
        if accepted {
            assert_eq!((c.early_data, c.early_data_rejected, s.early_data), (12, 0, 12));
        } else {
            assert_eq!((c.early_data, c.early_data_rejected, s.early_data), (0, 12, 0));
        }
        // (Refused here by another server, which cannot resume the session at all.)
        assert_eq!(c.resumed, accepted);
    }
    // Not possible without a session that allows it: 0, nothing written.
    let mut pair = Pair {
        client: Connection::client(&client, "localhost").unwrap(),
        server: Connection::server(&server_config(ECDSA).build().unwrap()).unwrap(),
        chunk: usize::MAX,
    };
    assert_eq!(pair.client.write_early_data(b"x").unwrap(), 0);
    pair.handshake().unwrap();
}

/// A client that sent early data and closes before the handshake completes protects its alerts
/// as it protected the early data (the early traffic key, at the next sequence numbers), so the
/// server that accepted the early data reads them as alerts (they went out in plaintext, which
/// the server then failed as bad_record_mac). And once a call has returned the failure, nothing
/// more is handed out: the early data the server decrypted before does not come after it
/// (found by the api_sequence fuzz target).
#[test]
fn close_after_early_data_protects_its_alerts_and_failures_stay_sticky() {
    let mut client = client_config();
    client.versions(Version::Tls13, Version::Tls13).early_data(true);
    let client = client.build().unwrap();
    let mut server = server_config(ECDSA);
    server.max_early_data(16384);
    let server = server.build().unwrap();
    let mut pair = Pair {
        client: Connection::client(&client, "localhost").unwrap(),
        server: Connection::server(&server).unwrap(),
        chunk: usize::MAX,
    };
    pair.client.record_sessions();
    pair.handshake().unwrap();
    pair.server.write(b"x").unwrap();
    pair.transfer();
    pair.read_all(false);
    let mut sessions = pair.client.take_sessions();
    assert_eq!(sessions.len(), 2, "two tickets, each good once");
    let session = sessions.pop().unwrap();

    let mut client_conn = Connection::client_resuming(&client, "localhost", &session).unwrap();
    assert_eq!(client_conn.write_early_data(&[7; 56]).unwrap(), 56);
    client_conn.close().unwrap();
    let sent = client_conn.take_output();
    assert!(!sent.ends_with(&[21, 3, 3, 0, 2, 1, 0]), "close_notify went out in plaintext after early data");
    let mut server_conn = Connection::server(&server).unwrap();
    server_conn.feed(&sent).unwrap();
    // The server reads the early data, then the client's alerts: user_canceled (a warning it
    // passes over) and close_notify.
    let mut early = Vec::new();
    let mut end = None;
    for _ in 0..8 {
        match server_conn.read_available() {
            Ok(Status::Done(b"")) => {
                end = Some(Ok(()));
                break;
            }
            Ok(Status::Done(data)) => early.extend_from_slice(data),
            Ok(_) => {
                server_conn.take_output();
            }
            Err(e) => {
                end = Some(Err(e));
                break;
            }
        }
    }
    assert_eq!(early, [7; 56]);
    let end = end.expect("the server neither failed nor saw the end");
    assert!(!matches!(end, Err(Error::Protocol { error: ProtocolError::BadRecordMac, .. })), "{end:?}");

    // Sticky: a failure do_handshake returned is what read returns next, even with data buffered.
    let mut client_conn = Connection::client_resuming(&client, "localhost", &sessions.pop().unwrap()).unwrap();
    assert_eq!(client_conn.write_early_data(&[7; 56]).unwrap(), 56);
    let mut server_conn = Connection::server(&server).unwrap();
    server_conn.feed(&client_conn.take_output()).unwrap();
    server_conn.feed(&[23, 3, 3, 0, 20]).unwrap();
    server_conn.feed(&[0; 20]).unwrap(); // not a record the early key protects
    let err = loop {
        match server_conn.do_handshake() {
            Ok(Status::WantWrite) => drop(server_conn.take_output()),
            Ok(status) => panic!("{status:?}: the bad record went unnoticed"),
            Err(e) => break e,
        }
    };
    assert_eq!(server_conn.read(&mut [0u8; 64]), Err(err.clone()), "read after the failure");
    assert_eq!(server_conn.read_available().map(|_| ()), Err(err));
}

/// Refused early data was written for the session's application protocol, which the client
/// cannot see: it is sent again only when the protocol cannot have changed (one ALPN protocol
/// offered, and chosen); with several offered the connection fails, saying how much was not
/// sent, rather than handing the server bytes meant for another protocol.
#[test]
fn refused_early_data_is_sent_again_only_when_the_protocol_cannot_have_changed() {
    for (offered, server_alpn, resent) in [
        (&["h2"][..], &["h2"][..], true),
        (&["h2", "http/1.1"][..], &["http/1.1", "h2"][..], false),
        (&["h2"][..], &[][..], false),
    ] {
        let mut client = client_config();
        client.early_data(true).alpn(offered);
        let client = client.build().unwrap();
        let issuing = {
            let mut s = server_config(ECDSA);
            s.max_early_data(16384).alpn(offered);
            s.build().unwrap()
        };
        let mut pair = Pair {
            client: Connection::client(&client, "localhost").unwrap(),
            server: Connection::server(&issuing).unwrap(),
            chunk: usize::MAX,
        };
        pair.client.record_sessions();
        pair.handshake().unwrap();
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        let session = pair.client.take_sessions().pop().unwrap();
        // Another server (it cannot resume the session, so it refuses the early data).
        let mut refusing = server_config(ECDSA);
        refusing.alpn(server_alpn);
        let mut pair = Pair {
            client: Connection::client_resuming(&client, "localhost", &session).unwrap(),
            server: Connection::server(&refusing.build().unwrap()).unwrap(),
            chunk: usize::MAX,
        };
        assert_eq!(pair.client.write_early_data(b"PRI * HTTP/2.0").unwrap(), 14);
        let result = pair.handshake();
        if resent {
            result.unwrap();
            pair.transfer();
            assert_eq!(pair.read_all(true), b"PRI * HTTP/2.0", "{offered:?}");
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.code(), "HANDSHAKE_INCOMPATIBLE", "{offered:?}: {err}");
            assert!(err.to_string().contains("14 bytes of early data"), "{err}");
            pair.transfer();
            assert_eq!(pair.read_all(true), b"", "{offered:?}: nothing sent again");
        }
    }
}

/// An ECHConfigList (X25519, HKDF-SHA256, AES-128-GCM) for `public_name` and a key nobody holds.
fn ech_config_list(public_name: &str) -> Vec<u8> {
    let mut c = vec![7u8, 0x00, 0x20, 0x00, 0x20];
    c.extend([9u8; 32]);
    c.extend([0x00, 0x04, 0x00, 0x01, 0x00, 0x01, 0x00, public_name.len() as u8]);
    c.extend(public_name.as_bytes());
    c.extend([0x00, 0x00]);
    let mut config = vec![0xfe, 0x0d];
    config.extend((c.len() as u16).to_be_bytes());
    config.extend(c);
    let mut list = (config.len() as u16).to_be_bytes().to_vec();
    list.extend(config);
    list
}

#[test]
fn ech_settings_are_checked_and_a_server_without_ech_is_a_typed_rejection() {
    let mut client = client_config();
    for bad in [&b""[..], &b"\x00\x02\xfe\x0d"[..], &ech_config_list("localhost")[..10]] {
        assert!(matches!(client.ech_config_list(bad), Err(ConfigError::BadEchConfig(_))), "{bad:?}");
    }
    // A list of only an unknown version has nothing usable.
    let mut unknown = ech_config_list("localhost");
    unknown[2] = 0xfe;
    unknown[3] = 0x0a;
    assert!(matches!(client.ech_config_list(&unknown), Err(ConfigError::BadEchConfig(_))));

    client.ech_config_list(&ech_config_list("localhost")).unwrap();
    let mut tls12 = client.clone();
    tls12.versions(Version::Tls12, Version::Tls12);
    assert!(matches!(tls12.build(), Err(ConfigError::Rejected(_))));

    // tlswire's server (rustls 0.23) has no ECH: it answers the outer ClientHello, for
    // localhost, and the client ends the handshake with ech_required.
    let (client_err, server_err) = handshake_error(&client, &server_config(ECDSA));
    assert_eq!(client_err.code(), "ECH_REJECTED");
    assert_eq!(client_err.alert_sent(), Some(AlertDescription::EncryptedClientHelloRequired));
    assert_eq!(server_err, Some(Error::AlertReceived(AlertDescription::EncryptedClientHelloRequired)));

    // GREASE completes, over TLS 1.3 only; no GREASE, no ECH.
    let mut grease = client_config();
    grease.ech_grease(true);
    let mut pair = Pair::new(&grease, &server_config(ECDSA));
    pair.handshake().unwrap();
    let info = pair.client.info().unwrap();
    assert_eq!((info.ech, info.version), (EchStatus::Grease, Version::Tls13));
    assert_eq!(pair.server.info().unwrap().ech, EchStatus::NotOffered);
    grease.ech_grease(false);
    let mut pair = Pair::new(&grease, &server_config(ECDSA));
    pair.handshake().unwrap();
    assert_eq!(pair.client.info().unwrap().ech, EchStatus::NotOffered);
}

#[test]
fn ech_configurations_with_an_invalid_public_name_are_skipped() {
    let mut c = client_config();
    for bad in ["dns_names_have_no_underscores.example", "192.168.0.1", "example.0x7f", "-lead.example"] {
        assert!(matches!(c.ech_config_list(&ech_config_list(bad)), Err(ConfigError::BadEchConfig(_))), "{bad}");
    }
    // A bad one before a good one: the good one is used.
    let bad = ech_config_list("dns_names_have_no_underscores.example");
    let good = ech_config_list("public.example");
    let mut both = ((bad.len() - 2 + good.len() - 2) as u16).to_be_bytes().to_vec();
    both.extend(&bad[2..]);
    both.extend(&good[2..]);
    c.ech_config_list(&both).unwrap();
    c.build().unwrap();
}

#[test]
fn a_server_hook_judges_client_certificates_it_dangerously_accepts_from_any_issuer() {
    // The client certificate's issuer (the test CA) is unknown to this server: it asks for any
    // certificate and its hook decides, by the certificate's bytes.
    let client_cert = certificates_from(CLIENT.0).unwrap()[0].to_vec();
    for (accept, version) in
        [(true, Version::Tls13), (false, Version::Tls13), (true, Version::Tls12), (false, Version::Tls12)]
    {
        let mut server = server_config(ECDSA);
        server.client_auth(ClientAuth::Required, OTHER_CA).unwrap();
        server.dangerously_accept_any_client_certificate(ClientAuth::Required);
        let mut client = client_config();
        client.versions(version, version).client_auth(CLIENT.0, CLIENT.1).unwrap();
        let mut pair = Pair::new(&client, &server);
        let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
        let (sink, expected) = (seen.clone(), client_cert.clone());
        pair.server
            .set_verify_hook(Box::new(move |name, chain| {
                sink.lock().unwrap().push((name.to_string(), chain.len()));
                if accept && chain[0] == expected.as_slice() {
                    Ok(())
                } else {
                    Err("not a registered device".into())
                }
            }))
            .unwrap();
        let result = pair.handshake();
        assert_eq!(*seen.lock().unwrap(), vec![(String::new(), 1)], "{version:?}");
        if accept {
            result.unwrap();
            assert_eq!(pair.server.info().unwrap().peer_certificates, vec![client_cert.clone()]);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.code(), "CERT_REJECTED", "{version:?}: {err}");
            assert_eq!(err.alert_sent(), Some(AlertDescription::CertificateUnknown));
        }
    }
    // Without the dangerous setting the CA check still comes first: the hook never runs.
    let mut server = server_config(ECDSA);
    server.client_auth(ClientAuth::Required, OTHER_CA).unwrap();
    let mut client = client_config();
    client.client_auth(CLIENT.0, CLIENT.1).unwrap();
    let (err, _) = {
        let mut pair = Pair::new(&client, &server);
        pair.server.set_verify_hook(Box::new(|_, _| panic!("the hook runs after the CA check"))).unwrap();
        let err = loop {
            let _ = pair.client.do_handshake();
            if let Err(e) = pair.server.do_handshake() {
                break e;
            }
            pair.transfer();
        };
        (err, ())
    };
    assert_eq!(err.code(), "CERT_UNKNOWN_ISSUER");
}
