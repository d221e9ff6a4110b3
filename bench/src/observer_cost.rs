//! What the message observer costs: handshakes and bulk transfer on an in-memory client/server
//! pair, with no callback, and with a callback that formats every message like `-msg`.
//!
//! `cargo run --release -p tlswire-bench --bin observer-cost`. Prints the median of several
//! rounds per case, in the same process, on the same machine, and the same bulk receive on
//! rustls's unbuffered API driven directly (the baseline for "no callback costs nothing").

use std::hint::black_box;
use std::time::{Duration, Instant};

use tlswire::{format_message, ClientConfig, Connection, ServerConfig, Status};

const CA: &[u8] = include_bytes!("../../crates/tlswire/testdata/ca.pem");
const CERT: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-ecdsa.pem");
const KEY: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-ecdsa.key");

const ROUNDS: usize = 7;
const HANDSHAKES: usize = 100;
const BULK_BYTES: usize = 64 << 20;
const WRITE_SIZE: usize = 16384;

#[derive(Clone, Copy, PartialEq)]
enum Observer {
    Off,
    Formatting,
}

fn pair(observer: Observer) -> (Connection, Connection) {
    let mut c = ClientConfig::new();
    c.add_ca(CA).unwrap();
    let client_ctx = c.build().unwrap();
    let server_ctx = ServerConfig::new(CERT, KEY).unwrap().build().unwrap();
    let mut client = Connection::client(&client_ctx, "localhost").unwrap();
    let server = Connection::server(&server_ctx).unwrap();
    if observer == Observer::Formatting {
        client
            .set_msg_callback(Box::new(|m| {
                black_box(format_message(m));
            }))
            .unwrap();
    }
    (client, server)
}

fn handshake(client: &mut Connection, server: &mut Connection) {
    loop {
        let c = client.do_handshake().unwrap();
        let s = server.do_handshake().unwrap();
        let (a, b) = (client.take_output(), server.take_output());
        server.feed(&a).unwrap();
        client.feed(&b).unwrap();
        if c == Status::Done(()) && s == Status::Done(()) && a.is_empty() && b.is_empty() {
            return;
        }
    }
}

fn handshakes(observer: Observer) -> Duration {
    let start = Instant::now();
    for _ in 0..HANDSHAKES {
        let (mut c, mut s) = pair(observer);
        handshake(&mut c, &mut s);
    }
    start.elapsed() / HANDSHAKES as u32
}

/// Server → client bulk data: the client (observed side) decrypts every record.
fn bulk(observer: Observer) -> Duration {
    let (mut c, mut s) = pair(observer);
    handshake(&mut c, &mut s);
    let chunk = vec![0xa5u8; WRITE_SIZE];
    let mut buf = vec![0u8; 65536];
    let start = Instant::now();
    let mut received = 0;
    while received < BULK_BYTES {
        assert_eq!(s.write(&chunk).unwrap(), Status::Done(WRITE_SIZE));
        c.feed(&s.take_output()).unwrap();
        while let Status::Done(n) = c.read(&mut buf).unwrap() {
            received += n;
        }
    }
    start.elapsed()
}

/// The same bulk receive on rustls's unbuffered API driven directly (same provider, no tlswire
/// layer, no tap): the baseline that "no callback" must match.
fn bulk_rustls_direct() -> Duration {
    use rustls::client::UnbufferedClientConnection;
    use rustls::unbuffered::{ConnectionState, UnbufferedStatus};
    let mut roots = rustls::RootCertStore::empty();
    for cert in tlswire::certificates_from(CA).unwrap() {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(tlswire_crypto::provider_arc())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut client =
        UnbufferedClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let server_ctx = ServerConfig::new(CERT, KEY).unwrap().build().unwrap();
    let mut server = Connection::server(&server_ctx).unwrap();
    let (mut incoming, mut outgoing) = (Vec::new(), vec![0u8; 1 << 16]);
    let mut received = 0;
    let mut handshake_done = false;
    let chunk = vec![0xa5u8; WRITE_SIZE];
    let mut start = Instant::now();
    loop {
        let mut out_len = 0;
        let mut idle = false;
        let UnbufferedStatus { mut discard, state } = client.process_tls_records(&mut incoming);
        match state.unwrap() {
            ConnectionState::EncodeTlsData(mut e) => out_len = e.encode(&mut outgoing).unwrap(),
            ConnectionState::TransmitTlsData(t) => t.done(),
            ConnectionState::ReadTraffic(mut r) => {
                while let Some(rec) = r.next_record() {
                    let rec = rec.unwrap();
                    discard += rec.discard;
                    received += black_box(rec.payload).len();
                }
            }
            ConnectionState::WriteTraffic(_) | ConnectionState::BlockedHandshake => idle = true,
            _ => {}
        }
        incoming.drain(..discard);
        server.feed(&outgoing[..out_len]).unwrap();
        if idle {
            if !handshake_done && !client.is_handshaking() {
                handshake_done = true;
                start = Instant::now();
            }
            if received >= BULK_BYTES {
                return start.elapsed();
            }
            if handshake_done {
                assert_eq!(server.write(&chunk).unwrap(), Status::Done(WRITE_SIZE));
            } else {
                let _ = server.do_handshake().unwrap();
            }
            incoming.extend_from_slice(&server.take_output());
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!("tlswire observer cost (in-memory pair, ECDSA P-256 server, TLS 1.3, X25519MLKEM768)");
    println!("{ROUNDS} rounds, median; {HANDSHAKES} handshakes per round; {} MiB per bulk round", BULK_BYTES >> 20);
    let mut rows = Vec::new();
    for (name, observer) in [("no callback", Observer::Off), ("-msg formatting callback", Observer::Formatting)] {
        let hs = median((0..ROUNDS).map(|_| handshakes(observer)).collect());
        let bulk = median((0..ROUNDS).map(|_| bulk(observer)).collect());
        let mibps = (BULK_BYTES as f64 / (1 << 20) as f64) / bulk.as_secs_f64();
        println!("{name:>26}: handshake {:>8.1} µs   bulk receive {:>7.1} MiB/s", hs.as_secs_f64() * 1e6, mibps);
        rows.push((hs, mibps));
    }
    let direct = median((0..ROUNDS).map(|_| bulk_rustls_direct()).collect());
    let direct_mibps = (BULK_BYTES as f64 / (1 << 20) as f64) / direct.as_secs_f64();
    println!("{:>26}:                         bulk receive {direct_mibps:>7.1} MiB/s", "rustls unbuffered direct");
    println!("no callback vs rustls direct: bulk {:+.1}%", (rows[0].1 / direct_mibps - 1.0) * 100.0);
    let (hs_off, bulk_off) = rows[0];
    let (hs_on, bulk_on) = rows[1];
    println!(
        "observer on vs off: handshake {:+.1}%, bulk {:+.1}%",
        (hs_on.as_secs_f64() / hs_off.as_secs_f64() - 1.0) * 100.0,
        (bulk_on / bulk_off - 1.0) * 100.0
    );
}
