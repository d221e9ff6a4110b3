//! Bad input over real TCP: hostile bytes from a raw server, and a relay in front of
//! `openssl s_server` that cuts the stream at a record boundary or inside a record. Each case
//! must end in the right typed error (and alert), without losing data that arrived before it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use tlswire::{AlertDescription, Error, Status, TransportError};
use tlswire_interop::*;

/// A one-connection server that reads the ClientHello, answers `reply` (then closes its side if
/// `close`), and returns what the client sent afterwards (its alert).
fn hostile_server(reply: Vec<u8>, close: bool) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut hello = [0u8; 4096];
        let _ = sock.read(&mut hello).unwrap();
        sock.write_all(&reply).unwrap();
        if close {
            sock.shutdown(Shutdown::Write).unwrap();
        }
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
        rest
    });
    (port, handle)
}

fn handshake_against(reply: Vec<u8>) -> (Error, Vec<u8>) {
    let (port, server) = hostile_server(reply, false);
    // The failed session is dropped inside `connect`, closing our side: the server's read ends.
    let err = connect(&client(|_| {}), "localhost", port).err().expect("handshake must fail");
    (err, server.join().unwrap())
}

#[test]
fn hostile_replies_get_typed_errors_and_alerts() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("garbage", b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), "PROTOCOL_MALFORMED"),
        ("oversized record", vec![0x16, 0x03, 0x03, 0x48, 0x01, 0x00], "PROTOCOL_MALFORMED"),
        // A Finished before any ServerHello: out of order.
        ("out of order", vec![0x16, 0x03, 0x03, 0x00, 0x08, 20, 0, 0, 4, 1, 2, 3, 4], "PROTOCOL_VIOLATION"),
        ("application data first", vec![0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb], "PROTOCOL_VIOLATION"),
    ];
    for (name, reply, code) in cases {
        let (err, sent) = handshake_against(reply);
        assert_eq!(err.code(), code, "{name}: {err}");
        let alert = err.alert_sent().unwrap_or_else(|| panic!("{name}: no alert"));
        // The alert really went out on the wire: a plaintext alert record, level fatal.
        assert_eq!(&sent[..3], &[0x15, 0x03, 0x03], "{name}: {sent:02x?}");
        assert_eq!(&sent[5..7], &[2, u8::from(alert)], "{name}");
    }
}

#[test]
fn server_closing_inside_its_first_record() {
    // The first 2 bytes of a 122-byte ServerHello record, then FIN.
    let (port, server) = hostile_server(vec![0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00], true);
    let err = connect(&client(|_| {}), "localhost", port).err();
    assert_eq!(err.map(|e| e.code()), Some("CLOSED_DURING_HANDSHAKE"));
    server.join().unwrap();
}

/// What the relay does with a record from the server.
enum Verdict {
    Forward,
    /// Close the client connection without forwarding it (a cut at a record boundary).
    Close,
    /// Forward its first half, then close (a cut inside a record).
    HalfThenClose,
}

/// A TCP relay to `upstream` that forwards client bytes as they come and server records whole,
/// asking `on_record` (which may also alter the record) what to do with each.
fn relay(upstream: u16, mut on_record: impl FnMut(&mut Vec<u8>) -> Verdict + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
        let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = c_in.read(&mut buf) {
                if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        let (mut s_in, mut c_out) = (server, client);
        loop {
            let mut record = vec![0u8; 5];
            if s_in.read_exact(&mut record).is_err() {
                break;
            }
            record.resize(5 + u16::from_be_bytes([record[3], record[4]]) as usize, 0);
            if s_in.read_exact(&mut record[5..]).is_err() {
                break;
            }
            let forward = match on_record(&mut record) {
                Verdict::Forward => &record[..],
                Verdict::Close => break,
                Verdict::HalfThenClose => {
                    let _ = c_out.write_all(&record[..record.len() / 2]);
                    break;
                }
            };
            if c_out.write_all(forward).is_err() {
                break;
            }
        }
        let _ = c_out.shutdown(Shutdown::Both);
    });
    port
}

#[derive(Clone, Copy, PartialEq)]
enum Cut {
    Never,
    AtBoundary,
    MidRecord,
}

/// A relay that cuts on the first server record after `mode` is set.
fn cutting_relay(upstream: u16, mode: Arc<Mutex<Cut>>) -> u16 {
    relay(upstream, move |_| match *mode.lock().unwrap() {
        Cut::Never => Verdict::Forward,
        Cut::AtBoundary => Verdict::Close,
        Cut::MidRecord => Verdict::HalfThenClose,
    })
}

fn read_err(s: &mut Session) -> Error {
    let mut buf = [0u8; 1024];
    loop {
        match s.conn.read(&mut buf) {
            Ok(Status::Done(0)) => panic!("clean EOF where none was sent"),
            Ok(Status::Done(_)) => {}
            Ok(Status::WantRead) => s.fill(),
            Ok(Status::WantWrite) => s.flush(),
            Err(e) => return e,
        }
    }
}

#[test]
fn peer_dropping_tcp_without_close_notify_is_truncation_not_eof() {
    for (cut, expected) in
        [(Cut::AtBoundary, TransportError::Truncated), (Cut::MidRecord, TransportError::ClosedMidRecord)]
    {
        let peer = openssl_server("server-ecdsa", &[]);
        let mode = Arc::new(Mutex::new(Cut::Never));
        let port = cutting_relay(peer.port, mode.clone());
        let mut s = connect(&client(|_| {}), "localhost", port).unwrap();
        s.write(b"first\n");
        // Everything before the cut arrives intact.
        assert_eq!(s.read_exact(6).unwrap(), b"tsrif\n");
        *mode.lock().unwrap() = cut;
        s.write(b"second\n");
        assert_eq!(read_err(&mut s), Error::Transport(expected));
    }
}

#[test]
fn bridge_closing_mid_handshake() {
    for cut in [Cut::AtBoundary, Cut::MidRecord] {
        let peer = openssl_server("server-ecdsa", &[]);
        let port = cutting_relay(peer.port, Arc::new(Mutex::new(cut)));
        let err = connect(&client(|_| {}), "localhost", port).err().unwrap();
        assert_eq!(err, Error::Transport(TransportError::ClosedDuringHandshake));
    }
}

#[test]
fn tampered_record_from_a_real_server_is_bad_record_mac() {
    // Flip a bit in the server's reply on the way: the client must say bad_record_mac.
    let peer = openssl_server("server-ecdsa", &[]);
    let mut app_records = 0;
    let port = relay(peer.port, move |record| {
        if record[0] == 0x17 {
            app_records += 1;
            // Records 1-6 are the server's handshake and two tickets; 7+ carry our reply.
            if app_records >= 7 {
                let last = record.len() - 1;
                record[last] ^= 0x01;
            }
        }
        Verdict::Forward
    });
    let mut s = connect(&client(|_| {}), "localhost", port).unwrap();
    s.write(b"x\n");
    let err = read_err(&mut s);
    assert_eq!(err.code(), "BAD_RECORD_MAC", "{err}");
    assert_eq!(err.alert_sent(), Some(AlertDescription::BadRecordMac));
}
