//! The fuzz targets (fuzz/targets.rs) on stable, as part of the test command: each runs over
//! seeds from real handshakes (tlswire client and server in memory, TLS 1.3 and 1.2, with and
//! without client certificates), every committed input under fuzz/regressions/<target>/ (crashes
//! once found), and deterministic mutations of the seeds. Coverage-guided fuzzing is
//! fuzz/run.sh (cargo-fuzz, nightly); with TLSWIRE_FUZZ_SEEDS=DIR this test writes the seeds
//! there for it.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

use tlswire::{ClientConfig, Connection, Message, ServerConfig, Status, Version};

const CA: &[u8] = include_bytes!("../../crates/tlswire/testdata/ca.pem");
const CERT: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-ecdsa.pem");
const KEY: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-ecdsa.key");
const RSA_CERT: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-rsa.pem");
const RSA_KEY: &[u8] = include_bytes!("../../crates/tlswire/testdata/server-rsa.key");
const CLIENT_CERT: &[u8] = include_bytes!("../../crates/tlswire/testdata/client.pem");
const CLIENT_KEY: &[u8] = include_bytes!("../../crates/tlswire/testdata/client.key");

/// What each side sent in a handshake plus one round of data, and the messages the client saw.
struct Transcript {
    client_sent: Vec<u8>,
    server_sent: Vec<u8>,
    messages: Vec<(u16, Vec<u8>)>,
}

/// 2030-01-01: inside the committed test certificates' validity, whatever the day.
#[derive(Debug)]
struct TestClock;

impl tlswire::TimeProvider for TestClock {
    fn current_time(&self) -> Option<pki_types::UnixTime> {
        Some(pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_893_456_000)))
    }
}

fn transcript(version: Version, rsa: bool, client_auth: bool) -> Transcript {
    let mut c = ClientConfig::new();
    c.clock(std::sync::Arc::new(TestClock));
    c.add_ca(CA).unwrap().versions(version, version);
    if client_auth {
        c.client_auth(CLIENT_CERT, CLIENT_KEY).unwrap();
    }
    let (cert, key) = if rsa { (RSA_CERT, RSA_KEY) } else { (CERT, KEY) };
    let mut s = ServerConfig::new(cert, key).unwrap();
    s.clock(std::sync::Arc::new(TestClock));
    if client_auth {
        s.client_auth(tlswire::ClientAuth::Required, CA).unwrap();
    }
    let mut client = Connection::client(&c.build().unwrap(), "localhost").unwrap();
    let mut server = Connection::server(&s.build().unwrap()).unwrap();
    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = messages.clone();
    client
        .set_msg_callback(Box::new(move |m: &Message<'_>| {
            sink.lock().unwrap().push((m.content_type, m.bytes.to_vec()))
        }))
        .unwrap();
    let (mut client_sent, mut server_sent) = (Vec::new(), Vec::new());
    for round in 0..16 {
        let _ = client.do_handshake();
        let _ = server.do_handshake();
        if round == 8 {
            client.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            server.write(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
        }
        let a = client.take_output();
        let b = server.take_output();
        server.feed(&a).unwrap();
        client.feed(&b).unwrap();
        let mut buf = [0u8; 256];
        while let Ok(Status::Done(n)) = client.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        while let Ok(Status::Done(n)) = server.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        client_sent.extend(a);
        server_sent.extend(b);
    }
    assert!(client.is_handshake_done() && server.is_handshake_done());
    let messages = messages.lock().unwrap().clone();
    Transcript { client_sent, server_sent, messages }
}

/// Seeds per target: (target, input).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for version in [Version::Tls13, Version::Tls12] {
        for (rsa, client_auth) in [(false, false), (true, false), (false, true)] {
            let t = transcript(version, rsa, client_auth);
            for chunk in [255u8, 7] {
                let with_chunk = |bytes: &[u8]| [&[chunk][..], bytes].concat();
                out.push(("client", with_chunk(&t.server_sent)));
                out.push(("client_observed", with_chunk(&t.server_sent)));
                out.push(("server", with_chunk(&t.client_sent)));
            }
            for (content_type, bytes) in t.messages {
                let selector = match content_type {
                    20 => 0,
                    21 => 1,
                    22 => 2,
                    23 => 3,
                    256 => 4,
                    _ => 5,
                };
                out.push(("observer", [&[selector][..], &bytes].concat()));
            }
        }
    }
    for pem in [CA, CERT, KEY, RSA_CERT, RSA_KEY, CLIENT_CERT, CLIENT_KEY] {
        out.push(("parse", pem.to_vec()));
        if let Ok(der) = tlswire::certificates_from(pem) {
            out.push(("parse", der[0].to_vec()));
            out.push(("observer", [&[2u8][..], &der[0]].concat()));
        }
    }
    out
}

fn run(target: &str, data: &[u8]) {
    match target {
        "client" => targets::client(data, false),
        "client_observed" => targets::client(data, true),
        "server" => targets::server(data),
        "observer" => targets::observer(data),
        "parse" => targets::parse(data),
        other => panic!("no target {other}"),
    }
}

/// xorshift64*: deterministic mutations, the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = [0, 0xff, 0x7f, 0x80, 1][rng.below(5)];
            }
            2 => data.truncate(rng.below(data.len() + 1)),
            3 if !data.is_empty() => {
                let i = rng.below(data.len());
                let n = rng.below(64).min(data.len() - i);
                data.drain(i..i + n);
            }
            _ => {
                let i = rng.below(data.len() + 1);
                let filler: Vec<u8> = (0..rng.below(32)).map(|_| rng.next() as u8).collect();
                data.splice(i..i, filler);
            }
        }
    }
    data
}

#[test]
fn fuzz_targets_hold_on_seeds_regressions_and_mutations() {
    let seeds = seeds();
    if let Some(dir) = std::env::var_os("TLSWIRE_FUZZ_SEEDS") {
        for (i, (target, data)) in seeds.iter().enumerate() {
            let dir = PathBuf::from(&dir).join(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{i}")), data).unwrap();
        }
    }
    let regressions = tlswire_interop::root().join("fuzz/regressions");
    for target in ["client", "client_observed", "server", "observer", "parse"] {
        let Ok(entries) = std::fs::read_dir(regressions.join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            run(target, &std::fs::read(&path).unwrap());
        }
    }
    let mut rng = Rng(0x7115_b1de_5eed_0001);
    for (target, seed) in &seeds {
        run(target, seed);
        for _ in 0..60 {
            run(target, &mutate(&mut rng, seed));
        }
    }
}
