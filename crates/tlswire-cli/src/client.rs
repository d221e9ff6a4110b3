//! `tlswire s_client`.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use tlswire::{Connection, Error, ProtocolError, Status};

use crate::args::ClientArgs;
use crate::net::{self, Failure};

enum Event {
    Stdin(Vec<u8>),
    StdinEof,
    Net(Vec<u8>),
    NetEof,
    NetError(io::Error),
}

pub fn run(args: ClientArgs) -> ExitCode {
    match session(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tlswire s_client: {e}");
            if let Failure::Tls(Error::Protocol {
                error: ProtocolError::EchRejected { retry_configs: Some(list) },
                ..
            }) = &e
            {
                use base64ct::{Base64, Encoding};
                eprintln!("ECH retry config list: {}", Base64::encode_string(list));
            }
            ExitCode::from(1)
        }
    }
}

fn session(args: &ClientArgs) -> Result<(), Failure> {
    let host = args
        .connect
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
        .unwrap_or(&args.connect)
        .to_string();
    let mut config = args.common.client_config().map_err(setup)?;
    config.early_data(args.early_data.is_some());
    if let Some(b64) = &args.ech_config_list {
        use base64ct::{Base64, Encoding};
        let list = Base64::decode_vec(b64.trim()).map_err(|e| setup(format!("-ech_config_list: not base64: {e}")))?;
        config.ech_config_list(&list).map_err(|e| setup(e.to_string()))?;
    }
    config.ech_grease(args.ech_grease);
    if args.insecure {
        eprintln!("WARNING: -insecure: the server certificate is NOT verified");
        config.dangerously_disable_verification();
    }
    let ctx = config.build().map_err(|e| setup(e.to_string()))?;
    let name = args.servername.clone().unwrap_or(host);
    let mut conn = match &args.sess_in {
        Some(path) => Connection::client_resuming(&ctx, &name, &net::read_session(path).map_err(setup)?)?,
        None => Connection::client(&ctx, &name)?,
    };
    if args.sess_out.is_some() {
        conn.record_sessions();
    }
    if let Some(cmd) = &args.verify_cmd {
        conn.set_verify_hook(net::verify_command(cmd.clone()))?;
    }
    if args.common.msg {
        conn.set_msg_callback(net::msg_callback(args.common.msgfile.as_deref())?)?;
    }
    if let Some(path) = &args.common.keylogfile {
        conn.set_key_log(net::key_log(path)?)?;
    }

    let addr =
        args.connect.to_socket_addrs()?.next().ok_or_else(|| setup(format!("cannot resolve {}", args.connect)))?;
    let mut sock = TcpStream::connect(addr)?;
    sock.set_nodelay(true)?;
    if !args.common.quiet {
        eprintln!("CONNECTED({addr})");
    }
    // -early_data: as much as the session allows goes with the ClientHello, the rest after.
    let early = match &args.early_data {
        Some(path) => crate::args::read_file(path).map_err(setup)?,
        None => Vec::new(),
    };
    let sent_early = conn.write_early_data(&early)?;
    net::handshake(&mut conn, &mut sock)?;
    if args.early_data.is_some() {
        match conn.info() {
            Some(info) if info.early_data > 0 => eprintln!("Early data was accepted"),
            Some(info) if info.early_data_rejected > 0 => eprintln!("Early data was rejected"),
            _ => eprintln!("Early data was not sent"),
        }
    }
    if sent_early < early.len() {
        net::write_all(&mut conn, &mut sock, &early[sent_early..])?;
    }
    save_sessions(&mut conn, args)?;
    if args.status {
        net::print_ocsp(conn.info().and_then(|i| i.ocsp_response).as_deref());
    }
    if !args.common.quiet {
        if let Some(info) = conn.info() {
            net::print_summary(&info, if args.insecure { "DISABLED (-insecure)" } else { "OK" });
        }
    }
    net::print_keying_material(&conn, &args.common);

    let (tx, rx) = mpsc::channel();
    spawn_stdin(tx.clone());
    spawn_socket(sock.try_clone()?, tx);
    let mut stdout = io::stdout();
    // Data may have arrived with the last handshake flight.
    if drain(&mut conn, &mut sock, &mut stdout)? {
        return Ok(());
    }
    for event in rx {
        match event {
            Event::Net(bytes) => conn.feed(&bytes)?,
            Event::NetEof => conn.feed_eof(),
            Event::NetError(e) => return Err(e.into()),
            Event::Stdin(bytes) => net::write_all(&mut conn, &mut sock, &bytes)?,
            Event::StdinEof if args.ign_eof => continue,
            Event::StdinEof => {
                conn.close()?;
                net::flush(&mut conn, &mut sock)?;
                return Ok(());
            }
        }
        let closed = drain(&mut conn, &mut sock, &mut stdout)?;
        save_sessions(&mut conn, args)?;
        if closed {
            return Ok(());
        }
    }
    Ok(())
}

/// `-sess_out`: the newest session the server gave, written over the file.
fn save_sessions(conn: &mut Connection, args: &ClientArgs) -> Result<(), Failure> {
    if let (Some(path), Some(session)) = (&args.sess_out, conn.take_sessions().pop()) {
        net::write_session(path, &session)?;
    }
    Ok(())
}

/// Reads all available plaintext to stdout. True once the server has closed cleanly.
fn drain(conn: &mut Connection, sock: &mut TcpStream, out: &mut impl Write) -> Result<bool, Failure> {
    let mut buf = [0u8; 16384];
    loop {
        let status = conn.read(&mut buf);
        net::flush(conn, sock)?;
        match status? {
            Status::Done(0) => {
                // The server closed cleanly: answer with our close_notify.
                conn.close()?;
                net::flush(conn, sock)?;
                return Ok(true);
            }
            Status::Done(n) => {
                out.write_all(&buf[..n])?;
                out.flush()?;
            }
            Status::WantRead | Status::WantWrite => return Ok(false),
        }
    }
}

fn spawn_stdin(tx: mpsc::Sender<Event>) {
    thread::spawn(move || {
        let mut stdin = io::stdin();
        let mut buf = [0u8; 16384];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Event::StdinEof);
                    return;
                }
                Ok(n) => {
                    if tx.send(Event::Stdin(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

fn spawn_socket(mut sock: TcpStream, tx: mpsc::Sender<Event>) {
    thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            let event = match sock.read(&mut buf) {
                Ok(0) => Event::NetEof,
                Ok(n) => Event::Net(buf[..n].to_vec()),
                Err(e) => Event::NetError(e),
            };
            let last = !matches!(event, Event::Net(_));
            if tx.send(event).is_err() || last {
                return;
            }
        }
    });
}

fn setup(msg: impl Into<String>) -> Failure {
    Failure::Io(io::Error::other(msg.into()))
}
