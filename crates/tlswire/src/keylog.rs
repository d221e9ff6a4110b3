//! Secrets rustls hands out through its `KeyLog` hook: the key log (`SSLKEYLOGFILE`, NSS key
//! log format) and the secrets keying-material exporters are derived from.
//!
//! Key log lines look like `CLIENT_TRAFFIC_SECRET_0 <client random> <secret>` (hex), for
//! Wireshark and friends. Only through the explicit [`crate::Connection::set_key_log`]: nothing
//! logs secrets otherwise.
//!
//! rustls hands secrets to its configuration's `KeyLog`, shared by every connection of a context;
//! it calls it synchronously from inside the connection's calls. So the configuration gets
//! [`ThreadKeyLog`], which records only while a connection has a capture open on this thread
//! ([`open`]): every secret if the connection asked for its key log, otherwise only the two an
//! exporter needs (TLS 1.3's `EXPORTER_SECRET`, TLS 1.2's master secret, `CLIENT_RANDOM`). The
//! connection keeps those (zeroized when dropped) and formats lines for its callback.

use std::cell::RefCell;
use std::fmt::Write;

use rustls::KeyLog;
use zeroize::Zeroizing;

/// TLS 1.3's exporter master secret (RFC 8446 section 7.5).
pub(crate) const EXPORTER_SECRET: &str = "EXPORTER_SECRET";
/// TLS 1.2's master secret.
pub(crate) const CLIENT_RANDOM: &str = "CLIENT_RANDOM";

/// One secret rustls derived.
pub(crate) struct Secret {
    pub label: &'static str,
    pub client_random: Vec<u8>,
    pub secret: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// The key log line (without newline).
    pub(crate) fn line(&self) -> String {
        let mut line = String::with_capacity(self.label.len() + 2 + 2 * (self.client_random.len() + self.secret.len()));
        line.push_str(self.label);
        for part in [&self.client_random[..], &self.secret[..]] {
            line.push(' ');
            for byte in part {
                let _ = write!(line, "{byte:02x}");
            }
        }
        line
    }
}

struct Open {
    /// Record every secret (a key log was asked for), not only the exporters'.
    all: bool,
    secrets: Vec<Secret>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// rustls's labels, as `'static` strings (rustls passes only these).
const LABELS: [&str; 7] = [
    CLIENT_RANDOM,
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    EXPORTER_SECRET,
];

fn wanted(open: &Open, label: &str) -> bool {
    open.all || label == EXPORTER_SECRET || label == CLIENT_RANDOM
}

/// The key log every tlswire configuration installs: silent unless a capture is open.
#[derive(Debug)]
pub(crate) struct ThreadKeyLog;

impl KeyLog for ThreadKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let Some(label) = LABELS.iter().copied().find(|l| *l == label) else {
            return;
        };
        CAPTURE.with(|c| {
            if let Some(open) = c.borrow_mut().as_mut().filter(|o| wanted(o, label)) {
                open.secrets.push(Secret {
                    label,
                    client_random: client_random.to_vec(),
                    secret: Zeroizing::new(secret.to_vec()),
                });
            }
        });
    }

    fn will_log(&self, label: &str) -> bool {
        CAPTURE.with(|c| c.borrow().as_ref().is_some_and(|o| wanted(o, label)))
    }
}

/// An open capture; closing it (dropping) restores the one it was nested in.
#[must_use = "the capture closes when dropped"]
pub(crate) struct Capture {
    outer: Option<Open>,
}

/// Opens a capture on this thread: of every secret if `all`, else of the exporters' only.
pub(crate) fn open(all: bool) -> Capture {
    Capture { outer: CAPTURE.with(|c| c.borrow_mut().replace(Open { all, secrets: Vec::new() })) }
}

impl Capture {
    /// The secrets recorded since the capture opened or this was last called.
    pub(crate) fn take(&mut self) -> Vec<Secret> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(|o| std::mem::take(&mut o.secrets)).unwrap_or_default())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let outer = self.outer.take();
        CAPTURE.with(|c| *c.borrow_mut() = outer);
    }
}
