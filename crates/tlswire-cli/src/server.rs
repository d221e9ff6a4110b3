//! `tlswire s_server`: serves each connection on its own thread and echoes its data back.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

use tlswire::{ClientAuth, Connection, ServerContext, Status};

use crate::args::ServerArgs;
use crate::net::{self, Failure};

pub fn run(args: ServerArgs) -> ExitCode {
    let config = args.common.server_config(args.client_auth).and_then(|mut c| {
        if let Some(path) = &args.status_file {
            c.ocsp_response(&crate::args::read_file(path)?).map_err(|e| format!("{path}: {e}"))?;
        }
        for (cert, key) in &args.dcerts {
            let (chain, key_bytes) = (crate::args::read_file(cert)?, crate::args::read_file(key)?);
            c.add_certificate(&chain, &key_bytes, None).map_err(|e| format!("{cert}: {e}"))?;
        }
        c.stateless_tickets(!args.no_ticket);
        if args.early_data {
            c.max_early_data(16384);
        }
        if args.no_cache {
            c.session_cache(0);
        }
        if let Some(n) = args.num_tickets {
            c.tickets(n);
        }
        Ok(c)
    });
    let ctx = match config.and_then(|c| c.build().map_err(|e| e.to_string())) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("tlswire s_server: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match TcpListener::bind(&args.accept) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tlswire s_server: cannot listen on {}: {e}", args.accept);
            return ExitCode::from(1);
        }
    };
    // Like OpenSSL: "ACCEPT" on stdout once listening, so scripts can wait for it.
    println!("ACCEPT");
    let _ = io::stdout().flush();
    // One thread per connection: a client that connects and says nothing holds up no one else.
    // With -naccept N, the server stops accepting after N and exits when they are all done.
    std::thread::scope(|threads| {
        let mut served = 0;
        for stream in listener.incoming() {
            let Ok(mut sock) = stream else { continue };
            let (args, ctx) = (&args, &ctx);
            threads.spawn(move || {
                if let Err(e) = serve(args, ctx, &mut sock) {
                    eprintln!("tlswire s_server: connection failed: {e}");
                }
                net::linger_close(&mut sock);
            });
            served += 1;
            if args.naccept.is_some_and(|n| served >= n) {
                break;
            }
        }
    });
    ExitCode::SUCCESS
}

/// How long a client may take over its part of the handshake before the server gives up on it.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn serve(args: &ServerArgs, ctx: &ServerContext, sock: &mut TcpStream) -> Result<(), Failure> {
    sock.set_nodelay(true)?;
    let mut conn = Connection::server(ctx)?;
    if args.common.msg {
        conn.set_msg_callback(net::msg_callback(args.common.msgfile.as_deref())?)?;
    }
    if let Some(path) = &args.common.keylogfile {
        conn.set_key_log(net::key_log(path)?)?;
    }
    sock.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    net::handshake(&mut conn, sock)?;
    sock.set_read_timeout(None)?;
    if !args.common.quiet {
        if let Some(info) = conn.info() {
            let verification =
                if args.client_auth == ClientAuth::None { "no client certificate requested" } else { "OK" };
            net::print_summary(&info, verification);
        }
    }
    net::print_keying_material(&conn, &args.common);
    let mut buf = vec![0u8; 16384];
    loop {
        let status = conn.read(&mut buf);
        net::flush(&mut conn, sock)?;
        match status? {
            Status::Done(0) => {
                conn.close()?;
                net::flush(&mut conn, sock)?;
                return Ok(());
            }
            Status::Done(n) => {
                let data = buf[..n].to_vec();
                net::write_all(&mut conn, sock, &data)?;
            }
            Status::WantRead => net::fill(&mut conn, sock)?,
            Status::WantWrite => {}
        }
    }
}
