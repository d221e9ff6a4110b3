//! The key log (`SSLKEYLOGFILE`, NSS key log format): each connection's secrets as lines such as
//! `CLIENT_TRAFFIC_SECRET_0 <client random> <secret>` (hex), for Wireshark and friends. Only
//! through the explicit [`crate::Connection::set_key_log`]: nothing logs secrets otherwise.
//!
//! rustls hands secrets to its configuration's `KeyLog`, shared by every connection of a context;
//! it calls it synchronously from inside the connection's calls. So the configuration gets
//! [`ThreadKeyLog`], which records only while a connection that asked for its key log has a
//! capture open on this thread ([`open`]), and the connection hands the lines to its callback.

use std::cell::RefCell;
use std::fmt::Write;

use rustls::KeyLog;

thread_local! {
    static CAPTURE: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// The key log every tlswire configuration installs: silent unless a capture is open.
#[derive(Debug)]
pub(crate) struct ThreadKeyLog;

impl KeyLog for ThreadKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        CAPTURE.with(|c| {
            if let Some(lines) = c.borrow_mut().as_mut() {
                let mut line = String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
                line.push_str(label);
                for part in [client_random, secret] {
                    line.push(' ');
                    for byte in part {
                        let _ = write!(line, "{byte:02x}");
                    }
                }
                lines.push(line);
            }
        });
    }

    fn will_log(&self, _label: &str) -> bool {
        CAPTURE.with(|c| c.borrow().is_some())
    }
}

/// An open capture; closing it (dropping) restores the one it was nested in.
#[must_use = "the capture closes when dropped"]
pub(crate) struct Capture {
    outer: Option<Vec<String>>,
}

/// Opens a capture on this thread.
pub(crate) fn open() -> Capture {
    Capture { outer: CAPTURE.with(|c| c.borrow_mut().replace(Vec::new())) }
}

impl Capture {
    /// The lines recorded since the capture opened or this was last called.
    pub(crate) fn take(&mut self) -> Vec<String> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let outer = self.outer.take();
        CAPTURE.with(|c| *c.borrow_mut() = outer);
    }
}
