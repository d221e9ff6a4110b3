//! tlswire client against `openssl s_server` (OpenSSL 3) on 127.0.0.1.

use tlswire::{AlertDescription, Error, Version};
use tlswire_interop::*;

/// Handshake, then one line each way (`-rev` answers it reversed).
fn ping(peer: &Peer, ctx: &tlswire::ClientContext) -> tlswire::Info {
    round_trip(peer.port, ctx, b"ping\n", b"gnip\n")
}

#[test]
fn tls13_and_tls12_with_rsa_ecdsa_ed25519_certificates() {
    for identity in ["server-rsa", "server-ecdsa", "server-ed25519", "server-p384"] {
        for (flag, version) in [("-tls1_3", Version::Tls13), ("-tls1_2", Version::Tls12)] {
            let peer = openssl_server(identity, &[flag]);
            let info = ping(&peer, &client(|_| {}));
            assert_eq!(info.version, version, "{identity} {flag}");
        }
    }
}

#[test]
fn every_cipher_suite() {
    for suite in ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
        let peer = openssl_server("server-ecdsa", &["-tls1_3", "-ciphersuites", suite]);
        assert_eq!(ping(&peer, &client(|_| {})).cipher_suite, suite);
    }
    for (identity, openssl_name, iana) in [
        ("server-ecdsa", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("server-ecdsa", "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        ("server-ecdsa", "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
        ("server-rsa", "ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ("server-rsa", "ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("server-rsa", "ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ] {
        let peer = openssl_server(identity, &["-tls1_2", "-cipher", openssl_name]);
        assert_eq!(ping(&peer, &client(|_| {})).cipher_suite, iana);
    }
}

#[test]
fn every_classical_group_and_hello_retry_request() {
    // Our ClientHello carries X25519MLKEM768 and X25519 shares: X25519 needs no retry, the NIST
    // curves get a HelloRetryRequest.
    for (group, name, hrr) in [("X25519", "X25519", false), ("P-256", "secp256r1", true), ("P-384", "secp384r1", true)]
    {
        for flag in ["-tls1_3", "-tls1_2"] {
            let peer = openssl_server("server-ecdsa", &[flag, "-groups", group]);
            let info = ping(&peer, &client(|_| {}));
            assert_eq!(info.group.as_deref(), Some(name), "{group} {flag}");
            assert_eq!(info.hello_retry_request, hrr && flag == "-tls1_3", "{group} {flag}");
        }
    }
}

#[test]
fn client_auth_required_with_and_without_a_certificate() {
    for flag in ["-tls1_3", "-tls1_2"] {
        let peer = openssl_server("server-ecdsa", &[flag, "-Verify", "1", "-CAfile", &file("ca.pem")]);
        let ctx = client(|c| {
            c.client_auth(&read("client.pem"), &read("client.key")).unwrap();
        });
        ping(&peer, &ctx);

        // Without a certificate the server aborts: in TLS 1.3 after our Finished (we learn it
        // from its alert on the next read), in TLS 1.2 during the handshake.
        let err = match connect(&client(|_| {}), "localhost", peer.port) {
            Err(e) => e,
            Ok(mut s) => {
                s.write(b"ping\n");
                s.read_exact(5).unwrap_err()
            }
        };
        assert!(
            matches!(
                err,
                Error::AlertReceived(AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure)
            ),
            "{flag}: {err:?}"
        );
    }
}

#[test]
fn alpn_is_negotiated() {
    let peer = openssl_server("server-ecdsa", &["-alpn", "h2,http/1.1"]);
    let info = ping(
        &peer,
        &client(|c| {
            c.alpn(&["http/1.1"]);
        }),
    );
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn unknown_ca_hostname_mismatch_and_expired_are_distinct() {
    let peer = openssl_server("server-ecdsa", &[]);
    let other = {
        let mut c = tlswire::ClientConfig::new();
        c.add_ca(&read("other-ca.pem")).unwrap();
        c.build().unwrap()
    };
    let err = connect(&other, "localhost", peer.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_UNKNOWN_ISSUER", Some(AlertDescription::UnknownCA)));

    let err = connect(&client(|_| {}), "wrong.example", peer.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_HOSTNAME_MISMATCH", Some(AlertDescription::BadCertificate)));

    let expired = openssl_server("expired", &[]);
    let err = connect(&client(|_| {}), "localhost", expired.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_EXPIRED", Some(AlertDescription::CertificateExpired)));
}

#[test]
fn pinning_against_a_real_server() {
    let peer = openssl_server("server-ecdsa", &[]);
    let leaf = tlswire::certificates_from(&read("server-ecdsa.pem")).unwrap().remove(0);
    let pin = tlswire::spki_sha256(&leaf).unwrap();
    ping(
        &peer,
        &client(|c| {
            c.pin_spki_sha256(pin);
        }),
    );
    let err = connect(
        &client(|c| {
            c.pin_spki_sha256([7; 32]);
        }),
        "localhost",
        peer.port,
    )
    .err()
    .unwrap();
    assert_eq!(err.code(), "CERT_PIN_MISMATCH");
}

#[test]
fn a_tls12_renegotiation_request_ends_the_connection_with_no_renegotiation() {
    use std::io::Write;
    // s_server's default mode (not -quiet) reads commands from stdin: "R" sends a HelloRequest.
    let port = free_port();
    let args: Vec<String> = [
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &file("server-ecdsa.pem"),
        "-key",
        &file("server-ecdsa.key"),
        "-tls1_2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut peer = Peer::start("openssl", &args, port);
    let ctx = client(|c| {
        c.add_ca(&read("ca.pem")).unwrap();
    });
    let mut s = connect(&ctx, "localhost", port).unwrap();
    s.write(b"before\n");
    peer.stdin().write_all(b"R\n").unwrap();
    peer.stdin().flush().unwrap();
    // rustls answers with a warning no_renegotiation, which RFC 5246 allows, and would then wait
    // for data while the server waits for a new handshake: tlswire ends the connection instead.
    let err = s.read_exact(usize::MAX).unwrap_err();
    assert_eq!(err.code(), "HANDSHAKE_INCOMPATIBLE", "{err}");
    assert_eq!(err.alert_sent(), Some(AlertDescription::NoRenegotiation));
    assert!(err.to_string().contains("renegotiate"), "{err}");
    s.flush();
}
