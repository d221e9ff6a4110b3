//! Sessions kept outside the process: `tlswire s_client -sess_out` writes the session a real
//! server gave, a second `tlswire` process resumes it with `-sess_in` (its trace shows the PSK
//! handshake: no server Certificate), and a server that did not issue it answers with a full
//! handshake. And `tlswire s_server`'s tickets, resumed by `openssl s_client -sess_in`.

use tlswire_interop::*;

/// Runs `tlswire s_client` against 127.0.0.1:`port` with `extra`, sends `ping`, waits for
/// `answer`; returns (whether it resumed, the server messages in its -msg trace).
fn tlswire_client(port: u16, extra: &[&str], answer: &str) -> (bool, Vec<String>) {
    let mut args = strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"]);
    args.extend(strings(&["-CAfile", &file("ca.pem"), "-msg"]));
    args.extend(strings(extra));
    let (stdout, stderr) = run_client(&tlswire_bin(), &args, b"ping\n", answer);
    assert!(stdout.contains(answer), "{extra:?}: {stdout} {stderr}");
    let resumed = match (stderr.contains("Resumed: yes"), stderr.contains("Resumed: no")) {
        (true, false) => true,
        (false, true) => false,
        _ => panic!("no summary: {stderr}"),
    };
    (resumed, msg_lines(&stderr, "<<<"))
}

fn received_certificate(trace: &[String]) -> bool {
    trace.iter().any(|l| l.ends_with(", Certificate"))
}

#[test]
fn a_session_written_by_one_process_resumes_in_another_against_openssl_and_gnutls() {
    for (peer, answer) in [("openssl", "gnip"), ("gnutls", "ping")] {
        for flag in ["-tls1_3", "-tls1_2"] {
            let start = || match peer {
                "openssl" => openssl_server("server-ecdsa", &[]),
                _ => gnutls_server("server-ecdsa", &[]),
            };
            let server = start();
            let file = pki().join(format!("session-{peer}{flag}.pem"));
            let _ = std::fs::remove_file(&file);
            let path = file.to_str().unwrap();
            let (resumed, full) = tlswire_client(server.port, &[flag, "-sess_out", path], answer);
            assert!(!resumed, "{peer} {flag}");
            assert!(received_certificate(&full), "{peer} {flag}: a full handshake: {full:?}");
            let pem = std::fs::read_to_string(&file).unwrap();
            assert!(pem.starts_with("-----BEGIN TLSWIRE SESSION-----"), "{pem}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{peer} {flag}: the session file is its owner's only");
            }

            // Another process offers it: the server resumes, without its certificate.
            let (resumed, trace) = tlswire_client(server.port, &[flag, "-sess_in", path, "-sess_out", path], answer);
            assert!(resumed, "{peer} {flag}: {trace:?}");
            assert!(!received_certificate(&trace), "{peer} {flag}: {trace:?}");
            // And the newest session (written by that resumption) resumes again.
            assert!(
                tlswire_client(server.port, &[flag, "-sess_in", path], answer).0,
                "{peer} {flag}: the newest session"
            );

            // A server that did not issue it (another process, another ticket key): full handshake.
            drop(server);
            let other = start();
            let (resumed, trace) = tlswire_client(other.port, &[flag, "-sess_in", path], answer);
            assert!(!resumed && received_certificate(&trace), "{peer} {flag}: foreign session: {trace:?}");
        }
    }
}

#[test]
fn tlswire_s_server_tickets_resume_for_openssl_s_client_unless_turned_off() {
    for flag in ["-tls1_3", "-tls1_2"] {
        for (server_flags, reused) in
            [(&[][..], true), (&["-no_ticket"][..], true), (&["-no_ticket", "-no_cache"][..], false)]
        {
            let port = free_port();
            let mut args = strings(&["s_server", "-accept", &format!("127.0.0.1:{port}")]);
            args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key"), "-quiet"]));
            args.extend(strings(server_flags));
            let _server = Peer::start(tlswire_bin().to_str().unwrap(), &args, port);
            let session_file = pki().join(format!("openssl-session-{port}.pem"));
            let session = session_file.to_str().unwrap();
            let client = |extra: &[&str]| {
                let mut a =
                    strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem"), flag]);
                a.extend(strings(extra));
                let (stdout, stderr) = run_client(std::path::Path::new("openssl"), &a, b"echo\n", "echo");
                assert!(stdout.contains("echo"), "{stdout} {stderr}");
                stdout
            };
            let first = client(&["-sess_out", session]);
            assert!(first.contains("New, TLSv1."), "{first}");
            if !session_file.exists() {
                // No session to keep at all: without tickets or a cache, TLS 1.3 sends no
                // NewSessionTicket and TLS 1.2 an empty session ID.
                assert!(!reused, "{flag} {server_flags:?}: no session written");
                continue;
            }
            let second = client(&["-sess_in", session]);
            let wanted = if reused { "Reused, TLSv1." } else { "New, TLSv1." };
            assert!(second.contains(wanted), "{flag} {server_flags:?}: {second}");
        }
    }
}

/// `-early_data`: tlswire s_client resumes a session (written by another process) with 0-RTT
/// data, which openssl s_server -early_data reads as early data; a server that refuses it gets
/// it again right after the handshake.
#[test]
fn tlswire_s_client_sends_early_data_that_openssl_s_server_accepts() {
    let early = pki().join("client-early.txt");
    std::fs::write(&early, "early bird\n").unwrap();
    let port = free_port();
    let out = pki().join(format!("early-openssl-{port}.txt"));
    let mut args = strings(&["s_server", "-accept", &format!("127.0.0.1:{port}")]);
    args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key"), "-early_data"]));
    let _server = Peer::start_with_stdout("openssl", &args, port, std::fs::File::create(&out).unwrap());
    let session = pki().join(format!("early-session-{port}.pem"));
    let base = strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem")]);
    let mut first = base.clone();
    first.extend(strings(&["-sess_out", session.to_str().unwrap()]));
    // openssl s_server (plain mode) does not answer: wait for the ticket, then end.
    let (_, stderr) = run_client(&tlswire_bin(), &first, b"", "Resumed: no");
    assert!(session.exists(), "{stderr}");
    let mut second = base.clone();
    second.extend(strings(&["-sess_in", session.to_str().unwrap(), "-early_data", early.to_str().unwrap()]));
    let (_, stderr) = run_client(&tlswire_bin(), &second, b"", "Early data was");
    assert!(stderr.contains("Early data was accepted") && stderr.contains("Resumed: yes"), "{stderr}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let server_out = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.contains("early bird") && text.contains("Early data received") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(server_out.contains("Early data received") && server_out.contains("early bird"), "{server_out}");

    // tlswire s_server without -early_data refuses it: sent again after the handshake, echoed.
    let port = free_port();
    let mut args = strings(&["s_server", "-accept", &format!("127.0.0.1:{port}")]);
    args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key"), "-no_ticket"]));
    let _ours = Peer::start(tlswire_bin().to_str().unwrap(), &args, port);
    let base = strings(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &file("ca.pem")]);
    let mut first = base.clone();
    first.extend(strings(&["-sess_out", session.to_str().unwrap()]));
    run_client(&tlswire_bin(), &first, b"x\n", "x\n");
    let mut second = base.clone();
    second.extend(strings(&["-sess_in", session.to_str().unwrap(), "-early_data", early.to_str().unwrap()]));
    let (stdout, stderr) = run_client(&tlswire_bin(), &second, b"", "early bird");
    assert!(stdout.contains("early bird"), "{stdout} {stderr}");
    assert!(stderr.contains("Early data was not sent") || stderr.contains("Early data was rejected"), "{stderr}");
}
