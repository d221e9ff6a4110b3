//! tlswire client against tlslite-ng (`tls.py server --echo`), an independent pure-Python TLS
//! implementation — and the independent peer for X25519MLKEM768.

use tlswire::{AlertDescription, Version};
use tlswire_interop::*;

fn echo(peer: &Peer, ctx: &tlswire::ClientContext) -> tlswire::Info {
    round_trip(peer.port, ctx, b"ping", b"ping")
}

#[test]
fn x25519mlkem768_is_negotiated() {
    let peer = tlslite_server("server-ecdsa", &["--groups", "x25519mlkem768"]);
    let info = echo(&peer, &client(|_| {}));
    assert_eq!(info.group.as_deref(), Some("X25519MLKEM768"));
    assert!(!info.hello_retry_request);
}

#[test]
fn every_group() {
    for (group, name) in [("x25519", "X25519"), ("secp256r1", "secp256r1"), ("secp384r1", "secp384r1")] {
        let peer = tlslite_server("server-ecdsa", &["--groups", group]);
        assert_eq!(echo(&peer, &client(|_| {})).group.as_deref(), Some(name), "{group}");
    }
}

#[test]
fn tls13_and_tls12_with_rsa_ecdsa_ed25519_certificates() {
    for identity in ["server-rsa", "server-ecdsa", "server-ed25519"] {
        for (extra, version) in [(&[][..], Version::Tls13), (&["--max-ver", "tls1.2"][..], Version::Tls12)] {
            let peer = tlslite_server(identity, extra);
            assert_eq!(echo(&peer, &client(|_| {})).version, version, "{identity}");
        }
    }
}

#[test]
fn every_cipher_suite() {
    for (cipher, tls13, tls12_ecdsa) in [
        ("aes128gcm", "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("aes256gcm", "TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        ("chacha20-poly1305", "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ] {
        let peer = tlslite_server("server-ecdsa", &["--cipherlist", cipher]);
        assert_eq!(echo(&peer, &client(|_| {})).cipher_suite, tls13);
        let peer = tlslite_server("server-ecdsa", &["--cipherlist", cipher, "--max-ver", "tls1.2"]);
        assert_eq!(echo(&peer, &client(|_| {})).cipher_suite, tls12_ecdsa);
        let peer = tlslite_server("server-rsa", &["--cipherlist", cipher, "--max-ver", "tls1.2"]);
        let rsa = tls12_ecdsa.replace("ECDSA", "RSA");
        assert_eq!(echo(&peer, &client(|_| {})).cipher_suite, rsa);
    }
}

#[test]
fn client_certificate_is_sent_when_requested() {
    // tlslite-ng prints the SHA-1 fingerprint of the client certificate it got, or says none came.
    let fingerprint = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in", &file("client.pem")])
        .output()
        .unwrap();
    let fingerprint = String::from_utf8(fingerprint.stdout).unwrap();
    let fingerprint = fingerprint.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase();
    for version in [Version::Tls13, Version::Tls12] {
        let log = pki().join(format!("tlslite-reqcert-{version:?}.log"));
        let peer = tlslite_server_logged("server-ecdsa", &["--reqcert"], Some(&log));
        let with_cert = client(|c| {
            c.versions(version, version).client_auth(&read("client.pem"), &read("client.key")).unwrap();
        });
        echo(&peer, &with_cert);
        echo(
            &peer,
            &client(|c| {
                c.versions(version, version);
            }),
        );
        let printed = std::fs::read_to_string(&log).unwrap();
        assert!(printed.contains(&format!("Client X.509 SHA1 fingerprint: {fingerprint}")), "{version:?}: {printed}");
        assert!(printed.contains("No client certificate provided by peer"), "{version:?}: {printed}");
    }
}

#[test]
fn certificate_failures() {
    let peer = tlslite_server("server-ecdsa", &[]);
    let err = connect(&client(|_| {}), "wrong.example", peer.port).err().unwrap();
    assert_eq!((err.code(), err.alert_sent()), ("CERT_HOSTNAME_MISMATCH", Some(AlertDescription::BadCertificate)));
    let expired = tlslite_server("expired", &[]);
    let err = connect(&client(|_| {}), "localhost", expired.port).err().unwrap();
    assert_eq!(err.code(), "CERT_EXPIRED");
}
