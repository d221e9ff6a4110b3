//! Encrypted Client Hello (RFC 9849) against real servers: Go's crypto/tls server, which accepts
//! ECH (tests/ech, built with the Go BoGo's runner uses), and openssl s_server, which does not
//! know ECH. The Go server also decrypts each ClientHello it records on its own, with Go's
//! crypto/hpke, so the test sees what the wire carried: the public name outside, the real name
//! only inside the encrypted inner ClientHello.

use base64ct::{Base64, Encoding};
use tlswire::{AlertDescription, EchStatus, Error, ProtocolError};
use tlswire_interop::*;

fn echo(s: &mut Session, data: &[u8]) {
    s.write(data);
    assert_eq!(s.read_exact(data.len()).unwrap(), data);
    s.close();
}

#[test]
fn ech_accepted_by_go_crypto_tls_and_the_real_name_only_inside() {
    let server = EchServer::start(&[]);
    let ctx = server.client(|c| {
        c.ech_config_list(&server.config_list).unwrap().alpn(&["echo"]);
    });
    let mut s = connect(&ctx, "secret.test", server.peer.port).expect("ECH handshake");
    let info = s.conn.info().unwrap();
    assert_eq!(info.ech, EchStatus::Accepted);
    assert_eq!(info.version, tlswire::Version::Tls13);
    assert_eq!(info.alpn.as_deref(), Some(&b"echo"[..]), "ALPN travels in the inner ClientHello");
    echo(&mut s, b"hello through ECH");

    let report = server.report(1);
    assert_eq!(report["accepted"], true, "{report}");
    assert_eq!(report["server_name"], "secret.test", "{report}");
    // What the wire carried, decrypted by Go's crypto/hpke on its own.
    assert_eq!(report["outer_sni"], "public.test", "{report}");
    assert_eq!(report["inner_decrypted"], true, "{report}");
    assert_eq!(report["inner_sni"], "secret.test", "{report}");
    assert_eq!(
        report["outer_has_real_name"], false,
        "the real name appears nowhere in the outer ClientHello: {report}"
    );
}

#[test]
fn ech_rejected_with_retry_configs_then_accepted_with_them() {
    // The published list holds a key the server does not have: it answers the outer
    // ClientHello (as public.test) and offers its real list for a retry.
    let server = EchServer::start(&["-reject"]);
    let ctx = server.client(|c| {
        c.ech_config_list(&server.config_list).unwrap();
    });
    let err = connect(&ctx, "secret.test", server.peer.port).err().expect("a rejected ECH offer fails");
    assert_eq!(err.code(), "ECH_REJECTED", "{err}");
    assert_eq!(err.alert_sent(), Some(AlertDescription::EncryptedClientHelloRequired));
    let Error::Protocol { error: ProtocolError::EchRejected { retry_configs: Some(retry) }, .. } = &err else {
        panic!("no retry configurations: {err:?}")
    };
    assert_eq!(retry, &server.retry_list, "the retry list is the server's, byte for byte");
    let report = server.report(1);
    assert_eq!(report["outer_sni"], "public.test", "{report}");
    assert_eq!(report["inner_decrypted"], false, "{report}");

    // The retry list works.
    let ctx = server.client(|c| {
        c.ech_config_list(retry).unwrap();
    });
    let mut s = connect(&ctx, "secret.test", server.peer.port).expect("ECH with the retry configurations");
    assert_eq!(s.conn.info().unwrap().ech, EchStatus::Accepted);
    echo(&mut s, b"second try");
    assert_eq!(server.report(2)["accepted"], true);
}

#[test]
fn ech_grease_is_sent_and_ignored() {
    // Go's server sees an ECH extension it cannot decrypt and serves the (real) outer hello.
    let server = EchServer::start(&[]);
    let ctx = server.client(|c| {
        c.ech_grease(true);
    });
    let mut s = connect(&ctx, "secret.test", server.peer.port).expect("GREASE ECH handshake");
    assert_eq!(s.conn.info().unwrap().ech, EchStatus::Grease);
    echo(&mut s, b"grease");
    let report = server.report(1);
    assert_eq!(report["accepted"], false, "{report}");
    assert_eq!(report["outer_sni"], "secret.test", "GREASE hides nothing: {report}");
    assert!(report["config_id"].is_number(), "an ECH extension was sent: {report}");
    assert_eq!(report["inner_decrypted"], false, "{report}");

    // openssl s_server (no ECH) completes the handshake with a GREASE ECH client.
    let peer = openssl_server("server-ecdsa", &["-tls1_3"]);
    let ctx = client(|c| {
        c.ech_grease(true);
    });
    let info = round_trip(peer.port, &ctx, b"grease\n", b"esaerg\n");
    assert_eq!(info.ech, EchStatus::Grease);
}

#[test]
fn ech_offered_to_a_server_without_ech_fails_typed() {
    // openssl 3.0's s_server ignores the ECH extension and answers the outer ClientHello,
    // whose public name here is localhost (the certificate's name): a rejection, with no retry
    // configurations, after the certificate was checked for the public name.
    let peer = openssl_server("server-ecdsa", &["-tls1_3"]);
    // Lists made by the Go ECH server (for its key, unused here), with the public names wanted.
    let list = EchServer::start(&["-public", "localhost"]).config_list.clone();
    let ctx = client(|c| {
        c.ech_config_list(&list).unwrap();
    });
    let err = connect(&ctx, "secret.test", peer.port).err().expect("ECH was not accepted");
    assert_eq!(err.code(), "ECH_REJECTED", "{err}");
    assert_eq!(err.alert_sent(), Some(AlertDescription::EncryptedClientHelloRequired));
    assert!(matches!(err, Error::Protocol { error: ProtocolError::EchRejected { retry_configs: None }, .. }));

    // A public name the server's certificate does not cover: its certificate is refused as for
    // any other name, before ECH is judged.
    let list = EchServer::start(&[]).config_list.clone();
    let ctx = client(|c| {
        c.ech_config_list(&list).unwrap();
    });
    let err = connect(&ctx, "localhost", peer.port).err().unwrap();
    assert_eq!(err.code(), "CERT_HOSTNAME_MISMATCH", "{err}");
}

#[test]
fn cli_ech_config_list_and_the_retry_list_it_prints() {
    let server = EchServer::start(&["-reject"]);
    let ca = target_dir().join(format!("ech-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &server.ca).unwrap();
    let connect = format!("127.0.0.1:{}", server.peer.port);
    let args = |list: &[u8]| {
        strings(&[
            "s_client",
            "-connect",
            &connect,
            "-servername",
            "secret.test",
            "-CAfile",
            ca.to_str().unwrap(),
            "-ech_config_list",
            &Base64::encode_string(list),
        ])
    };
    // Refused: the typed error, and the server's retry list to use instead.
    let out = std::process::Command::new(tlswire_bin()).args(args(&server.config_list)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ECH_REJECTED") && stderr.contains("ech_required"), "{stderr}");
    let retry = stderr
        .lines()
        .find_map(|l| l.strip_prefix("ECH retry config list: "))
        .unwrap_or_else(|| panic!("no retry list printed: {stderr}"));
    assert_eq!(Base64::decode_vec(retry).unwrap(), server.retry_list);
    // With it: accepted, and the data goes through.
    let (stdout, stderr) = run_client(&tlswire_bin(), &args(&server.retry_list), b"over ech\n", "over ech");
    assert!(stderr.contains("ECH: accepted"), "{stderr}");
    assert!(stdout.contains("over ech"), "{stdout}");
    let _ = std::fs::remove_file(&ca);
}
