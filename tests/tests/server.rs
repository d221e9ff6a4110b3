//! tlswire in server state: `openssl s_client` against `tlswire s_server` (which echoes).

use tlswire_interop::*;

fn tlswire_server(extra: &[&str]) -> Peer {
    tlswire_server_as("server-ecdsa", extra)
}

/// `tlswire s_server` with the certificate and key of `identity` (a PKI file stem).
fn tlswire_server_as(identity: &str, extra: &[&str]) -> Peer {
    let port = free_port();
    let mut args = strings(&[
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &file(&format!("{identity}.pem")),
        "-key",
        &file(&format!("{identity}.key")),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    Peer::start(tlswire_bin().to_str().unwrap(), &args, port)
}

fn openssl_client(port: u16, extra: &[&str]) -> String {
    let mut args: Vec<String> =
        ["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem"), "-verify_return_error"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let (out, err) = run_client(std::path::Path::new("openssl"), &args, b"echo me\n", "echo me");
    out + &err
}

#[test]
fn openssl_client_tls13_and_tls12() {
    let server = tlswire_server(&[]);
    for (flag, protocol) in [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")] {
        let out = openssl_client(server.port, &[flag]);
        assert!(out.contains(&format!("Protocol  : {protocol}")) || out.contains(&format!("New, {protocol}")), "{out}");
        assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
        assert!(out.contains("echo me"), "no echo: {out}");
    }
}

#[test]
fn openssl_client_with_client_auth() {
    let server = tlswire_server(&["-Verify", "1", "-CAfile", &file("ca.pem")]);
    for flag in ["-tls1_3", "-tls1_2"] {
        let out = openssl_client(server.port, &[flag, "-cert", &file("client.pem"), "-key", &file("client.key")]);
        assert!(out.contains("echo me"), "{flag}: {out}");
        // Without a certificate the tlswire server refuses: no echo, an alert instead.
        let out = openssl_client(server.port, &[flag]);
        assert!(!out.contains("echo me"), "{flag}: served without a client certificate: {out}");
        // The alert RFC 8446 names (certificate_required, 116); TLS 1.2 has none of its own:
        // handshake_failure (40), as OpenSSL sends.
        let alert = if flag == "-tls1_3" { "alert number 116" } else { "alert number 40" };
        assert!(out.contains(alert), "{flag}: not {alert}: {out}");
    }
}

#[test]
fn tlswire_client_against_tlswire_server_with_mlkem() {
    let server = tlswire_server(&["-alpn", "x/1"]);
    let mut s = connect(
        &client(|c| {
            c.alpn(&["x/1"]);
        }),
        "localhost",
        server.port,
    )
    .unwrap();
    let info = s.conn.info().unwrap();
    assert_eq!(info.group.as_deref(), Some("X25519MLKEM768"));
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    s.write(&big);
    assert_eq!(s.read_exact(big.len()).unwrap(), big);
    s.close();
}

#[test]
fn an_idle_connection_does_not_hold_up_other_clients() {
    let server = tlswire_server(&[]);
    // A client that connects and sends nothing (before, the server waited on it alone).
    let _idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let ctx = client(|c| {
        c.add_ca(&read("ca.pem")).unwrap();
    });
    let info = round_trip(server.port, &ctx, b"next client\n", b"next client\n");
    assert_eq!(info.version, tlswire::Version::Tls13);
}

/// The server's checks of client certificates: a revoked one (with `-CRL`) and one whose keyUsage
/// forbids the signature it made are refused, each with its code in the server's log.
#[test]
fn client_certificates_revoked_or_with_the_wrong_key_usage_are_refused() {
    for (identity, code) in [("client-revoked", "CERT_REVOKED"), ("bad-client-key-usage", "CERT_KEY_USAGE")] {
        let server = tlswire_server(&["-Verify", "1", "-CAfile", &file("ca.pem"), "-CRL", &file("ca.crl")]);
        let pem = file(&format!("{identity}.pem"));
        let key = file(&format!("{identity}.key"));
        let out = openssl_client(server.port, &["-tls1_3", "-cert", &pem, "-key", &key]);
        assert!(!out.contains("echo me"), "{identity}: served: {out}");
        let log = server.stop();
        assert!(log.contains(code), "{identity}: {log}");
        // The same server serves a good client certificate.
        let server = tlswire_server(&["-Verify", "1", "-CAfile", &file("ca.pem"), "-CRL", &file("ca.crl")]);
        let out = openssl_client(server.port, &["-tls1_3", "-cert", &file("client.pem"), "-key", &file("client.key")]);
        assert!(out.contains("echo me"), "{out}");
    }
}

/// A client with a ticket from another server (here `openssl s_server -early_data`) sends 0-RTT
/// data that tlswire cannot accept: the server skips it (RFC 8446 section 4.2.10) and the
/// handshake completes, for early data up to the 16 KiB a server skips, in any record split.
#[test]
fn rejected_early_data_from_a_stale_ticket_is_skipped() {
    // (-early_data does not go with openssl_server's -rev.)
    let port = free_port();
    let issuer_args = strings(&[
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &file("server-ecdsa.pem"),
        "-key",
        &file("server-ecdsa.key"),
        "-early_data",
        "-quiet",
    ]);
    let issuer = Peer::start("openssl", &issuer_args, port);
    let dir = pki();
    let session = dir.join("early-data-session.pem").to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&session);
    let ticket_args = strings(&[
        "s_client",
        "-connect",
        &format!("127.0.0.1:{}", issuer.port),
        "-CAfile",
        &file("ca.pem"),
        "-sess_out",
        &session,
    ]);
    run_client(std::path::Path::new("openssl"), &ticket_args, b"ticket\n", "Post-Handshake New Session Ticket arrived");
    assert!(std::path::Path::new(&session).exists(), "openssl s_client saved no session");

    let server = tlswire_server(&[]);
    for size in [1_000, 9_000, 15_000] {
        let early = dir.join(format!("early-{size}.txt"));
        std::fs::write(&early, vec![b'e'; size]).unwrap();
        let out = openssl_client(server.port, &["-sess_in", &session, "-early_data", early.to_str().unwrap()]);
        assert!(out.contains("Early data was rejected"), "{size}: {out}");
        assert!(out.contains("echo me"), "{size} bytes of early data: the handshake failed: {out}");
    }
}

/// RFC 7507: a TLS 1.2 ClientHello with TLS_FALLBACK_SCSV to a server that speaks TLS 1.3 is a
/// forced downgrade: inappropriate_fallback. Without the SCSV (or when TLS 1.2 is the server's
/// highest) the same client is served.
#[test]
fn fallback_scsv_below_our_highest_version_is_refused() {
    let server = tlswire_server(&[]);
    let out = openssl_client(server.port, &["-tls1_2", "-fallback_scsv"]);
    assert!(out.contains("inappropriate fallback"), "{out}");
    assert!(!out.contains("echo me"), "{out}");
    let out = openssl_client(server.port, &["-tls1_2"]);
    assert!(out.contains("echo me"), "{out}");
    let tls12_server = tlswire_server(&["-tls1_2"]);
    let out = openssl_client(tls12_server.port, &["-tls1_2", "-fallback_scsv"]);
    assert!(out.contains("echo me"), "{out}");
}

/// `-max_send_frag 512`: every record the server sends after the handshake carries at most 512
/// bytes of data, as `openssl s_client -msg` sees them (record headers in its trace).
#[test]
fn max_send_frag_bounds_the_servers_records() {
    let server = tlswire_server(&["-max_send_frag", "512"]);
    let line = format!("{}\n", "z".repeat(3000));
    let args: Vec<String> =
        ["s_client", "-connect", &format!("127.0.0.1:{}", server.port), "-CAfile", &file("ca.pem"), "-msg", "-tls1_3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    // The echo comes back in pieces between -msg lines; its last piece ends the line.
    let (stdout, _) = run_client(std::path::Path::new("openssl"), &args, line.as_bytes(), "zzzzzzzz\n");
    // Each received record: "<<< ... RecordHeader [length 0005]" (after the data of the record
    // before, which ends without a newline), then its hex: 17 03 03 LL LL.
    let lines: Vec<&str> = stdout.lines().collect();
    let lengths: Vec<usize> = lines
        .windows(2)
        .filter(|w| w[0].contains("<<< ") && w[0].ends_with("RecordHeader [length 0005]"))
        .filter_map(|w| w[1].trim().strip_prefix("17 03 03 "))
        .filter_map(|rest| usize::from_str_radix(&rest.replace(' ', ""), 16).ok())
        .collect();
    assert!(lengths.len() >= 6, "{stdout}");
    assert!(lengths.iter().all(|&len| len <= 512 + 17), "{lengths:?}");
    let out = std::process::Command::new(tlswire_bin()).args(["s_server", "-max_send_frag", "9"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
}

/// `-dcert`/`-dkey`: tlswire s_server with an ECDSA and an RSA certificate presents the RSA one to
/// an openssl s_client that accepts RSA-PSS signatures only, the ECDSA one otherwise.
#[test]
fn a_second_certificate_serves_the_clients_that_need_it() {
    for flag in ["-tls1_3", "-tls1_2"] {
        let port = free_port();
        let args = strings(&[
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            &file("server-ecdsa.pem"),
            "-key",
            &file("server-ecdsa.key"),
            "-dcert",
            &file("server-rsa.pem"),
            "-dkey",
            &file("server-rsa.key"),
        ]);
        let _server = Peer::start(tlswire_bin().to_str().unwrap(), &args, port);
        for (sigalgs, wanted) in
            [(None, "Peer signature type: ECDSA"), (Some("rsa_pss_rsae_sha256"), "Peer signature type: RSA-PSS")]
        {
            let mut client =
                strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem"), flag]);
            if let Some(list) = sigalgs {
                client.extend(strings(&["-sigalgs", list]));
            }
            let (stdout, _) = run_client(std::path::Path::new("openssl"), &client, b"echo\n", "echo");
            assert!(stdout.contains(wanted), "{flag} {sigalgs:?}: {stdout}");
        }
    }
}

/// `-early_data`: openssl s_client resumes with 0-RTT data, which tlswire s_server accepts and
/// echoes (it comes first in the stream), TLS 1.3; without the option its tickets allow none, and
/// none is accepted.
#[test]
fn early_data_from_openssl_s_client_is_accepted_and_echoed() {
    let early = pki().join("early-data.txt");
    std::fs::write(&early, "early bird\n").unwrap();
    for accept in [true, false] {
        let port = free_port();
        let mut args = strings(&["s_server", "-accept", &format!("127.0.0.1:{port}")]);
        args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key")]));
        if accept {
            args.push("-early_data".into());
        }
        let server = Peer::start(tlswire_bin().to_str().unwrap(), &args, port);
        let session = pki().join(format!("early-session-{port}.pem"));
        let base = strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem")]);
        let mut first = base.clone();
        first.extend(strings(&["-sess_out", session.to_str().unwrap()]));
        let (stdout, _) = run_client(std::path::Path::new("openssl"), &first, b"one\n", "one");
        assert!(stdout.contains("one"), "{stdout}");
        let mut second = base.clone();
        second.extend(strings(&["-sess_in", session.to_str().unwrap(), "-early_data", early.to_str().unwrap()]));
        let (stdout, stderr) = run_client(std::path::Path::new("openssl"), &second, b"two\n", "two");
        assert_eq!(stdout.contains("Early data was accepted"), accept, "{stdout} {stderr}");
        assert_eq!(stdout.contains("early bird"), accept, "the early data is echoed: {stdout}");
        assert!(stdout.contains("Reused, TLSv1.3"), "{stdout}");
        let log = server.stop();
        assert_eq!(log.contains("Early data: 11 bytes accepted"), accept, "{log}");
    }
}

/// RFC 8449: gnutls-cli `--recordsize 512` advertises record_size_limit; tlswire s_server (with
/// an RSA certificate, whose Certificate message is larger than that) keeps every record it
/// sends within it, as its own `-msg` trace of record headers shows, in TLS 1.3 and 1.2.
#[test]
fn the_server_honours_the_clients_record_size_limit() {
    for (priority, most) in [("NORMAL:-VERS-ALL:+VERS-TLS1.3", 513 + 16), ("NORMAL:-VERS-ALL:+VERS-TLS1.2", 512 + 24)] {
        let trace = target_dir().join(format!("rsl-{}-{}.txt", std::process::id(), most));
        let server = tlswire_server_as("server-rsa", &["-msg", "-msgfile", trace.to_str().unwrap()]);
        let args = strings(&[
            "-p",
            &server.port.to_string(),
            "--x509cafile",
            &file("ca.pem"),
            "--recordsize",
            "512",
            "--priority",
            priority,
            "localhost",
        ]);
        require("gnutls-cli");
        let (stdout, stderr) = run_client(std::path::Path::new("gnutls-cli"), &args, b"hello\n", "hello\n");
        assert!(
            stdout.contains("Handshake was completed") && stdout.contains("hello\n"),
            "{priority}: {stdout}\n{stderr}"
        );
        drop(server);
        let text = std::fs::read_to_string(&trace).unwrap();
        let _ = std::fs::remove_file(&trace);
        // Each record sent: ">>> ... RecordHeader [length 0005]", then its hex: TT 03 03 LL LL.
        let lines: Vec<&str> = text.lines().collect();
        let lengths: Vec<usize> = lines
            .windows(2)
            .filter(|w| w[0].starts_with(">>> ") && w[0].ends_with("RecordHeader [length 0005]"))
            .filter_map(|w| {
                let hex: Vec<&str> = w[1].split_whitespace().collect();
                usize::from_str_radix(&format!("{}{}", hex.get(3)?, hex.get(4)?), 16).ok()
            })
            .collect();
        let certificate = lines.iter().any(|l| {
            l.starts_with(">>> ")
                && l.ends_with("], Certificate")
                && l.split("[length ").nth(1).and_then(|t| usize::from_str_radix(&t[..4], 16).ok()) > Some(512)
        });
        assert!(certificate, "{priority}: the Certificate message is larger than 512 bytes: {text}");
        assert!(lengths.len() >= 4 && lengths.iter().all(|&len| len <= most), "{priority}: {lengths:?}");
    }
}
