//! Attacks on the code tlswire adds around rustls, each against the public API on in-memory
//! pairs: a review, done as an attacker would, of the fixes of the ClientHello checks, verify
//! hooks on resumption, early data and stored sessions. Each test failed while its attack worked;
//! the doc comment of each says what the attack was.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tlswire::*;

const CA: &[u8] = include_bytes!("../../crates/tlswire/testdata/ca.pem");
const ECDSA: (&[u8], &[u8]) = (
    include_bytes!("../../crates/tlswire/testdata/server-ecdsa.pem"),
    include_bytes!("../../crates/tlswire/testdata/server-ecdsa.key"),
);
const CLIENT: (&[u8], &[u8]) = (
    include_bytes!("../../crates/tlswire/testdata/client.pem"),
    include_bytes!("../../crates/tlswire/testdata/client.key"),
);

/// 2030-01-01, inside the test certificates' validity.
const NOW: u64 = 1_893_456_000;

#[derive(Debug)]
struct Clock(u64);

impl TimeProvider for Clock {
    fn current_time(&self) -> Option<pki_types::UnixTime> {
        Some(pki_types::UnixTime::since_unix_epoch(Duration::from_secs(self.0)))
    }
}

fn client_config_at(now: u64) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.clock(Arc::new(Clock(now)));
    c.add_ca(CA).unwrap();
    c
}

fn client_config() -> ClientConfig {
    client_config_at(NOW)
}

fn server_config_at(now: u64) -> ServerConfig {
    let mut s = ServerConfig::new(ECDSA.0, ECDSA.1).unwrap();
    s.clock(Arc::new(Clock(now)));
    s
}

fn server_config() -> ServerConfig {
    server_config_at(NOW)
}

struct Pair {
    client: Connection,
    server: Connection,
}

impl Pair {
    fn transfer(&mut self) -> bool {
        let a = self.client.take_output();
        let b = self.server.take_output();
        if !a.is_empty() {
            self.server.feed(&a).unwrap();
        }
        if !b.is_empty() {
            self.client.feed(&b).unwrap();
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

/// The ClientHello message (no record header) a client with `client` sends.
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

/// The server's first answer to `input`: (first record's type, its first payload byte, error).
fn server_answer(server: &ServerConfig, input: &[u8]) -> (u8, u8, Option<Error>) {
    let mut conn = Connection::server(&server.build().unwrap()).unwrap();
    conn.feed(input).unwrap();
    let err = conn.do_handshake().err();
    let out = conn.take_output();
    assert!(out.len() > 5, "no answer");
    (out[0], out[5], err)
}

// ---------------------------------------------------------------------------------------------
// 1. The ClientHello checks (hello::Gatherer): a record rustls passes over before the hello.
// ---------------------------------------------------------------------------------------------

/// A network attacker puts a warning alert record (not in the transcript, and rustls 0.23 passes
/// over warning alerts while no version is negotiated) in front of a fallback ClientHello. The
/// Gatherer sees a record that is not a handshake record, answers "not a hello" and hands
/// everything to rustls unchecked: RFC 7507's TLS_FALLBACK_SCSV check (and the SSL 3.0 and
/// missing key_share checks) are bypassed again, as with the re-framing of issue 21.
#[test]
fn a_warning_alert_before_the_hello_does_not_skip_the_fallback_check() {
    let mut tls12 = client_config();
    tls12.versions(Version::Tls12, Version::Tls12);
    let message = with_cipher_suite(&client_hello_of(&tls12), 0x5600);
    let server = server_config();
    // Control: the hello alone is refused.
    let (typ, _, err) = server_answer(&server, &framed(&message, &[]));
    assert_eq!((typ, err.and_then(|e| e.alert_sent())), (21, Some(AlertDescription::InappropriateFallback)));
    // user_canceled (90), no_renegotiation (100), an unassigned description (200).
    for description in [90u8, 100, 200] {
        let mut input = vec![21, 3, 3, 0, 2, 1, description];
        input.extend(framed(&message, &[]));
        let (typ, first, err) = server_answer(&server, &input);
        assert_eq!(
            (typ, err.as_ref().and_then(|e| e.alert_sent())),
            (21, Some(AlertDescription::InappropriateFallback)),
            "warning alert {description} first: the server answered with a record of type {typ} (first byte \
             {first}), error {err:?}: the fallback hello went through unchecked"
        );
    }
}

/// The same bypass for the SSL 3.0 check (RFC 8446 appendix D.5: protocol_version).
#[test]
fn a_warning_alert_before_the_hello_does_not_skip_the_ssl3_check() {
    let mut tls12 = client_config();
    tls12.versions(Version::Tls12, Version::Tls12);
    let mut message = client_hello_of(&tls12);
    message[4..6].copy_from_slice(&[3, 0]); // legacy_version SSL 3.0
    let server = server_config();
    let (_, _, err) = server_answer(&server, &framed(&message, &[]));
    assert_eq!(err.as_ref().and_then(|e| e.alert_sent()), Some(AlertDescription::ProtocolVersion), "control");
    let mut input = vec![21, 3, 3, 0, 2, 1, 90];
    input.extend(framed(&message, &[]));
    let (typ, first, err) = server_answer(&server, &input);
    assert_eq!(
        err.as_ref().and_then(|e| e.alert_sent()),
        Some(AlertDescription::ProtocolVersion),
        "after a warning alert: answered type {typ} / {first}, error {err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Verify hooks on resumed sessions (connection.rs judge_resumed_chain).
// ---------------------------------------------------------------------------------------------

fn revocable_hook(revoked: &Arc<Mutex<bool>>) -> VerifyHook {
    let revoked = revoked.clone();
    Box::new(move |_, _| if *revoked.lock().unwrap() { Err("revoked".into()) } else { Ok(()) })
}

/// A full handshake with client authentication; returns the client's session bytes.
fn session_with_client_cert(client: &ClientContext, server: &ServerContext, revoked: &Arc<Mutex<bool>>) -> Vec<u8> {
    let mut pair =
        Pair { client: Connection::client(client, "localhost").unwrap(), server: Connection::server(server).unwrap() };
    pair.server.set_verify_hook(revocable_hook(revoked)).unwrap();
    pair.client.record_sessions();
    pair.handshake().unwrap();
    pair.server.write(b"x").unwrap();
    pair.transfer();
    pair.read_all(false);
    pair.client.take_sessions().pop().expect("a session")
}

/// A revoked device (its certificate now refused by the server's checkClientCertificate hook)
/// still holds a ticket. It resumes with early data and puts any undecryptable record after the
/// early data in the same flight. rustls decrypts the early data, then fails on the bad record;
/// `pump` runs `judge_resumed_chain` only when rustls succeeded, and `read` hands out data
/// "decrypted before the failure" first: the server application reads the revoked device's
/// early data, although the fix promised that the hook judges "before any data (a server's
/// early data included) is handed out".
#[test]
fn a_revoked_clients_early_data_is_not_read_when_its_flight_ends_with_a_bad_record() {
    let mut server = server_config();
    server.client_auth(ClientAuth::Required, CA).unwrap().max_early_data(16384);
    let server = server.build().unwrap();
    let mut client = client_config();
    client.versions(Version::Tls13, Version::Tls13).client_auth(CLIENT.0, CLIENT.1).unwrap().early_data(true);
    let client = client.build().unwrap();
    let revoked = Arc::new(Mutex::new(false));
    let session = session_with_client_cert(&client, &server, &revoked);

    *revoked.lock().unwrap() = true;
    let mut device = Connection::client_resuming(&client, "localhost", &session).unwrap();
    assert_eq!(device.write_early_data(b"unlock the door").unwrap(), 15);
    let mut flight = device.take_output();
    flight.extend([23, 3, 3, 0, 20]);
    flight.extend([0; 20]); // any record the early key did not protect
    let mut conn = Connection::server(&server).unwrap();
    conn.set_verify_hook(revocable_hook(&revoked)).unwrap();
    conn.feed(&flight).unwrap();
    let mut buf = [0u8; 64];
    let got = conn.read(&mut buf);
    if let Ok(Status::Done(n)) = got {
        panic!(
            "the server application read {:?} from a client its hook refuses (the failure came only after)",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    // Without the bad record the hook refuses it (control: the fix works on the plain path).
    let mut device =
        Connection::client_resuming(&client, "localhost", &session_with_client_cert(&client, &server, &Arc::default()))
            .unwrap();
    device.write_early_data(b"unlock the door").unwrap();
    let mut conn = Connection::server(&server).unwrap();
    conn.set_verify_hook(revocable_hook(&revoked)).unwrap();
    conn.feed(&device.take_output()).unwrap();
    assert_eq!(conn.read(&mut buf).unwrap_err().code(), "CERT_REJECTED");
}

/// A client whose checkServerIdentity-style hook now refuses the server's (stored) chain still
/// encrypts its early data to that server: the hook judges the stored chain only once the
/// ServerHello accepted the session, after the early data went out with the ClientHello. The
/// stored chain is known before the ClientHello is written, so it can be judged there.
#[test]
fn a_client_with_a_verify_hook_sends_no_early_data() {
    let mut server = server_config();
    server.max_early_data(16384);
    let server = server.build().unwrap();
    let mut client = client_config();
    client.versions(Version::Tls13, Version::Tls13).early_data(true);
    let client = client.build().unwrap();
    let mut pair = Pair {
        client: Connection::client(&client, "localhost").unwrap(),
        server: Connection::server(&server).unwrap(),
    };
    pair.client.record_sessions();
    pair.handshake().unwrap();
    pair.server.write(b"x").unwrap();
    pair.transfer();
    pair.read_all(false);
    let session = pair.client.take_sessions().pop().unwrap();

    let revoked = Arc::new(Mutex::new(true)); // the server's certificate is refused now
    let mut conn = Connection::client_resuming(&client, "localhost", &session).unwrap();
    conn.set_verify_hook(revocable_hook(&revoked)).unwrap();
    let n = conn.write_early_data(b"password=hunter2").unwrap();
    let mut server_conn = Connection::server(&server).unwrap();
    server_conn.feed(&conn.take_output()).unwrap();
    let mut buf = [0u8; 64];
    let got = server_conn.read(&mut buf);
    assert!(
        !matches!(got, Ok(Status::Done(m)) if m > 0),
        "write_early_data took {n} bytes and the server read {:?}, though the client's hook refuses that server",
        got.map(|s| match s {
            Status::Done(m) => String::from_utf8_lossy(&buf[..m]).into_owned(),
            other => format!("{other:?}"),
        })
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Stored sessions: the 7-day cap.
// ---------------------------------------------------------------------------------------------

/// SECURITY.md: write access to session storage is a man in the middle "until the session
/// expires (at most 7 days)". The epoch (when the session was received) is read from the blob
/// as it is: a planted blob whose epoch lies in the future never expires.
#[test]
fn a_stored_session_from_the_future_is_not_offered() {
    let mut failures = Vec::new();
    for version in [Version::Tls13, Version::Tls12] {
        let mut client = client_config();
        client.versions(version, version);
        let server = server_config().build().unwrap();
        let mut pair = Pair {
            client: Connection::client(&client.build().unwrap(), "localhost").unwrap(),
            server: Connection::server(&server).unwrap(),
        };
        pair.client.record_sessions();
        pair.handshake().unwrap();
        pair.server.write(b"x").unwrap();
        pair.transfer();
        pair.read_all(false);
        let session = pair.client.take_sessions().pop().unwrap();
        let later = NOW + 365 * 24 * 3600; // a year later
        let mut later_client = client_config_at(later);
        later_client.versions(version, version);
        let later_client = later_client.build().unwrap();
        // Does the ClientHello offer the session? TLS 1.3: pre_shared_key (41); TLS 1.2: a
        // ticket (35, non-empty).
        let offered = |session: &[u8]| {
            let mut conn = Connection::client_resuming(&later_client, "localhost", session).unwrap();
            conn.do_handshake().unwrap();
            let hello = conn.take_output();
            match version {
                Version::Tls13 => contains_extension(&hello[5..], 41),
                _ => contains_nonempty_extension(&hello[5..], 35),
            }
        };
        // Control: as stored, a year later it has expired.
        assert!(!offered(&session), "{version:?}: control");
        // The epoch is the clock's time at receipt, a big-endian u64 in the blob.
        let mut edited = session.clone();
        let at = edited.windows(8).position(|w| w == NOW.to_be_bytes()).expect("the epoch in the blob");
        edited[at..at + 8].copy_from_slice(&(later + 300 * 24 * 3600).to_be_bytes());
        if offered(&edited) {
            failures.push(format!(
                "{version:?}: a session received a year ago, its epoch edited to the future, is still offered"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn extensions(message: &[u8]) -> Vec<(u16, &[u8])> {
    let mut at = 4 + 2 + 32;
    at += 1 + message[at] as usize;
    at += 2 + u16::from_be_bytes([message[at], message[at + 1]]) as usize;
    at += 1 + message[at] as usize;
    at += 2;
    let mut out = Vec::new();
    while at + 4 <= message.len() {
        let typ = u16::from_be_bytes([message[at], message[at + 1]]);
        let len = u16::from_be_bytes([message[at + 2], message[at + 3]]) as usize;
        out.push((typ, &message[at + 4..at + 4 + len]));
        at += 4 + len;
    }
    out
}

fn contains_extension(message: &[u8], typ: u16) -> bool {
    extensions(message).iter().any(|(t, _)| *t == typ)
}

fn contains_nonempty_extension(message: &[u8], typ: u16) -> bool {
    extensions(message).iter().any(|(t, d)| *t == typ && !d.is_empty())
}

// ---------------------------------------------------------------------------------------------
// 4. Resource use of the hello gathering.
// ---------------------------------------------------------------------------------------------

/// A ClientHello near 64 KiB in one-byte records (the most input the gathering holds back from
/// rustls, about 390 KB), fed in one piece and a record at a time, gets the same answer.
#[test]
fn a_large_hello_in_one_byte_records_gets_the_same_answer_however_fed() {
    let message = client_hello_of(&client_config());
    let mut big = message.clone();
    // Pad with unassigned extensions to ~60 KiB.
    let mut extra = Vec::new();
    for typ in 0x2000u16..0x2000 + 15000 {
        extra.extend(typ.to_be_bytes());
        extra.extend([0, 0]);
    }
    let exts_at = {
        let mut at = 4 + 2 + 32;
        at += 1 + message[at] as usize;
        at += 2 + u16::from_be_bytes([message[at], message[at + 1]]) as usize;
        at + 1 + message[at] as usize
    };
    let exts_len = u16::from_be_bytes([big[exts_at], big[exts_at + 1]]) as usize + extra.len();
    big[exts_at..exts_at + 2].copy_from_slice(&(exts_len as u16).to_be_bytes());
    big.extend(extra);
    let body = (big.len() - 4) as u32;
    big[1..4].copy_from_slice(&body.to_be_bytes()[1..]);
    let cuts: Vec<usize> = (1..big.len()).collect();
    let input = framed(&big, &cuts);
    let server = server_config().build().unwrap();
    let mut conn = Connection::server(&server).unwrap();
    conn.feed(&input).unwrap();
    let whole = conn.do_handshake();
    let mut conn = Connection::server(&server).unwrap();
    let mut stepwise = Ok(Status::WantRead);
    for record in input.chunks(6) {
        conn.feed(record).unwrap();
        stepwise = conn.do_handshake();
        if stepwise.is_err() {
            break;
        }
    }
    // The same answer however it arrives (the time it takes is bench/'s to measure).
    assert_eq!(whole.is_ok(), stepwise.is_ok(), "{whole:?} {stepwise:?}");
    assert!(whole.is_ok(), "a hello of {} bytes in one-byte records: {whole:?}", big.len());
}

/// Which records in front of a fallback hello make the server skip its checks: a survey (each
/// prefix the server passes over without refusing the hello is a bypass).
#[test]
fn records_rustls_passes_over_before_the_hello_never_skip_the_checks() {
    let mut tls12 = client_config();
    tls12.versions(Version::Tls12, Version::Tls12);
    let message = with_cipher_suite(&client_hello_of(&tls12), 0x5600);
    let server = server_config();
    let prefixes: [(&str, Vec<u8>); 7] = [
        ("warning close_notify", vec![21, 3, 3, 0, 2, 1, 0]),
        ("warning user_canceled", vec![21, 3, 3, 0, 2, 1, 90]),
        ("4 warning alerts", [21, 3, 3, 0, 2, 1, 90].repeat(4)),
        ("empty application_data", vec![23, 3, 3, 0, 0]),
        ("ChangeCipherSpec", vec![20, 3, 3, 0, 1, 1]),
        ("heartbeat", vec![24, 3, 3, 0, 3, 1, 0, 0]),
        ("alert with record version 3.0", vec![21, 3, 0, 0, 2, 1, 90]),
    ];
    let mut bypasses = Vec::new();
    for (name, prefix) in prefixes {
        let input = [prefix, framed(&message, &[])].concat();
        let (typ, first, err) = server_answer(&server, &input);
        eprintln!("{name}: answer type {typ} first byte {first}, {err:?}");
        if (typ, first) == (22, 2) {
            bypasses.push(name);
        }
    }
    assert!(bypasses.is_empty(), "a ServerHello to a fallback hello after: {bypasses:?}");
}
