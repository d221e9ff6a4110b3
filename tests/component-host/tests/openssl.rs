//! The tlswire component in wasmtime 48, against `openssl s_server` on 127.0.0.1: the host opens
//! the TCP connection and hands its streams to the component, which does all of TLS.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use tlswire_component_host::*;
use tlswire_interop::{cargo_build, openssl_keymat_server, openssl_server, read, root, target_dir};

/// The component, built once (`wasm32-wasip2`, the size profile it ships with).
fn component() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        cargo_build(
            &["-p", "tlswire-component", "--target", "wasm32-wasip2", "--profile", "wasm-size"],
            "wasm32-wasip2/wasm-size/tlswire_component.wasm",
        )
    })
    .clone()
}

/// A server with the ECDSA test certificate and every other setting at its default.
fn server_config() -> ServerConfig {
    ServerConfig {
        certificate: CertifiedKey { chain: read("server-ecdsa.pem"), private_key: read("server-ecdsa.key") },
        more_certificates: vec![],
        client_auth: ClientAuth::None,
        client_ca_certificates: vec![],
        dangerously_accept_any_client_certificate: false,
        crls: vec![],
        alpn: vec![],
        min_version: None,
        max_version: None,
        cipher_suites: vec![],
        groups: vec![],
        observe: false,
        key_log: false,
        max_send_fragment: None,
        stateless_tickets: None,
        session_cache: None,
        tickets: None,
        ocsp_response: None,
        signature_schemes: vec![],
        max_early_data: None,
    }
}

fn config(ca: &str) -> ClientConfig {
    ClientConfig {
        ca_certificates: vec![read(ca)],
        pins: vec![],
        crls: vec![],
        alpn: vec![],
        client_certificate: None,
        min_version: None,
        max_version: None,
        cipher_suites: vec![],
        groups: vec![],
        observe: false,
        key_log: false,
        max_send_fragment: None,
        keep_sessions: false,
        session_cache: None,
        early_data: false,
        signature_schemes: vec![],
        ech_config_list: None,
        ech_grease: false,
        dangerously_disable_verification: false,
    }
}

/// 1 MiB of lines that read the same reversed, so `s_server -rev` answers with identical bytes.
fn palindromic_lines() -> Vec<u8> {
    let mut data = Vec::with_capacity(1 << 20);
    let mut x: u32 = 1;
    while data.len() < 1 << 20 {
        let half: Vec<u8> = (0..127)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                b'a' + (x >> 24) as u8 % 26
            })
            .collect();
        data.extend_from_slice(&half);
        data.push(b'0' + (x % 10) as u8);
        data.extend(half.iter().rev());
        data.push(b'\n');
    }
    data
}

#[test]
fn tls13_and_tls12_with_custom_ca_and_alpn_echo_1mib_and_report_messages() {
    for (flag, version) in [("-tls1_3", Version::Tls13), ("-tls1_2", Version::Tls12)] {
        let server = openssl_server("server-ecdsa", &[flag, "-alpn", "h2"]);
        let mut host = Host::new(&component()).unwrap();
        let ctx = host.client_context(&ClientConfig { alpn: vec!["h2".into()], observe: true, ..config("ca.pem") });
        let ctx = ctx.unwrap().unwrap();
        let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
        host.handshake(&conn).unwrap().unwrap();

        let info = host.info(&conn).unwrap().expect("info after the handshake");
        assert_eq!(info.version, version);
        assert_eq!(info.alpn.as_deref(), Some("h2"));
        assert_eq!(info.peer_certificates.len(), 1);

        let messages = host.take_messages(&conn).unwrap();
        let lines: Vec<&str> = messages.iter().map(|m| m.line.as_str()).collect();
        assert!(lines.iter().any(|l| l.starts_with(">>> ") && l.ends_with("ClientHello")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("<<< ") && l.ends_with("Finished")), "{lines:#?}");
        assert!(messages.iter().all(|m| m.content_type != 23));
        assert!(messages.iter().any(|m| m.direction == Direction::Received && m.content_type == 256));

        let data = palindromic_lines();
        host.write(&conn, &data).unwrap().unwrap();
        let mut echoed = Vec::with_capacity(data.len());
        while echoed.len() < data.len() {
            let chunk = host.read(&conn, 65536).unwrap().unwrap();
            assert!(!chunk.is_empty(), "close_notify before the echo was complete");
            echoed.extend_from_slice(&chunk);
        }
        assert!(echoed == data, "{version:?}: echo differs");
        host.close(&conn).unwrap().unwrap();
    }
}

#[test]
fn unknown_ca_and_hostname_mismatch_are_typed_errors() {
    let server = openssl_server("server-ecdsa", &[]);
    let addr = format!("127.0.0.1:{}", server.port);
    let mut host = Host::new(&component()).unwrap();

    for (ca, name, kind, code, alert) in [
        ("other-ca.pem", "localhost", CertificateErrorKind::UnknownIssuer, "CERT_UNKNOWN_ISSUER", "unknown_ca"),
        (
            "ca.pem",
            "wrong.example",
            CertificateErrorKind::HostnameMismatch,
            "CERT_HOSTNAME_MISMATCH",
            "bad_certificate",
        ),
    ] {
        let ctx = host.client_context(&config(ca)).unwrap().unwrap();
        let conn = host.connect(ctx, name, &addr).unwrap().unwrap();
        let err = host.handshake(&conn).unwrap().expect_err("handshake must fail");
        match &err {
            Error::Certificate(f) => {
                assert_eq!(f.kind, kind);
                assert_eq!(f.alert_sent.as_ref().map(|a| a.name.as_str()), Some(alert));
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(host.error_code(&err).unwrap(), code);
        if let Error::Certificate(f) = &err {
            assert_eq!(f.code, code, "the failure carries the core's code");
        }
        // Errors are sticky.
        assert!(matches!(host.write(&conn, b"x").unwrap(), Err(Error::Certificate(_))));
    }
}

/// `key-log`: the lines the component gives are the lines `openssl s_server -keylogfile` writes
/// for the same handshake, TLS 1.3 and 1.2.
#[test]
fn the_key_log_equals_openssls() {
    let mut host = Host::new(&component()).unwrap();
    for (flag, count) in [("-tls1_3", 5), ("-tls1_2", 1)] {
        let file = tlswire_interop::pki().join(format!("component-keylog{flag}.txt"));
        let _ = std::fs::remove_file(&file);
        let server = openssl_server("server-ecdsa", &[flag, "-keylogfile", file.to_str().unwrap()]);
        let ctx = host.client_context(&ClientConfig { key_log: true, ..config("ca.pem") }).unwrap().unwrap();
        let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
        host.handshake(&conn).unwrap().unwrap();
        let mut ours = host.take_key_log(&conn).unwrap();
        assert!(host.take_key_log(&conn).unwrap().is_empty(), "a drain");
        drop(server);
        let text = std::fs::read_to_string(&file).unwrap();
        let mut theirs: Vec<String> = text.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours.len(), count, "{flag}: {ours:?}");
        assert_eq!(ours, theirs, "{flag}");
    }
}

/// `max-send-fragment`: the records the component sends carry at most that much data (record
/// headers from the message drain); openssl s_server's echo comes back whole.
#[test]
fn max_send_fragment_bounds_the_records_sent() {
    let mut host = Host::new(&component()).unwrap();
    let server = openssl_server("server-ecdsa", &[]);
    let config = ClientConfig { max_send_fragment: Some(512), observe: true, ..config("ca.pem") };
    let ctx = host.client_context(&config).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    let line = [&[b'w'; 3000][..], b"\n"].concat();
    host.write(&conn, &line).unwrap().unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        got.extend(host.read(&conn, 65536).unwrap().unwrap());
    }
    assert_eq!(got, line);
    let sent: Vec<usize> = host
        .take_messages(&conn)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Sent && m.content_type == 256 && m.bytes[0] == 23)
        .map(|m| usize::from(m.bytes[3]) << 8 | usize::from(m.bytes[4]))
        .collect();
    assert!(sent.len() >= 6 && sent.iter().all(|&len| len <= 512 + 17), "{sent:?}");
}

/// The certificate classes and CRLs reach the host with the core's kinds and codes.
#[test]
fn key_usage_and_revocation_are_typed_errors() {
    let mut host = Host::new(&component()).unwrap();
    let key_usage = openssl_server("bad-key-usage", &["-tls1_3"]);
    let revoked = openssl_server("bad-revoked", &[]);
    for (port, crls, kind, code) in [
        (key_usage.port, vec![], CertificateErrorKind::KeyUsage, "CERT_KEY_USAGE"),
        (revoked.port, vec![read("ca.crl")], CertificateErrorKind::Revoked, "CERT_REVOKED"),
    ] {
        let ctx = host.client_context(&ClientConfig { crls, ..config("ca.pem") }).unwrap().unwrap();
        let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{port}")).unwrap().unwrap();
        let err = host.handshake(&conn).unwrap().expect_err("handshake must fail");
        match &err {
            Error::Certificate(f) => assert_eq!((f.kind, f.code.as_str()), (kind, code), "{}", f.detail),
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(host.error_code(&err).unwrap(), code);
    }
    let bad = host.client_context(&ClientConfig { crls: vec![b"no CRL here".to_vec()], ..config("ca.pem") }).unwrap();
    let Err(err) = bad else { panic!("a bad CRL is a configuration error") };
    assert_eq!(host.error_code(&err).unwrap(), "CONFIG");
}

#[test]
fn the_readme_host_example_is_this_file_and_runs() {
    let example = std::fs::read_to_string(root().join("tests/component-host/examples/minimal.rs")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains(&format!("```rust\n{example}```")), "README shows examples/minimal.rs as written");

    let server = openssl_server("server-ecdsa", &[]);
    let output = Command::new(target_dir().join("debug/examples/minimal"))
        .arg(component())
        .arg(tlswire_interop::file("ca.pem"))
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("localhost")
        .output()
        .expect("run examples/minimal (built by cargo test)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "SLT revo olleh\n\n");
}

#[test]
fn server_state_openssl_s_client_connects_verifies_and_gets_a_reply() {
    // The component is compiled before the client starts, so the client never waits on it.
    let mut host = Host::new(&component()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::thread::spawn(move || {
        let args: Vec<String> =
            ["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &tlswire_interop::file("ca.pem")]
                .iter()
                .map(|s| s.to_string())
                .chain(["-verify_return_error", "-servername", "localhost", "-quiet"].map(String::from))
                .collect();
        tlswire_interop::run_client(std::path::Path::new("openssl"), &args, b"ping\n", "pong")
    });

    let config = ServerConfig { observe: true, ..server_config() };
    let ctx = host.server_context(&config).unwrap().unwrap();
    let conn = host.serve(ctx, &listener).unwrap().unwrap();
    if let Err(e) = host.handshake(&conn).unwrap() {
        let (stdout, stderr) = client.join().unwrap();
        panic!("handshake: {e:?}\nclient stdout: {stdout}\nclient stderr: {stderr}");
    }
    assert_eq!(host.info(&conn).unwrap().unwrap().version, Version::Tls13);
    let lines: Vec<String> = host.take_messages(&conn).unwrap().into_iter().map(|m| m.line).collect();
    assert!(lines.iter().any(|l| l.starts_with("<<< ") && l.ends_with("ClientHello")), "{lines:#?}");
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        let chunk = host.read(&conn, 1024).unwrap().unwrap();
        assert!(!chunk.is_empty(), "client closed early");
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, b"ping\n");
    host.write(&conn, b"pong\n").unwrap().unwrap();
    host.close(&conn).unwrap().unwrap();
    let (stdout, stderr) = client.join().unwrap();
    assert!(stdout.contains("pong"), "stdout: {stdout}\nstderr: {stderr}");
}

/// `export-keying-material`: equal to what `openssl s_server -keymatexport` prints for the same
/// handshake, TLS 1.3 and 1.2; `misuse` before the handshake.
#[test]
fn exported_keying_material_equals_openssls() {
    let mut host = Host::new(&component()).unwrap();
    for flag in ["-tls1_3", "-tls1_2"] {
        let server = openssl_keymat_server("EXPERIMENTAL component", 32, &[flag]);
        let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
        let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.peer.port)).unwrap().unwrap();
        let early = host.export_keying_material(&conn, 32, "EXPERIMENTAL component", None).unwrap();
        assert!(matches!(early, Err(Error::Misuse(_))), "{flag}: {early:?}");
        host.handshake(&conn).unwrap().unwrap();
        let ours = host.export_keying_material(&conn, 32, "EXPERIMENTAL component", None).unwrap().unwrap();
        let hex: String = ours.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, server.material(0), "{flag}");
        let with_context =
            host.export_keying_material(&conn, 32, "EXPERIMENTAL component", Some(b"c")).unwrap().unwrap();
        assert_ne!(with_context, ours);
    }
}

/// `keep-sessions` / `take-sessions` / `client-resuming`: a session one component instance took
/// (TLS 1.3 ticket, TLS 1.2 session) resumes in another instance (as another process would)
/// against `openssl s_server`; `session-cache: 0` keeps none in the context.
#[test]
fn sessions_taken_from_one_instance_resume_in_another() {
    for flag in ["-tls1_3", "-tls1_2"] {
        let server = openssl_server("server-ecdsa", &[flag]);
        let addr = format!("127.0.0.1:{}", server.port);
        let session = {
            let mut host = Host::new(&component()).unwrap();
            let config = ClientConfig { keep_sessions: true, session_cache: Some(0), ..config("ca.pem") };
            let ctx = host.client_context(&config).unwrap().unwrap();
            let conn = host.connect(ctx, "localhost", &addr).unwrap().unwrap();
            host.write(&conn, b"ping\n").unwrap().unwrap();
            let mut got = Vec::new();
            while !got.ends_with(b"\n") {
                got.extend(host.read(&conn, 1024).unwrap().unwrap());
            }
            assert!(!host.info(&conn).unwrap().unwrap().resumed);
            let sessions = host.take_sessions(&conn).unwrap();
            assert!(!sessions.is_empty(), "{flag}");
            assert!(host.take_sessions(&conn).unwrap().is_empty(), "a drain");
            sessions.last().unwrap().clone()
        };
        let mut host = Host::new(&component()).unwrap();
        let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
        let conn = host.connect_resuming(ctx, "localhost", &session, &addr).unwrap().unwrap();
        host.handshake(&conn).unwrap().unwrap();
        assert!(host.info(&conn).unwrap().unwrap().resumed, "{flag}");
        let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
        let bad = host.connect_resuming(ctx, "localhost", b"not a session", &addr).unwrap();
        assert!(matches!(bad, Err(Error::Config(_))), "{flag}: {:?}", bad.err());
    }
}

/// `key-update`: openssl s_server answers the component's KeyUpdate with its own (both in the
/// message drain, handshake type 24) and echoes data under the new keys; `misuse` on TLS 1.2.
#[test]
fn key_update_is_answered_by_openssl() {
    let mut host = Host::new(&component()).unwrap();
    let server = openssl_server("server-ecdsa", &[]);
    let ctx = host.client_context(&ClientConfig { observe: true, ..config("ca.pem") }).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    let line = |host: &mut Host, text: &[u8]| {
        host.write(&conn, text).unwrap().unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            let chunk = host.read(&conn, 1024).unwrap().unwrap();
            assert!(!chunk.is_empty(), "closed after {got:?}");
            got.extend(chunk);
        }
        got
    };
    assert_eq!(line(&mut host, b"one\n"), b"eno\n");
    host.take_messages(&conn).unwrap();
    host.key_update(&conn, true).unwrap().unwrap();
    assert_eq!(line(&mut host, b"two\n"), b"owt\n");
    let updates: Vec<Direction> = host
        .take_messages(&conn)
        .unwrap()
        .into_iter()
        .filter(|m| m.content_type == 22 && m.bytes.first() == Some(&24))
        .map(|m| m.direction)
        .collect();
    assert_eq!(updates, [Direction::Sent, Direction::Received]);
    assert!(matches!(host.key_update(&conn, false).unwrap(), Err(Error::Misuse(_))));
    // openssl s_server serves one connection at a time.
    host.close(&conn).unwrap().unwrap();

    let tls12 = ClientConfig { max_version: Some(Version::Tls12), ..config("ca.pem") };
    let ctx = host.client_context(&tls12).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    assert!(matches!(host.key_update(&conn, true).unwrap(), Err(Error::Misuse(_))));
}

/// `connection-info.ocsp-response`: what `openssl s_server -status_file` stapled, byte for byte.
#[test]
fn the_stapled_ocsp_response_is_in_the_info() {
    let mut host = Host::new(&component()).unwrap();
    let response = read("server-ecdsa.ocsp");
    let server = openssl_server("server-ecdsa", &["-status_file", &tlswire_interop::file("server-ecdsa.ocsp")]);
    let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    assert_eq!(host.info(&conn).unwrap().unwrap().ocsp_response, Some(response));
}

/// `reject`: the host refuses the server after reading its chain; openssl s_server gets
/// certificate_unknown, and the connection's failure is a `rejected` certificate error, sticky.
#[test]
fn the_host_can_reject_the_server_after_the_handshake() {
    let mut host = Host::new(&component()).unwrap();
    let server = openssl_server("server-ecdsa", &[]);
    let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    assert!(matches!(host.reject(&conn, "too early").unwrap(), Error::Misuse(_)));
    host.handshake(&conn).unwrap().unwrap();
    assert_eq!(host.info(&conn).unwrap().unwrap().peer_certificates.len(), 1);
    let err = host.reject(&conn, "not the certificate we pinned").unwrap();
    match &err {
        Error::Certificate(f) => {
            assert_eq!(f.kind, CertificateErrorKind::Rejected);
            assert_eq!(f.code, "CERT_REJECTED");
            assert_eq!(f.alert_sent.as_ref().map(|a| a.name.as_str()), Some("certificate_unknown"));
            assert!(f.detail.contains("not the certificate we pinned"), "{}", f.detail);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(host.write(&conn, b"x").unwrap(), Err(Error::Certificate(_))), "sticky");
}

/// `signature-schemes`: openssl s_server signs with the component's first preference
/// (`connection-info.peer-signature-scheme`).
#[test]
fn signature_scheme_preferences_reach_openssl() {
    let mut host = Host::new(&component()).unwrap();
    let server = openssl_server("server-rsa", &[]);
    let config = ClientConfig { signature_schemes: vec!["rsa_pss_rsae_sha384".into()], ..config("ca.pem") };
    let ctx = host.client_context(&config).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    let info = host.info(&conn).unwrap().unwrap();
    assert_eq!(info.peer_signature_scheme.as_deref(), Some("rsa_pss_rsae_sha384"));
    assert_eq!(info.signature_scheme, None);
}

/// `more-certificates`: a component server with an ECDSA and an RSA certificate presents the RSA
/// one to an openssl s_client that accepts RSA-PSS only (`connection-info.certificate` 1).
#[test]
fn a_component_server_picks_the_certificate_the_client_can_verify() {
    let mut host = Host::new(&component()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::thread::spawn(move || {
        let args = tlswire_interop::strings(&[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-CAfile",
            &tlswire_interop::file("ca.pem"),
            "-sigalgs",
            "rsa_pss_rsae_sha256",
        ]);
        tlswire_interop::run_client(std::path::Path::new("openssl"), &args, b"ping\n", "pong")
    });
    let config = ServerConfig {
        more_certificates: vec![CertifiedKey { chain: read("server-rsa.pem"), private_key: read("server-rsa.key") }],
        ..server_config()
    };
    let ctx = host.server_context(&config).unwrap().unwrap();
    let conn = host.serve(ctx, &listener).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    let info = host.info(&conn).unwrap().unwrap();
    assert_eq!(info.certificate, Some(1));
    assert_eq!(info.signature_scheme.as_deref(), Some("rsa_pss_rsae_sha256"));
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        let chunk = host.read(&conn, 1024).unwrap().unwrap();
        assert!(!chunk.is_empty(), "client closed early");
        got.extend_from_slice(&chunk);
    }
    host.write(&conn, b"pong\n").unwrap().unwrap();
    host.close(&conn).unwrap().unwrap();
    let (stdout, _) = client.join().unwrap();
    assert!(stdout.contains("Peer signature type: RSA-PSS"), "{stdout}");
}

/// `max-early-data`: a component server accepts openssl s_client's 0-RTT data on a resumption
/// (`connection-info.early-data`), and it comes first in what `read` returns.
#[test]
fn a_component_server_accepts_early_data() {
    let mut host = Host::new(&component()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tlswire_interop::pki();
    let early = dir.join(format!("component-early-{port}.txt"));
    std::fs::write(&early, "early bird\n").unwrap();
    let session = dir.join(format!("component-early-session-{port}.pem"));
    let (early_path, session_path) = (early.to_str().unwrap().to_string(), session.to_str().unwrap().to_string());
    let client = std::thread::spawn(move || {
        let base = tlswire_interop::strings(&[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-CAfile",
            &tlswire_interop::file("ca.pem"),
        ]);
        let mut first = base.clone();
        first.extend(tlswire_interop::strings(&["-sess_out", &session_path]));
        tlswire_interop::run_client(std::path::Path::new("openssl"), &first, b"one\n", "eno");
        let mut second = base;
        second.extend(tlswire_interop::strings(&["-sess_in", &session_path, "-early_data", &early_path]));
        tlswire_interop::run_client(std::path::Path::new("openssl"), &second, b"", "dribylrae")
    });
    let config = ServerConfig { max_early_data: Some(16384), ..server_config() };
    let ctx = host.server_context(&config).unwrap().unwrap();
    let mut infos = Vec::new();
    for _ in 0..2 {
        let conn = host.serve(ctx, &listener).unwrap().unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            let chunk = host.read(&conn, 1024).unwrap().unwrap();
            assert!(!chunk.is_empty(), "client closed early");
            got.extend_from_slice(&chunk);
        }
        let line: Vec<u8> = got.iter().rev().skip(1).copied().chain([b'\n']).collect();
        host.write(&conn, &line).unwrap().unwrap();
        infos.push((host.info(&conn).unwrap().unwrap(), got));
        let _ = host.close(&conn);
    }
    let (stdout, stderr) = client.join().unwrap();
    assert!(stdout.contains("Early data was accepted"), "{stdout} {stderr}");
    assert_eq!((infos[0].0.early_data, infos[0].0.resumed), (0, false));
    assert_eq!((infos[1].0.early_data, infos[1].0.resumed), (11, true));
    assert_eq!(infos[1].1, b"early bird\n");
}

/// `write-early-data`: the component resumes a session (taken from another instance) with 0-RTT
/// data that openssl s_server -early_data reads as early data.
#[test]
fn the_component_sends_early_data_that_openssl_accepts() {
    let port = tlswire_interop::free_port();
    let out = tlswire_interop::pki().join(format!("component-early-openssl-{port}.txt"));
    let mut args = tlswire_interop::strings(&["s_server", "-accept", &format!("127.0.0.1:{port}")]);
    args.extend(tlswire_interop::strings(&[
        "-cert",
        &tlswire_interop::file("server-ecdsa.pem"),
        "-key",
        &tlswire_interop::file("server-ecdsa.key"),
        "-early_data",
    ]));
    let mut server =
        tlswire_interop::Peer::start_with_stdout("openssl", &args, port, std::fs::File::create(&out).unwrap());
    let addr = format!("127.0.0.1:{port}");
    let config = ClientConfig { keep_sessions: true, early_data: true, ..config("ca.pem") };
    let session = {
        let mut host = Host::new(&component()).unwrap();
        let ctx = host.client_context(&config).unwrap().unwrap();
        let conn = host.connect(ctx, "localhost", &addr).unwrap().unwrap();
        host.handshake(&conn).unwrap().unwrap();
        // openssl s_server (plain mode) sends what its stdin gets: its tickets come before it.
        use std::io::Write as _;
        server.stdin().write_all(b"hi\n").unwrap();
        server.stdin().flush().unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            got.extend(host.read(&conn, 1024).unwrap().unwrap());
        }
        let sessions = host.take_sessions(&conn).unwrap();
        let _ = host.close(&conn);
        sessions.last().cloned().expect("a session")
    };
    let mut host = Host::new(&component()).unwrap();
    let ctx = host.client_context(&config).unwrap().unwrap();
    let conn = host.connect_resuming(ctx, "localhost", &session, &addr).unwrap().unwrap();
    assert_eq!(host.write_early_data(&conn, b"early bird\n").unwrap().unwrap(), 11);
    host.handshake(&conn).unwrap().unwrap();
    let info = host.info(&conn).unwrap().unwrap();
    assert_eq!((info.resumed, info.early_data, info.early_data_rejected), (true, 11, 0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.contains("Early data received") && text.contains("early bird") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The wasi-tls-shaped client (`handshakes`): `client-handshake` + `finish` + polling `get`
/// against openssl s_server. The constructor trusts the bundled Mozilla roots (so the test CA is
/// refused, typed); `with-context` trusts the context's CAs, and the connection it yields reads
/// and writes. A name that is not one fails from `get`, not with a trap.
#[test]
fn the_wasi_tls_shaped_handshake_connects() {
    let mut host = Host::new(&component()).unwrap();
    let server = openssl_server("server-ecdsa", &[]);
    let addr = format!("127.0.0.1:{}", server.port);
    match host.wasi_tls_connect(None, "localhost", &addr).unwrap() {
        Err(Error::Certificate(f)) => assert_eq!(f.code, "CERT_UNKNOWN_ISSUER"),
        other => panic!("{:?}", other.err()),
    }
    let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
    let conn = host.wasi_tls_connect(Some(ctx), "localhost", &addr).unwrap().unwrap();
    host.write(&conn, b"shaped\n").unwrap().unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        got.extend(host.read(&conn, 1024).unwrap().unwrap());
    }
    assert_eq!(got, b"depahs\n");
    assert_eq!(host.info(&conn).unwrap().unwrap().version, Version::Tls13);
    host.close(&conn).unwrap().unwrap();
    match host.wasi_tls_connect(None, "", &addr).unwrap() {
        Err(Error::Config(_)) => {}
        other => panic!("{:?}", other.err()),
    }
}

/// `ech-config-list`: the component's ClientHello is encrypted to Go's crypto/tls ECH server
/// (tests/ech), which decrypts it; a list whose key the server does not hold is `ech-rejected`
/// with the server's retry list, and that list then works.
#[test]
fn ech_reaches_go_crypto_tls_and_a_rejection_carries_the_retry_list() {
    use tlswire_interop::EchServer;
    let mut host = Host::new(&component()).unwrap();
    for reject in [false, true] {
        let server = EchServer::start(if reject { &["-reject"] } else { &[] });
        let addr = format!("127.0.0.1:{}", server.peer.port);
        let ech = |list: &[u8]| ClientConfig {
            ca_certificates: vec![server.ca.clone()],
            ech_config_list: Some(list.to_vec()),
            ..config("ca.pem")
        };
        let ctx = host.client_context(&ech(&server.config_list)).unwrap().unwrap();
        let conn = host.connect(ctx, "secret.test", &addr).unwrap().unwrap();
        let result = host.handshake(&conn).unwrap();
        let retry = if reject {
            let Err(Error::Protocol(failure)) = result else { panic!("not a protocol failure: {result:?}") };
            assert_eq!((failure.kind, failure.code.as_str()), (ProtocolErrorKind::EchRejected, "ECH_REJECTED"));
            assert_eq!(failure.alert_sent.map(|a| a.name).as_deref(), Some("ech_required"));
            assert_eq!(failure.ech_retry_configs.as_ref(), Some(&server.retry_list));
            server.retry_list.clone()
        } else {
            result.unwrap();
            server.config_list.clone()
        };
        let conn = if reject {
            let ctx = host.client_context(&ech(&retry)).unwrap().unwrap();
            let conn = host.connect(ctx, "secret.test", &addr).unwrap().unwrap();
            host.handshake(&conn).unwrap().unwrap();
            conn
        } else {
            conn
        };
        assert_eq!(host.info(&conn).unwrap().unwrap().ech, EchStatus::Accepted);
        host.write(&conn, b"over ech").unwrap().unwrap();
        assert_eq!(host.read(&conn, 100).unwrap().unwrap(), b"over ech");
        let report = server.report(if reject { 2 } else { 1 });
        assert_eq!(report["inner_sni"], "secret.test", "{report}");
        assert_eq!(report["outer_sni"], "public.test", "{report}");
        host.close(&conn).unwrap().unwrap();
    }
}

/// RFC 8449: gnutls-serv `--recordsize 512` sends record_size_limit; the component reports it
/// and its records stay within it (GnuTLS takes the 4 KiB line and echoes it).
#[test]
fn the_peers_record_size_limit_is_honoured() {
    let server = tlswire_interop::gnutls_server("server-ecdsa", &["--recordsize", "512"]);
    let mut host = Host::new(&component()).unwrap();
    let ctx = host.client_context(&config("ca.pem")).unwrap().unwrap();
    let conn = host.connect(ctx, "localhost", &format!("127.0.0.1:{}", server.port)).unwrap().unwrap();
    host.handshake(&conn).unwrap().unwrap();
    assert_eq!(host.info(&conn).unwrap().unwrap().peer_record_size_limit, Some(513));
    let line = format!("{}\n", "c".repeat(4095));
    host.write(&conn, line.as_bytes()).unwrap().unwrap();
    let mut echoed = Vec::new();
    while echoed.len() < line.len() {
        let chunk = host.read(&conn, 65536).unwrap().unwrap();
        assert!(!chunk.is_empty(), "closed before the echo was complete");
        echoed.extend_from_slice(&chunk);
    }
    assert_eq!(echoed, line.as_bytes());
}

/// `dangerously-accept-any-client-certificate`: a component server asks openssl s_client for a
/// certificate without knowing its issuer; the host judges it from `peer-certificates` and lets
/// the registered one in (the echo arrives) or refuses another with `reject`.
#[test]
fn a_component_server_accepts_any_client_certificate_and_the_host_judges_it() {
    let registered_der = tlswire_interop::first_certificate_der("client.pem");
    let mut host = Host::new(&component()).unwrap();
    for (identity, welcome) in [("client", true), ("server-rsa", false)] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::thread::spawn(move || {
            let file = tlswire_interop::file;
            let args = tlswire_interop::strings(&[
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-CAfile",
                &file("ca.pem"),
                "-cert",
                &file(&format!("{identity}.pem")),
                "-key",
                &file(&format!("{identity}.key")),
                "-quiet",
            ]);
            tlswire_interop::run_client(std::path::Path::new("openssl"), &args, b"device\n", "welcome")
        });
        let config = ServerConfig {
            client_auth: ClientAuth::Required,
            dangerously_accept_any_client_certificate: true,
            ..server_config()
        };
        let ctx = host.server_context(&config).unwrap().unwrap();
        let conn = host.serve(ctx, &listener).unwrap().unwrap();
        host.handshake(&conn).unwrap().unwrap();
        let peer = host.info(&conn).unwrap().unwrap().peer_certificates;
        assert_eq!(peer[0] == registered_der, welcome, "{identity}");
        if welcome {
            host.write(&conn, b"welcome\n").unwrap().unwrap();
            host.close(&conn).unwrap().unwrap();
        } else {
            let err = host.reject(&conn, "not a registered device").unwrap();
            assert!(matches!(&err, Error::Certificate(f) if f.code == "CERT_REJECTED"), "{err:?}");
        }
        let (stdout, stderr) = client.join().unwrap();
        assert_eq!(stdout.contains("welcome"), welcome, "{identity}: {stdout}\n{stderr}");
    }
}
