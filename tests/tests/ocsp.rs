//! OCSP stapling with real OCSP responses (the test CA's responder, `openssl ocsp`): tlswire
//! s_server staples one and `openssl s_client -status` reads it as successful; `openssl s_server
//! -status_file` staples one and tlswire s_client gets exactly those bytes.

use tlswire_interop::*;

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    out.stdout.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn tlswire_s_server_staples_and_openssl_s_client_reads_it() {
    for flag in ["-tls1_3", "-tls1_2"] {
        let port = free_port();
        let mut args = strings(&["s_server", "-accept", &format!("127.0.0.1:{port}"), "-quiet"]);
        args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key")]));
        args.extend(strings(&["-status_file", &file("server-ecdsa.ocsp")]));
        let _server = Peer::start(tlswire_bin().to_str().unwrap(), &args, port);
        let client = strings(&[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-CAfile",
            &file("ca.pem"),
            "-status",
            flag,
        ]);
        let (stdout, stderr) = run_client(std::path::Path::new("openssl"), &client, b"echo\n", "echo");
        assert!(stdout.contains("OCSP Response Status: successful"), "{flag}: {stdout} {stderr}");
        assert!(stdout.contains("Cert Status: good"), "{flag}: {stdout}");
    }
}

#[test]
fn tlswire_s_client_gets_what_openssl_s_server_staples() {
    let response = std::fs::read(file("server-ecdsa.ocsp")).unwrap();
    let expected = format!("OCSP response: {} bytes, SHA-256 {}", response.len(), sha256_hex(&response));
    for flag in ["-tls1_3", "-tls1_2"] {
        let server = openssl_server("server-ecdsa", &[flag, "-status_file", &file("server-ecdsa.ocsp")]);
        let args = strings(&[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-CAfile",
            &file("ca.pem"),
            "-status",
        ]);
        let (_, stderr) = run_client(&tlswire_bin(), &args, b"ping\n", "gnip");
        assert!(stderr.contains(&expected), "{flag}: {stderr}");
        drop(server);
        // Without a staple: said so.
        let server = openssl_server("server-ecdsa", &[flag]);
        let args = strings(&[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-CAfile",
            &file("ca.pem"),
            "-status",
        ]);
        let (_, stderr) = run_client(&tlswire_bin(), &args, b"ping\n", "gnip");
        assert!(stderr.contains("OCSP response: no response sent"), "{flag}: {stderr}");
    }
}
