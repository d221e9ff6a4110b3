//! The fuzz targets' bodies, shared by the libFuzzer binaries (`fuzz_targets/`, run by
//! `fuzz/run.sh` with cargo-fuzz) and the stable smoke test (`tests/tests/fuzz_smoke.rs`, in the
//! test command). Each feeds arbitrary bytes to one surface and checks what must hold whatever
//! the input: no panic, and errors are sticky (the same error again, nothing accepted after).

// Each binary uses one target: the others are dead code there.
#![allow(dead_code)]

use std::sync::OnceLock;

use tlswire::{
    ClientConfig, ClientContext, Connection, Direction, Error, Message, ServerConfig, ServerContext, Status,
};

const CA: &[u8] = include_bytes!("../crates/tlswire/testdata/ca.pem");
const CERT: &[u8] = include_bytes!("../crates/tlswire/testdata/server-ecdsa.pem");
const KEY: &[u8] = include_bytes!("../crates/tlswire/testdata/server-ecdsa.key");

pub fn client_context() -> &'static ClientContext {
    static CTX: OnceLock<ClientContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut c = ClientConfig::new();
        c.add_ca(CA).unwrap();
        c.build().unwrap()
    })
}

pub fn server_context() -> &'static ServerContext {
    static CTX: OnceLock<ServerContext> = OnceLock::new();
    CTX.get_or_init(|| ServerConfig::new(CERT, KEY).unwrap().build().unwrap())
}

/// A client that sent its ClientHello, fed `data` as the server's bytes (the first byte picks
/// the chunk size), with or without the message observer.
pub fn client(data: &[u8], observe: bool) {
    let Some((&chunk, input)) = data.split_first() else { return };
    let mut conn = Connection::client(client_context(), "localhost").unwrap();
    if observe {
        conn.set_msg_callback(Box::new(|m: &Message<'_>| {
            let _ = tlswire::format_message(m);
        }))
        .unwrap();
    }
    let _ = conn.do_handshake();
    conn.take_output();
    drive(&mut conn, input, usize::from(chunk).max(1));
}

/// A server fed `data` as the client's bytes (the first byte picks the chunk size).
pub fn server(data: &[u8]) {
    let Some((&chunk, input)) = data.split_first() else { return };
    let mut conn = Connection::server(server_context()).unwrap();
    drive(&mut conn, input, usize::from(chunk).max(1));
}

fn drive(conn: &mut Connection, input: &[u8], chunk: usize) {
    let mut failure: Option<Error> = None;
    for piece in input.chunks(chunk) {
        if let Err(e) = conn.feed(piece) {
            assert_eq!(Some(&e), failure.as_ref(), "feed refused without an earlier failure");
            break;
        }
        match step(conn) {
            Ok(()) => {}
            Err(e) => {
                conn.take_output();
                // Sticky: the same error from every call; no input taken after it.
                assert_eq!(step(conn).unwrap_err(), e);
                assert_eq!(conn.feed(b"\x17\x03\x03\x00\x01\x00").unwrap_err(), e);
                failure = Some(e);
                break;
            }
        }
        conn.take_output();
    }
    conn.feed_eof();
    if failure.is_none() {
        let _ = step(conn);
    }
    let _ = conn.close();
    conn.take_output();
}

/// The handshake, then a read, as far as the input allows.
fn step(conn: &mut Connection) -> Result<(), Error> {
    if !conn.is_handshake_done() {
        match conn.do_handshake()? {
            Status::Done(()) => {}
            _ => return Ok(()),
        }
    }
    let mut buf = [0u8; 4096];
    while let Status::Done(n) = conn.read(&mut buf)? {
        if n == 0 {
            break;
        }
    }
    Ok(())
}

/// The observer's formatting of any message, and the certificate-subject reader.
pub fn observer(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let content_type = [20, 21, 22, 23, 256, 257][usize::from(selector % 6)];
    let direction = if selector & 0x80 == 0 { Direction::Sent } else { Direction::Received };
    let version = [0x0301, 0x0303, 0x0304][usize::from(selector >> 3) % 3];
    let _ = tlswire::format_message(&Message { direction, version, content_type, bytes });
    let _ = tlswire::certificate_subject(bytes);
}

/// Configuration input: PEM/DER certificates, keys and CRLs, packed trust anchors.
pub fn parse(data: &[u8]) {
    if let Ok(certs) = tlswire::certificates_from(data) {
        for cert in &certs {
            let _ = tlswire::spki_sha256(cert);
            let _ = tlswire::certificate_subject(cert);
        }
        let mut c = ClientConfig::new();
        if c.add_ca(data).is_ok() {
            let _ = c.build();
        }
    }
    let _ = tlswire::private_key_from(data);
    let _ = tlswire::crls_from(data);
    let _ = ClientConfig::new().add_packed_trust_anchors(data);
    if let Ok(s) = ServerConfig::new(CERT, data) {
        let _ = s.build();
    }
    if let Ok(s) = ServerConfig::new(data, KEY) {
        let _ = s.build();
    }
}
