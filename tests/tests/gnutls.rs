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

/// RFC 8449: gnutls-serv `--recordsize 512` advertises record_size_limit; every record tlswire
/// protects for it carries at most that much (the record headers it wrote, from the message
/// observer), the echo of a 4 KiB line comes back whole, and `Info` has the limit.
#[test]
fn record_size_limit_from_gnutls_is_honoured() {
    use std::sync::{Arc, Mutex};
    for (p, version, limit) in
        [("NORMAL:-VERS-ALL:+VERS-TLS1.3", Version::Tls13, 513), ("NORMAL:-VERS-ALL:+VERS-TLS1.2", Version::Tls12, 512)]
    {
        let peer = gnutls_server("server-ecdsa", &[&priority(p)[..], &["--recordsize", "512"]].concat());
        let sent: Arc<Mutex<Vec<usize>>> = Arc::default();
        let sink = sent.clone();
        let ctx = client(|_| {});
        let mut s = connect_with(&ctx, "localhost", peer.port, |conn| {
            conn.set_msg_callback(Box::new(move |m: &tlswire::Message<'_>| {
                if m.direction == tlswire::Direction::Sent && m.content_type == 256 && m.bytes[0] == 23 {
                    sink.lock().unwrap().push(usize::from(u16::from_be_bytes([m.bytes[3], m.bytes[4]])));
                }
            }))
            .unwrap();
        })
        .unwrap();
        let info = s.conn.info().unwrap();
        assert_eq!((info.version, info.peer_record_size_limit), (version, Some(limit)));
        let line = format!("{}\n", "r".repeat(4095));
        s.write(line.as_bytes());
        assert_eq!(s.read_exact(line.len()).unwrap(), line.as_bytes());
        s.close();
        let sent = sent.lock().unwrap();
        // Ciphertext: at most the limit of plaintext (TLS 1.3: with its content type byte), the
        // 16-byte tag and, in TLS 1.2's AES-GCM, the 8-byte explicit nonce.
        let most = usize::from(limit) + 16 + if version == Version::Tls12 { 8 } else { 0 };
        assert!(sent.len() >= 8, "{sent:?}");
        assert!(sent.iter().all(|&len| len <= most), "{version:?}: {sent:?} (limit {limit})");
    }
}

/// RFC 7627 section 5.4: a TLS 1.2 connection without the extended master secret exports no
/// keying material (its master secret can be the same as another connection's: the triple
/// handshake). GnuTLS's `%NO_SESSION_HASH` turns the extension off; with it on, export works.
#[test]
fn tls12_without_extended_master_secret_exports_nothing() {
    let mut out = [0u8; 32];
    let peer = gnutls_server("server-ecdsa", &priority("NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_SESSION_HASH"));
    let session = connect(&client(|_| {}), "localhost", peer.port).unwrap();
    let err = session.conn.export_keying_material(&mut out, b"EXPERIMENTAL x", None).unwrap_err();
    assert!(err.to_string().contains("extended master secret"), "{err}");
    let peer = gnutls_server("server-ecdsa", &priority("NORMAL:-VERS-ALL:+VERS-TLS1.2"));
    let session = connect(&client(|_| {}), "localhost", peer.port).unwrap();
    session.conn.export_keying_material(&mut out, b"EXPERIMENTAL x", None).unwrap();
}
