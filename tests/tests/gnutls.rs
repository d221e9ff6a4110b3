//! tlswire client against `gnutls-serv --echo` (GnuTLS 3.7) on 127.0.0.1.

use tlswire::{AlertDescription, Version};
use tlswire_interop::*;

/// gnutls-serv echoes whole lines.
fn echo(peer: &Peer, ctx: &tlswire::ClientContext) -> tlswire::Info {
    round_trip(peer.port, ctx, b"ping\n", b"ping\n")
}

fn priority(p: &str) -> [&str; 2] {
    ["--priority", p]
}

#[test]
fn tls13_and_tls12_with_rsa_ecdsa_ed25519_certificates() {
    for identity in ["server-rsa", "server-ecdsa", "server-ed25519"] {
        for (prio, version) in
            [("NORMAL:-VERS-ALL:+VERS-TLS1.3", Version::Tls13), ("NORMAL:-VERS-ALL:+VERS-TLS1.2", Version::Tls12)]
        {
            let peer = gnutls_server(identity, &priority(prio));
            assert_eq!(echo(&peer, &client(|_| {})).version, version, "{identity} {prio}");
        }
    }
}

#[test]
fn every_cipher_suite() {
    for (identity, prio, suite) in [
        ("server-ecdsa", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM", "TLS_AES_128_GCM_SHA256"),
        ("server-ecdsa", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM", "TLS_AES_256_GCM_SHA384"),
        (
            "server-ecdsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305",
            "TLS_CHACHA20_POLY1305_SHA256",
        ),
        (
            "server-ecdsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "server-ecdsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "server-ecdsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        (
            "server-rsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "server-rsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "server-rsa",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
    ] {
        let peer = gnutls_server(identity, &priority(prio));
        assert_eq!(echo(&peer, &client(|_| {})).cipher_suite, suite, "{prio}");
    }
}

#[test]
fn every_classical_group() {
    for (prio_group, name, hrr) in
        [("X25519", "X25519", false), ("SECP256R1", "secp256r1", true), ("SECP384R1", "secp384r1", true)]
    {
        let prio = format!("NORMAL:-GROUP-ALL:+GROUP-{prio_group}");
        let peer = gnutls_server("server-ecdsa", &priority(&prio));
        let info = echo(&peer, &client(|_| {}));
        assert_eq!((info.group.as_deref(), info.hello_retry_request), (Some(name), hrr), "{prio}");
    }
}

#[test]
fn client_auth_required_with_and_without_a_certificate() {
    let peer = gnutls_server(
        "server-ecdsa",
        &["--require-client-cert", "--verify-client-cert", "--x509cafile", &file("ca.pem")],
    );
    echo(
        &peer,
        &client(|c| {
            c.client_auth(&read("client.pem"), &read("client.key")).unwrap();
        }),
    );
    let err = match connect(&client(|_| {}), "localhost", peer.port) {
        Err(e) => e,
        Ok(mut s) => {
            s.write(b"ping\n");
            s.read_exact(5).unwrap_err()
        }
    };
    assert_eq!(err.code(), "ALERT_RECEIVED", "{err:?}");
}

#[test]
fn alpn_is_negotiated() {
    let peer = gnutls_server("server-ecdsa", &["--alpn", "http/1.1"]);
    let info = echo(
        &peer,
        &client(|c| {
            c.alpn(&["h2", "http/1.1"]);
        }),
    );
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn unknown_ca_hostname_mismatch_and_expired_are_distinct() {
    let peer = gnutls_server("server-rsa", &[]);
    let mut other = tlswire::ClientConfig::new();
    other.add_ca(&read("other-ca.pem")).unwrap();
    let err = connect(&other.build().unwrap(), "localhost", peer.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_UNKNOWN_ISSUER", Some(AlertDescription::UnknownCA)));
    let err = connect(&client(|_| {}), "wrong.example", peer.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_HOSTNAME_MISMATCH", Some(AlertDescription::BadCertificate)));
    let expired = gnutls_server("expired", &[]);
    let err = connect(&client(|_| {}), "localhost", expired.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_EXPIRED", Some(AlertDescription::CertificateExpired)));
}
