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

/// Each class of certificate rejection has its own code (tests/scripts/gen-certs.sh makes one
/// server identity per class), in TLS 1.3 and 1.2, and an alert goes to the server.
#[test]
fn each_certificate_rejection_has_its_own_code() {
    let cases = [
        ("bad-key-usage", "CERT_KEY_USAGE"),
        ("bad-rsa-encipherment", "CERT_KEY_USAGE"),
        ("bad-weak-key", "CERT_WEAK_KEY"),
        ("bad-purpose", "CERT_PURPOSE"),
        ("bad-ca-as-leaf", "CERT_CA_AS_END_ENTITY"),
        ("bad-sha1", "CERT_UNSUPPORTED_ALGORITHM"),
        ("bad-name-constraints", "CERT_NAME_CONSTRAINTS"),
        ("bad-path-length", "CERT_PATH_LENGTH"),
        ("bad-ee-as-ca", "CERT_END_ENTITY_AS_CA"),
    ];
    let ctx = client(|_| {});
    for (identity, code) in cases {
        // OpenSSL will not sign a TLS 1.2 ServerKeyExchange with a key whose keyUsage forbids
        // it (it sends handshake_failure itself), so those two are TLS 1.3 only here.
        let flags: &[&str] = if code == "CERT_KEY_USAGE" { &["-tls1_3"] } else { &["-tls1_3", "-tls1_2"] };
        for &flag in flags {
            let chain = file(&format!("{identity}.chain"));
            // SECLEVEL=0: OpenSSL itself refuses to serve the SHA-1 and 1024-bit certificates.
            let mut extra = vec![flag, "-cipher", "DEFAULT@SECLEVEL=0"];
            if std::path::Path::new(&chain).exists() {
                extra.extend(["-cert_chain", &chain]);
            }
            let peer = openssl_server(identity, &extra);
            let err =
                connect(&ctx, "localhost", peer.port).err().unwrap_or_else(|| panic!("{identity} {flag} accepted"));
            assert_eq!(err.code(), code, "{identity} {flag}: {err}");
            assert!(err.alert_sent().is_some(), "{identity} {flag}: no alert");
            assert!(!err.to_string().contains("Other("), "{identity} {flag}: a debug dump: {err}");
        }
    }
}

/// A server whose certificate chain is over 64 KiB (the same intermediate 200 times) is
/// CERT_TOO_LARGE, not a malformed message.
#[test]
fn a_certificate_chain_over_64_kib_is_cert_too_large() {
    let chain = pki().join("huge.chain");
    std::fs::write(&chain, read("nc-ca.pem").repeat(200)).unwrap();
    for flag in ["-tls1_3", "-tls1_2"] {
        let peer = openssl_server("server-ecdsa", &[flag, "-cert_chain", chain.to_str().unwrap()]);
        let err = connect(&client(|_| {}), "localhost", peer.port).err().expect("accepted");
        assert_eq!(err.code(), "CERT_TOO_LARGE", "{flag}: {err}");
        assert!(err.alert_sent().is_some(), "{flag}");
    }
}

/// Caller-supplied CRLs (OpenSSL's `-crl_check`): a revoked server certificate is CERT_REVOKED
/// with certificate_revoked; an unrevoked one passes; a certificate no given CRL covers is
/// CERT_REVOCATION_UNKNOWN, and so is one whose CRL is past its nextUpdate.
#[test]
fn crls_revoke_and_an_uncovered_certificate_is_refused() {
    let with_crl = |crl: &str| {
        client(|c| {
            c.add_crl(&read(crl)).unwrap();
        })
    };
    let revoked = openssl_server("bad-revoked", &[]);
    let err = connect(&with_crl("ca.crl"), "localhost", revoked.port).err().expect("revoked certificate accepted");
    assert_eq!((err.code(), err.alert_sent()), ("CERT_REVOKED", Some(AlertDescription::CertificateRevoked)));
    // Without the CRL the same server is accepted.
    ping(&revoked, &client(|_| {}));

    let good = openssl_server("server-ecdsa", &[]);
    ping(&good, &with_crl("ca.crl"));
    let err = connect(&with_crl("other.crl"), "localhost", good.port).err().expect("no CRL covers it, yet accepted");
    assert_eq!(err.code(), "CERT_REVOCATION_UNKNOWN", "{err}");
    // A CRL past its nextUpdate vouches for nothing (OpenSSL: X509_V_ERR_CRL_HAS_EXPIRED).
    let err = connect(&with_crl("expired.crl"), "localhost", good.port).err().expect("an expired CRL was trusted");
    assert_eq!(err.code(), "CERT_REVOCATION_UNKNOWN", "{err}");
    assert!(err.to_string().contains("expired"), "{err}");

    // A CRL that does not parse is a configuration error, not a failed handshake.
    let mut c = tlswire::ClientConfig::new();
    assert!(matches!(
        c.add_crl(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"),
        Err(tlswire::ConfigError::BadCrl(_))
    ));
    assert!(matches!(c.add_crl(b"not a crl"), Err(tlswire::ConfigError::BadCrl(_))));
}
