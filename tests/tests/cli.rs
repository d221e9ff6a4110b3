//! The `tlswire` command line: usage errors, failures and the dangerous option are explicit.

use std::process::Command;

use tlswire_interop::*;

#[test]
fn unknown_option_names_it_and_exits_2() {
    let out = Command::new(tlswire_bin()).args(["s_client", "-bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option '-bogus'"));
    let out = Command::new(tlswire_bin()).args(["s_server", "-accept"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a value"));
}

#[test]
fn failed_handshake_exits_nonzero_with_the_typed_reason() {
    let peer = openssl_server("server-ecdsa", &[]);
    let out = Command::new(tlswire_bin())
        .args(["s_client", "-connect", &format!("127.0.0.1:{}", peer.port), "-CAfile", &file("other-ca.pem")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown issuer") && err.contains("CERT_UNKNOWN_ISSUER") && err.contains("unknown_ca"),
        "{err}"
    );
}

#[test]
fn verification_is_on_by_default_and_insecure_warns() {
    let peer = openssl_server("server-ecdsa", &[]);
    let connect = format!("127.0.0.1:{}", peer.port);
    // No -CAfile: the bundled Mozilla roots do not know the test CA.
    let out = Command::new(tlswire_bin()).args(["s_client", "-connect", &connect]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let args: Vec<String> = ["s_client", "-connect", &connect, "-insecure"].iter().map(|s| s.to_string()).collect();
    let (stdout, stderr) = run_client(&tlswire_bin(), &args, b"abc\n", "cba");
    assert!(stderr.contains("WARNING: -insecure"), "{stderr}");
    assert!(stderr.contains("Verification: DISABLED"), "{stderr}");
    assert!(stdout.contains("cba"), "{stdout}");
}

#[test]
fn groups_take_openssl_names() {
    let peer = openssl_server("server-ecdsa", &[]);
    let args: Vec<String> = [
        "s_client",
        "-connect",
        &format!("127.0.0.1:{}", peer.port),
        "-CAfile",
        &file("ca.pem"),
        "-groups",
        "P-384:X25519",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (_, stderr) = run_client(&tlswire_bin(), &args, b"", "Group:");
    assert!(stderr.contains("Group: secp384r1"), "{stderr}");
    let out = Command::new(tlswire_bin()).args(["s_client", "-groups", "P-999"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("P-999"));
}

#[test]
fn crl_refuses_a_revoked_server_certificate() {
    let peer = openssl_server("bad-revoked", &[]);
    let connect = format!("127.0.0.1:{}", peer.port);
    let out = Command::new(tlswire_bin())
        .args(["s_client", "-connect", &connect, "-CAfile", &file("ca.pem"), "-CRL", &file("ca.crl"), "-crl_check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CERT_REVOKED") && err.contains("certificate_revoked"), "{err}");
    let out = Command::new(tlswire_bin())
        .args(["s_client", "-connect", &connect, "-CAfile", &file("ca.pem"), "-CRL", &file("ca.pem")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad CRL"), "a file without a CRL is named as such");
}
