//! `tlswire`: s_client and s_server over the tlswire core, with OpenSSL's option names.
//!
//! ```text
//! tlswire s_client -connect host:port [-servername n] [-CAfile f] [-msg] ...
//! tlswire s_server -accept host:port -cert f -key f [-Verify n -CAfile f] [-msg] ...
//! ```
//!
//! Application data goes stdin → peer and peer → stdout; the trace (`-msg`) and the connection
//! summary go to stderr. Exit status: 0 on a clean close, 1 on a TLS or network failure (with
//! the typed reason), 2 on a usage error.

mod args;
mod client;
mod net;
mod server;

use std::process::ExitCode;

const USAGE: &str = "usage: tlswire s_client [options]   (see `tlswire s_client -help`)
       tlswire s_server [options]   (see `tlswire s_server -help`)";

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let command = argv.next();
    let rest: Vec<String> = argv.collect();
    let result = match command.as_deref() {
        Some("s_client") => args::ClientArgs::parse(&rest).map(client::run),
        Some("s_server") => args::ServerArgs::parse(&rest).map(server::run),
        Some("-help" | "--help" | "help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(args::UsageError(format!("unknown command '{other}'\n{USAGE}"))),
    };
    match result {
        Ok(code) => code,
        Err(args::UsageError(msg)) if msg.is_empty() => ExitCode::SUCCESS,
        Err(args::UsageError(msg)) => {
            eprintln!("tlswire: {msg}");
            ExitCode::from(2)
        }
    }
}
