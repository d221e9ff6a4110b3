//! The fuzz targets under the deterministic provider, on stable: every seed (recorded here, from
//! handshakes the deterministic provider makes, so they replay exactly), every committed corpus
//! input (fuzz/corpus/TARGET, minimized with `cargo fuzz cmin`) and regression
//! (fuzz/regressions/TARGET). With TLSWIRE_FUZZ_SEEDS=DIR the seeds are written there too
//! (fuzz/run.sh gives them to libFuzzer).
//!
//! `RUSTFLAGS="--cfg fuzzing" cargo test --manifest-path fuzz/Cargo.toml -p tlswire-fuzz-replay`

#[cfg(not(fuzzing))]
compile_error!("the replay needs the deterministic provider: build with RUSTFLAGS=\"--cfg fuzzing\"");

#[path = "../../targets.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use targets::{FixedClock, Op, VARIANTS};
use tlswire::{ClientConfig, Connection, Message, ServerConfig, Status, Version};

const TARGETS: &[&str] =
    &["client", "client_observed", "server", "observer", "parse", "session", "ech", "api_sequence", "offload"];

const CA: &[u8] = include_bytes!("../../../crates/tlswire/testdata/ca.pem");
const CERT: &[u8] = include_bytes!("../../../crates/tlswire/testdata/server-ecdsa.pem");
const KEY: &[u8] = include_bytes!("../../../crates/tlswire/testdata/server-ecdsa.key");
const RSA_CERT: &[u8] = include_bytes!("../../../crates/tlswire/testdata/server-rsa.pem");
const RSA_KEY: &[u8] = include_bytes!("../../../crates/tlswire/testdata/server-rsa.key");
const CLIENT_CERT: &[u8] = include_bytes!("../../../crates/tlswire/testdata/client.pem");
const CLIENT_KEY: &[u8] = include_bytes!("../../../crates/tlswire/testdata/client.key");

fn run(target: &str, data: &[u8]) {
    match target {
        "client" => targets::client(data, false),
        "client_observed" => targets::client(data, true),
        "server" => targets::server(data),
        "observer" => targets::observer(data),
        "parse" => targets::parse(data),
        "session" => targets::session_bytes(data),
        "ech" => targets::ech(data),
        "api_sequence" => {
            targets::api_sequence(data);
        }
        "offload" => {
            targets::offload(data);
        }
        other => panic!("no target {other}"),
    }
}

/// What each side sent in a handshake, a round of data, a KeyUpdate and close_notify, and the
/// messages the client saw.
struct Transcript {
    client_sent: Vec<u8>,
    server_sent: Vec<u8>,
    messages: Vec<(u16, Vec<u8>)>,
}

fn transcript(mut client: Connection, mut server: Connection) -> Transcript {
    let messages = Arc::new(std::sync::Mutex::new(Vec::new()));
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
        match round {
            8 => {
                client.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
                server.write(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
            }
            10 => {
                let _ = server.key_update(true);
            }
            12 => {
                let _ = server.write(b"after the key update");
            }
            14 => {
                let _ = server.close();
                let _ = client.close();
            }
            _ => {}
        }
        let a = client.take_output();
        let b = server.take_output();
        let _ = server.feed(&a);
        let _ = client.feed(&b);
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

fn server_with(versions: Version, rsa: bool) -> Connection {
    let (cert, key) = if rsa { (RSA_CERT, RSA_KEY) } else { (CERT, KEY) };
    let mut s = ServerConfig::new(cert, key).unwrap();
    // No session cache: under the deterministic provider a TLS 1.2 session ID would be the same
    // bytes as the client's compatibility session ID, which the client takes for an echo.
    s.clock(Arc::new(FixedClock)).session_cache(0).versions(Version::Tls12, versions);
    Connection::server(&s.build().unwrap()).unwrap()
}

fn client_with(max: Version, client_auth: bool) -> Connection {
    let mut c = ClientConfig::new();
    c.clock(Arc::new(FixedClock)).add_ca(CA).unwrap().versions(Version::Tls12, max);
    if client_auth {
        c.client_auth(CLIENT_CERT, CLIENT_KEY).unwrap();
    }
    Connection::client(&c.build().unwrap(), "localhost").unwrap()
}

/// api_sequence's scripted runs: a whole connection (handshake, data both ways, KeyUpdate,
/// exporter, sessions, close), plainly, re-chunked, and with the handshake records re-cut.
fn api_sequence_seed(head: u8, chunk: u8, reframe: u8, early: bool) -> Vec<u8> {
    let mut ops = Vec::new();
    if early {
        ops.push(Op::WriteEarlyData { len: 40 });
    }
    for _ in 0..5 {
        for server in [false, true] {
            ops.push(Op::DoHandshake { server });
            ops.push(Op::Deliver { server, records: 0, chunk, reframe });
        }
    }
    for server in [false, true] {
        ops.extend([
            Op::Write { server, len: 100 },
            Op::Deliver { server, records: 0, chunk, reframe: 0 },
            Op::Read { server: !server },
        ]);
    }
    ops.extend([
        Op::KeyUpdate { server: false },
        Op::Deliver { server: false, records: 0, chunk, reframe: 0 },
        Op::Read { server: true },
        Op::Deliver { server: true, records: 0, chunk, reframe: 0 },
        Op::Read { server: false },
        Op::Write { server: true, len: 200 },
        Op::Deliver { server: true, records: 0, chunk, reframe: 0 },
        Op::Read { server: false },
        Op::Export { server: false },
        Op::Export { server: true },
        Op::TakeSessions,
        Op::Close { server: false },
        Op::Deliver { server: false, records: 0, chunk, reframe: 0 },
        Op::Read { server: true },
        Op::Close { server: true },
        Op::Deliver { server: true, records: 0, chunk, reframe: 0 },
        Op::Read { server: false },
        Op::FeedEof { server: true },
        Op::Read { server: true },
    ]);
    let mut out = vec![head];
    for op in ops {
        op.encode(&mut out);
    }
    out
}

/// offload's scripted runs: data both ways in records big enough to be offloaded, jobs fetched
/// and answered (wrongly first: another generation, cut short, grown, empty; then rightly,
/// forwards, backwards and shuffled; again after the records were processed, edited), a KeyUpdate
/// (TLS 1.3) with answers for the old generation after it, and close_notify both ways; `chunk`
/// and `between` re-cut the deliveries and act between the pieces. With `edit`, first an edited
/// answer the connection takes (the platform is trusted): what the server reads shows it.
fn offload_seed(variant: u8, chunk: u8, between: u8, edit: bool) -> Vec<u8> {
    use targets::{Answer, OffloadOp as O};
    let mut ops = Vec::new();
    if edit {
        ops.extend([
            O::Write { server: false, len: 5000 },
            O::Deliver { server: false, amount: 0, chunk: 0, between: 0 },
            O::Jobs { server: true },
            O::Answer { server: true, pick: 0, how: Answer::Edited.how() },
            O::Read { server: true, size: 0 },
        ]);
    }
    for round in 0..2u8 {
        for server in [false, true] {
            let peer = !server;
            ops.push(O::Write { server, len: 20000 });
            ops.push(O::Deliver { server, amount: 0, chunk, between });
            ops.push(O::Jobs { server: peer });
            for how in
                [Answer::GenerationAfter, Answer::GenerationBefore, Answer::Truncated, Answer::Grown, Answer::Empty]
            {
                ops.push(O::Answer { server: peer, pick: 0, how: how.how() });
            }
            ops.push(O::AnswerAll { server: peer, order: round * 2 + u8::from(server) * 7 });
            ops.push(O::Read { server: peer, size: 3 });
            ops.push(O::Read { server: peer, size: 0 });
            // Records processed already: a duplicate, and an edit, both dropped.
            ops.push(O::Answer { server: peer, pick: 1, how: Answer::Right.how() });
            ops.push(O::Answer { server: peer, pick: 0, how: Answer::Edited.how() });
            ops.push(O::Read { server: peer, size: 0 });
        }
        // A KeyUpdate both ways (TLS 1.3): the client's, the server's answer to it; then stale
        // answers (the old generation) at the server.
        ops.extend([
            O::Write { server: false, len: 3000 },
            O::Deliver { server: false, amount: 0, chunk: 0, between: 0 },
            O::Jobs { server: true },
            O::KeyUpdate { server: false },
            O::Write { server: false, len: 9000 },
            O::Deliver { server: false, amount: 0, chunk, between: 0 },
            O::Read { server: true, size: 0 },
            O::Answer { server: true, pick: 255, how: Answer::Right.how() },
            O::Answer { server: true, pick: 254, how: Answer::EditedLast.how() },
            O::Answer { server: true, pick: 253, how: Answer::Unauthenticated.how() },
            O::Read { server: true, size: 0 },
            O::Deliver { server: true, amount: 0, chunk: 0, between: 0 },
            O::Read { server: false, size: 0 },
        ]);
    }
    ops.extend([
        O::Close { server: false },
        O::Deliver { server: false, amount: 0, chunk: 0, between: 0 },
        O::Read { server: true, size: 0 },
        O::Close { server: true },
        O::Deliver { server: true, amount: 0, chunk: 0, between: 0 },
        O::Read { server: false, size: 0 },
    ]);
    let mut out = vec![variant];
    for op in ops {
        op.encode(&mut out);
    }
    out
}

/// An ECHConfigList (X25519, HKDF-SHA256, AES-128-GCM) for `public_name`, a key nobody holds.
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

/// Seeds per target: (target, input).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut transcripts = Vec::new();
    // The client target's client is targets::client_context(); the server target's server is
    // targets::server_context(): only then does the recording replay exactly.
    for (versions, rsa) in
        [(Version::Tls13, false), (Version::Tls12, false), (Version::Tls12, true), (Version::Tls13, true)]
    {
        let client = Connection::client(targets::client_context(), "localhost").unwrap();
        let t = transcript(client, server_with(versions, rsa));
        for chunk in [255u8, 7] {
            out.push(("client", [&[chunk][..], &t.server_sent].concat()));
            out.push(("client_observed", [&[chunk][..], &t.server_sent].concat()));
        }
        transcripts.push(t);
    }
    for (max, client_auth) in [(Version::Tls13, false), (Version::Tls12, false), (Version::Tls13, true)] {
        let server = Connection::server(targets::server_context()).unwrap();
        let t = transcript(client_with(max, client_auth), server);
        for chunk in [255u8, 7] {
            out.push(("server", [&[chunk][..], &t.client_sent].concat()));
        }
        transcripts.push(t);
    }
    for t in transcripts {
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
    for pem in [CA, CERT, KEY, RSA_CERT, RSA_KEY, CLIENT_CERT, CLIENT_KEY] {
        out.push(("parse", pem.to_vec()));
        if let Ok(der) = tlswire::certificates_from(pem) {
            out.push(("parse", der[0].to_vec()));
        }
    }
    for variant in 0..VARIANTS {
        if let Some(session) = targets::session(variant) {
            out.push(("session", session));
        }
    }
    for name in ["localhost", "public.example"] {
        out.push(("ech", [&[0u8][..], &ech_config_list(name)].concat()));
    }
    for (i, suite) in tlswire_crypto::hpke::ALL_SUPPORTED_SUITES.iter().enumerate() {
        let (public, _) = suite.generate_key_pair().unwrap();
        let (info, aad) = (b"tls ech\0info", b"outer hello");
        let (enc, sealed) = suite.seal(info, aad, b"inner hello", &public).unwrap();
        let mut seed = vec![1 + 2 * i as u8];
        seed.extend(&enc.0);
        seed.push(info.len() as u8);
        seed.extend(info);
        seed.push(aad.len() as u8);
        seed.extend(aad);
        seed.extend(sealed);
        out.push(("ech", seed));
    }
    for variant in 0..targets::API_VARIANTS as u8 {
        out.push(("api_sequence", api_sequence_seed(variant, 0, 0, false)));
        out.push(("api_sequence", api_sequence_seed(variant | 0x80, 0, 0, true)));
    }
    out.push(("api_sequence", api_sequence_seed(0, 7, 0, false)));
    out.push(("api_sequence", api_sequence_seed(2, 0, 5, false)));
    out.push(("api_sequence", api_sequence_seed(3, 1, 100, false)));
    for variant in 0..targets::OFFLOAD_VARIANTS as u8 {
        out.push(("offload", offload_seed(variant, 0, 0, false)));
    }
    for (variant, chunk, between, edit) in
        [(0, 7, 1, false), (2, 40, 2, false), (13, 90, 3, false), (7, 3, 3, false), (0, 0, 0, true), (3, 0, 0, true)]
    {
        out.push(("offload", offload_seed(variant, chunk, between, edit)));
    }
    out
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn seeds_corpora_and_regressions_hold() {
    let seeds = seeds();
    if let Some(dir) = std::env::var_os("TLSWIRE_FUZZ_SEEDS") {
        for (i, (target, data)) in seeds.iter().enumerate() {
            let dir = PathBuf::from(&dir).join(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{i}")), data).unwrap();
        }
    }
    for (target, data) in &seeds {
        run(target, data);
    }
    let mut replayed = 0;
    for target in TARGETS {
        for kind in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                run(target, &std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    eprintln!("replayed {} seeds and {replayed} corpus and regression inputs", seeds.len());
}

/// The point of the deterministic provider: a fuzzed peer gets past ServerHello. A client fed a
/// recorded server's bytes, and the scripted api_sequence runs, reach application data.
#[test]
fn recorded_handshakes_replay_into_the_protected_states() {
    for (versions, rsa) in [(Version::Tls13, false), (Version::Tls12, true)] {
        let client = Connection::client(targets::client_context(), "localhost").unwrap();
        let t = transcript(client, server_with(versions, rsa));
        let mut replayed = Connection::client(targets::client_context(), "localhost").unwrap();
        let _ = replayed.do_handshake();
        assert_eq!(replayed.take_output(), t.client_sent[..replayed_hello_len(&t.client_sent)]);
        replayed.feed(&t.server_sent).unwrap();
        let _ = replayed.do_handshake();
        assert!(replayed.is_handshake_done(), "{versions:?}: the replayed handshake did not finish");
        let mut buf = [0u8; 256];
        let Ok(Status::Done(n)) = replayed.read(&mut buf) else { panic!("{versions:?}: no application data") };
        assert!(buf[..n].starts_with(b"HTTP/1.0 200 OK\r\n\r\nhello"), "{versions:?}: {:?}", &buf[..n]);
    }
    for variant in 0..targets::API_VARIANTS as u8 {
        let reached = targets::api_sequence(&api_sequence_seed(variant, 0, 0, false));
        assert!(reached.handshakes && reached.read == [300, 100], "variant {variant}: {reached:?}");
        // Every suite set negotiates what it offers: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
        let bulk = ["AES_128_GCM", "AES_256_GCM", "CHACHA20_POLY1305"][usize::from(variant) / VARIANTS];
        assert!(reached.suite.as_deref().is_some_and(|s| s.contains(bulk)), "variant {variant}: {reached:?}");
        let resumed = targets::api_sequence(&api_sequence_seed(variant | 0x80, 0, 0, true));
        assert!(resumed.handshakes && resumed.resumed, "variant {variant} resumed: {resumed:?}");
        // Early data (40 bytes) where the client offers only TLS 1.3 (variants 1 and 4: a
        // server that takes it); elsewhere the session allows none.
        let early = if matches!(usize::from(variant) % VARIANTS, 1 | 4) { 40 } else { 0 };
        assert_eq!((resumed.read, resumed.early_data), ([300, 100 + early], early), "variant {variant}: {resumed:?}");
    }
    let recut = targets::api_sequence(&api_sequence_seed(2, 0, 5, false));
    assert!(recut.handshakes && recut.read == [300, 100], "re-cut: {recut:?}");
}

/// The offload seeds get jobs made and answered, both ways, and everything written read; an
/// edited answer shows in what is read, so the connection uses the plaintext handed to it.
#[test]
fn offload_seeds_make_and_answer_jobs() {
    for variant in 0..targets::OFFLOAD_VARIANTS as u8 {
        for (chunk, between) in [(0, 0), (7, 1), (40, 2), (90, 3)] {
            let r = targets::offload(&offload_seed(variant, chunk, between, false));
            assert!(r.handshakes && r.failed == [false, false], "variant {variant}, {chunk}/{between}: {r:?}");
            // (Reading after every piece leaves no complete record to hand out.)
            let jobs = r.jobs[0] > 0 && r.jobs[1] > 0 && r.answered[0] > 0 && r.answered[1] > 0;
            assert!(jobs || between == 2, "variant {variant}, {chunk}/{between}: {r:?}");
            assert_eq!((r.read, r.edits_read), ([40000, 64000], false), "variant {variant}, {chunk}/{between}: {r:?}");
        }
        let r = targets::offload(&offload_seed(variant, 0, 0, true));
        assert!(r.edits_read && r.read[1] == 69000, "variant {variant}, an edited answer: {r:?}");
    }
}

/// The length of the ClientHello record at the start of `sent`.
fn replayed_hello_len(sent: &[u8]) -> usize {
    5 + usize::from(u16::from_be_bytes([sent[3], sent[4]]))
}
