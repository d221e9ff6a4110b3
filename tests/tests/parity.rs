//! Trace parity: `tlswire s_client -msg` prints the same protocol-message sequence as
//! `openssl s_client -msg` against the same `openssl s_server`, in each direction.
//!
//! Lines are compared without their lengths (key shares and certificates differ in size): the
//! direction, version label, content type and handshake type must match one for one.

use std::path::Path;

use tlswire_interop::*;

fn traces(server_args: &[&str], client_args: &[&str]) -> (String, String) {
    let peer = openssl_server("server-ecdsa", server_args);
    let mut args: Vec<String> = ["-connect".to_string(), format!("127.0.0.1:{}", peer.port)].into();
    args.extend(["-CAfile".to_string(), file("ca.pem"), "-msg".to_string()]);
    args.extend(client_args.iter().map(|s| s.to_string()));
    let mut openssl_args = vec!["s_client".to_string()];
    openssl_args.extend(args.clone());
    let (openssl_out, _) = run_client(Path::new("openssl"), &openssl_args, b"hello\n", "olleh");
    let mut ours_args = vec!["s_client".to_string()];
    ours_args.extend(args);
    let (ours_out, ours_err) = run_client(&tlswire_bin(), &ours_args, b"hello\n", "olleh");
    assert!(ours_out.contains("olleh"), "tlswire got no reply: {ours_err}");
    assert!(openssl_out.contains("olleh"), "openssl got no reply");
    (openssl_out, ours_err)
}

/// Known, legitimate difference: rustls sends a TLS 1.3 client flight (Certificate,
/// CertificateVerify, Finished) in one record, OpenSSL in one record per message. Applied to
/// OpenSSL's sent lines, this folds the record header + inner content lines between consecutive
/// handshake messages; the messages themselves must still match one for one.
fn coalesce_flight(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let folds = out.last().is_some_and(|l| l.contains(", Handshake, "))
            && lines[i].ends_with("RecordHeader")
            && lines.get(i + 1).is_some_and(|l| l.ends_with("InnerContent"))
            && lines.get(i + 2).is_some_and(|l| l.contains(", Handshake, "));
        if folds {
            i += 2;
            continue;
        }
        out.push(lines[i].clone());
        i += 1;
    }
    out
}

fn assert_parity(server_args: &[&str], client_args: &[&str], must_contain: &[&str]) {
    assert_parity_with(server_args, client_args, must_contain, false)
}

fn assert_parity_with(server_args: &[&str], client_args: &[&str], must_contain: &[&str], flight_in_one_record: bool) {
    let (openssl, ours) = traces(server_args, client_args);
    for arrow in [">>>", "<<<"] {
        let mut expected = msg_lines(&openssl, arrow);
        if flight_in_one_record && arrow == ">>>" {
            expected = coalesce_flight(expected);
        }
        let got = msg_lines(&ours, arrow);
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "{arrow} lines differ\n--- openssl\n{expected:#?}\n--- tlswire\n{got:#?}");
    }
    for line in must_contain {
        assert!(msg_lines(&ours, &line[..3]).iter().any(|l| l == line), "missing {line}");
    }
}

#[test]
fn tls13_full_handshake() {
    assert_parity(
        &[],
        &[],
        &[
            "<<< TLS 1.3, Handshake, EncryptedExtensions",
            "<<< TLS 1.3, Handshake, NewSessionTicket",
            ">>> TLS 1.3, ChangeCipherSpec",
        ],
    );
}

#[test]
fn tls13_hello_retry_request() {
    assert_parity(&["-groups", "P-256"], &[], &[">>> TLS 1.3, Handshake, ClientHello"]);
}

#[test]
fn tls12_ecdhe() {
    assert_parity(
        &["-tls1_2"],
        &[],
        &["<<< TLS 1.2, Handshake, ServerKeyExchange", ">>> TLS 1.2, Handshake, ClientKeyExchange"],
    );
}

#[test]
fn tls13_client_auth() {
    assert_parity_with(
        &["-Verify", "1", "-CAfile", &file("ca.pem")],
        &["-cert", &file("client.pem"), "-key", &file("client.key")],
        &["<<< TLS 1.3, Handshake, CertificateRequest", ">>> TLS 1.3, Handshake, CertificateVerify"],
        true,
    );
}

#[test]
fn msgfile_gets_the_trace_and_hex_dump_matches_openssl_format() {
    let peer = openssl_server("server-ecdsa", &[]);
    let msgfile = pki().join(format!("trace-{}.txt", peer.port));
    let args: Vec<String> = [
        "s_client",
        "-connect",
        &format!("127.0.0.1:{}", peer.port),
        "-CAfile",
        &file("ca.pem"),
        "-msgfile",
        msgfile.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_client(&tlswire_bin(), &args, b"x\n", "x");
    let trace = std::fs::read_to_string(&msgfile).unwrap();
    let mut lines = trace.lines();
    assert_eq!(lines.next(), Some(">>> TLS 1.0, RecordHeader [length 0005]"));
    let dump = lines.next().unwrap();
    assert!(dump.starts_with("    16 03 01 "), "{dump}");
}
