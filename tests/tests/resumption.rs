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
