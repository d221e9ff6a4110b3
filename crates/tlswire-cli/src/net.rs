//! Blocking-socket drivers shared by s_client and s_server.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use tlswire::{format_message, Callback, Connection, Error, Info, Status};

/// A failure worth reporting: TLS (typed) or the network.
pub enum Failure {
    Tls(Error),
    Io(io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Tls(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tls(e) => write!(f, "{e} [{}]", e.code()),
            Self::Io(e) => write!(f, "network error: {e}"),
        }
    }
}

/// The `-msg` callback: OpenSSL's format, to stderr or to the `-msgfile`.
pub fn msg_callback(msgfile: Option<&str>) -> io::Result<Callback> {
    let sink: Box<dyn Write + Send> = match msgfile {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stderr()),
    };
    let sink = Arc::new(Mutex::new(sink));
    Ok(Box::new(move |m| {
        if let Ok(mut out) = sink.lock() {
            let _ = out.write_all(format_message(m).as_bytes());
            let _ = out.flush();
        }
    }))
}

/// Sends all pending output.
pub fn flush(conn: &mut Connection, sock: &mut TcpStream) -> io::Result<()> {
    if !conn.output().is_empty() {
        sock.write_all(conn.output())?;
        let n = conn.output().len();
        conn.consume_output(n);
    }
    Ok(())
}

/// Reads once from the socket into the connection (EOF included).
pub fn fill(conn: &mut Connection, sock: &mut TcpStream) -> Result<(), Failure> {
    let mut buf = [0u8; 16384];
    let n = sock.read(&mut buf)?;
    if n == 0 {
        conn.feed_eof();
    } else {
        conn.feed(&buf[..n])?;
    }
    Ok(())
}

/// `SSL_do_handshake` loop over a blocking socket. On failure the alert is still sent.
pub fn handshake(conn: &mut Connection, sock: &mut TcpStream) -> Result<(), Failure> {
    loop {
        match conn.do_handshake() {
            Ok(Status::Done(())) => return Ok(()),
            Ok(Status::WantWrite) => flush(conn, sock)?,
            Ok(Status::WantRead) => fill(conn, sock)?,
            Err(e) => {
                let _ = flush(conn, sock);
                return Err(e.into());
            }
        }
    }
}

/// `SSL_write` of all of `data`, flushing as needed.
pub fn write_all(conn: &mut Connection, sock: &mut TcpStream, data: &[u8]) -> Result<(), Failure> {
    loop {
        match conn.write(data)? {
            Status::Done(_) => return Ok(flush(conn, sock)?),
            Status::WantWrite => flush(conn, sock)?,
            Status::WantRead => fill(conn, sock)?,
        }
    }
}

/// The connection summary, on stderr.
pub fn print_summary(info: &Info, verification: &str) {
    let version = match info.version {
        tlswire::Version::Tls13 => "TLSv1.3",
        tlswire::Version::Tls12 => "TLSv1.2",
    };
    let alpn = match &info.alpn {
        Some(p) => format!("ALPN protocol: {}", String::from_utf8_lossy(p)),
        None => "No ALPN negotiated".to_string(),
    };
    eprintln!("---");
    eprintln!("Protocol: {version}");
    eprintln!("Cipher: {}", info.cipher_suite);
    eprintln!("Group: {}", info.group.as_deref().unwrap_or("none"));
    eprintln!("{alpn}");
    eprintln!("Peer certificates: {}", info.peer_certificates.len());
    if let Some(subject) = info.peer_subject() {
        eprintln!("Peer subject: {subject}");
    }
    eprintln!("HelloRetryRequest: {}", if info.hello_retry_request { "yes" } else { "no" });
    eprintln!("Resumed: {}", if info.resumed { "yes" } else { "no" });
    eprintln!("Verification: {verification}");
    eprintln!("---");
}
