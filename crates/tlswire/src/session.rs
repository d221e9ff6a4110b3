//! Client sessions that outlive the process: each session a server gives (a TLS 1.3 ticket, a
//! TLS 1.2 session) can be taken as bytes ([`crate::Connection::take_sessions`]), kept anywhere
//! (a file, KV, IndexedDB) and offered by a later connection in another process or isolate
//! ([`crate::Connection::client_resuming`]).
//!
//! rustls keeps client sessions in a `ClientSessionStore` as opaque values; the vendored rustls
//! (`vendor/patches/02-client-session-codec.patch`) adds their encoding. Every client configuration gets [`SessionStore`]:
//! rustls's in-memory cache (unless turned off), plus, while a connection has a capture open on
//! this thread ([`open`]), the sessions rustls stores are recorded for that connection, and a
//! session it offers is the only one rustls sees. rustls calls the store synchronously from
//! inside the connection's calls, as it does its key log.
//!
//! The bytes are tlswire's envelope around rustls's encoding:
//!
//! ```text
//! "TWS" 0x01 | kind u8 (0x13, 0x12) | name u16-length | policy [32] | group u8-length | rustls value
//! ```
//!
//! `policy` is a SHA-256 of the configuration's verification settings (trusted CAs, pins, CRLs,
//! client certificate, whether verification is on): a session resumes only under the settings
//! that verified its server, as rustls itself requires in one process. A session for another name,
//! another policy, a suite the configuration lacks, or one expired is not offered: the connection
//! makes a full handshake. The bytes hold the session's secret: anyone with them can resume it.

use std::cell::RefCell;
use std::fmt;

use pki_types::ServerName;
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::NamedGroup;

use crate::error::ConfigError;

const MAGIC: &[u8; 4] = b"TWS\x01";
const TLS13: u8 = 0x13;
const TLS12: u8 = 0x12;

/// At most this many sessions wait in a connection for [`crate::Connection::take_sessions`]; older
/// ones are dropped (a server may send any number of tickets).
pub(crate) const MAX_QUEUED: usize = 8;

/// A session rustls stored during a capture: its version and rustls's encoding.
pub(crate) struct Stored {
    pub tls13: bool,
    pub value: Vec<u8>,
}

/// A session a connection offers.
#[cfg_attr(not(client_session_codec), allow(dead_code))]
pub(crate) enum Offer {
    Tls13(ServerName<'static>, Tls13ClientSessionValue),
    Tls12(ServerName<'static>, Tls12ClientSessionValue),
}

struct Open {
    /// `Some`: this connection offers this session (or none, once taken) and nothing else.
    offer: Option<Option<Offer>>,
    /// Record the sessions rustls stores.
    record: bool,
    stored: Vec<Stored>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// An open capture; closing it (dropping) restores the one it was nested in.
#[must_use = "the capture closes when dropped"]
pub(crate) struct Capture {
    outer: Option<Open>,
}

/// Opens a capture on this thread: recording stored sessions if `record`; offering only `offer`
/// if it is `Some`.
pub(crate) fn open(record: bool, offer: Option<Option<Offer>>) -> Capture {
    Capture { outer: CAPTURE.with(|c| c.borrow_mut().replace(Open { offer, record, stored: Vec::new() })) }
}

impl Capture {
    /// The sessions stored since the capture opened or this was last called.
    pub(crate) fn take(&mut self) -> Vec<Stored> {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(|o| std::mem::take(&mut o.stored)).unwrap_or_default())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let outer = self.outer.take();
        CAPTURE.with(|c| *c.borrow_mut() = outer);
    }
}

fn record(tls13: bool, encode: impl FnOnce(&mut Vec<u8>) -> bool) {
    CAPTURE.with(|c| {
        if let Some(open) = c.borrow_mut().as_mut().filter(|o| o.record) {
            let mut value = Vec::new();
            if encode(&mut value) {
                open.stored.push(Stored { tls13, value });
            }
        }
    });
}

/// rustls's encoding of client sessions: in tlswire's vendored rustls (`vendor/patches`),
/// not in a rustls 0.23 release. `build.rs` sets `client_session_codec` when rustls has it.
#[cfg(client_session_codec)]
mod codec {
    use super::*;

    pub(super) fn encode13(value: &Tls13ClientSessionValue, out: &mut Vec<u8>) -> bool {
        value.encode(out);
        true
    }

    pub(super) fn encode12(value: &Tls12ClientSessionValue, out: &mut Vec<u8>) -> bool {
        value.encode(out);
        true
    }

    pub(crate) fn decode(
        tls13: bool,
        value: &[u8],
        name: &ServerName<'static>,
        config: &rustls::ClientConfig,
    ) -> Result<Option<Offer>, ConfigError> {
        Ok(if tls13 {
            Tls13ClientSessionValue::from_slice(value, config).ok().map(|v| Offer::Tls13(name.clone(), v))
        } else {
            Tls12ClientSessionValue::from_slice(value, config).ok().map(|v| Offer::Tls12(name.clone(), v))
        })
    }
}

/// Without rustls's encoding (a build against a rustls release): no session leaves, and
/// offering one is a configuration error.
#[cfg(not(client_session_codec))]
mod codec {
    use super::*;

    pub(super) fn encode13(_: &Tls13ClientSessionValue, _: &mut Vec<u8>) -> bool {
        false
    }

    pub(super) fn encode12(_: &Tls12ClientSessionValue, _: &mut Vec<u8>) -> bool {
        false
    }

    pub(crate) fn decode(
        _: bool,
        _: &[u8],
        _: &ServerName<'static>,
        _: &rustls::ClientConfig,
    ) -> Result<Option<Offer>, ConfigError> {
        Err(ConfigError::Rejected(
            "this build's rustls cannot decode sessions (tlswire's vendored rustls can: vendor/rustls)".into(),
        ))
    }
}

pub(crate) use codec::decode;

/// `Some(answer)` while the connection on this thread offers a session of its own.
fn offered<T>(take: impl FnOnce(&mut Option<Offer>) -> Option<T>) -> Option<Option<T>> {
    CAPTURE.with(|c| c.borrow_mut().as_mut().and_then(|o| o.offer.as_mut()).map(take))
}

/// The store every client configuration installs (see the module documentation).
pub(crate) struct SessionStore {
    /// rustls's in-memory cache; `None` when the configuration turned it off.
    pub memory: Option<ClientSessionMemoryCache>,
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore").field("memory", &self.memory.is_some()).finish()
    }
}

impl ClientSessionStore for SessionStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        if let Some(m) = &self.memory {
            m.set_kx_hint(server_name, group);
        }
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.memory.as_ref()?.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        record(false, |out| codec::encode12(&value, out));
        if let Some(m) = &self.memory {
            m.set_tls12_session(server_name, value);
        }
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        if let Some(answer) = offered(|offer| match offer {
            Some(Offer::Tls12(name, value)) if name.to_str() == server_name.to_str() => Some(value.clone()),
            _ => None,
        }) {
            return answer;
        }
        self.memory.as_ref()?.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        if let Some(m) = &self.memory {
            m.remove_tls12_session(server_name);
        }
    }

    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: Tls13ClientSessionValue) {
        record(true, |out| codec::encode13(&value, out));
        if let Some(m) = &self.memory {
            m.insert_tls13_ticket(server_name, value);
        }
    }

    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        if let Some(answer) = offered(|offer| match offer.take() {
            Some(Offer::Tls13(name, value)) if name == *server_name => Some(value),
            other => {
                *offer = other;
                None
            }
        }) {
            return answer;
        }
        self.memory.as_ref()?.take_tls13_ticket(server_name)
    }
}

/// tlswire's envelope around a stored session.
pub(crate) fn envelope(stored: &Stored, server_name: &str, policy: &[u8; 32], group: Option<&str>) -> Vec<u8> {
    // Cut to what the length fields can say (no real server name or group is that long).
    let name = server_name.as_bytes();
    let name = name.get(..usize::from(u16::MAX)).unwrap_or(name);
    let group = group.unwrap_or("").as_bytes();
    let group = group.get(..255).unwrap_or(group);
    let mut out = Vec::with_capacity(4 + 1 + 2 + name.len() + 32 + 1 + group.len() + stored.value.len());
    out.extend_from_slice(MAGIC);
    out.push(if stored.tls13 { TLS13 } else { TLS12 });
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(policy);
    out.push(group.len() as u8);
    out.extend_from_slice(group);
    out.extend_from_slice(&stored.value);
    out
}

/// An envelope's parts.
pub(crate) struct Opened<'a> {
    pub tls13: bool,
    pub server_name: &'a str,
    pub policy: &'a [u8],
    pub group: &'a str,
    pub value: &'a [u8],
}

/// Reads an envelope; anything that is not one is [`ConfigError::BadSession`].
pub(crate) fn open_envelope(bytes: &[u8]) -> Result<Opened<'_>, ConfigError> {
    let bad = |why: &str| ConfigError::BadSession(why.to_string());
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("not a tlswire session"))?;
    let (&kind, rest) = rest.split_first().ok_or_else(|| bad("truncated"))?;
    let tls13 = match kind {
        TLS13 => true,
        TLS12 => false,
        _ => return Err(bad("unknown session kind")),
    };
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(|| bad("truncated"))?;
    let (name, rest) = rest.split_at_checked(u16::from_be_bytes(*len) as usize).ok_or_else(|| bad("truncated"))?;
    let (policy, rest) = rest.split_at_checked(32).ok_or_else(|| bad("truncated"))?;
    let (&len, rest) = rest.split_first().ok_or_else(|| bad("truncated"))?;
    let (group, value) = rest.split_at_checked(len as usize).ok_or_else(|| bad("truncated"))?;
    if value.is_empty() {
        return Err(bad("truncated"));
    }
    Ok(Opened {
        tls13,
        server_name: std::str::from_utf8(name).map_err(|_| bad("server name is not UTF-8"))?,
        policy,
        group: std::str::from_utf8(group).map_err(|_| bad("group is not UTF-8"))?,
        value,
    })
}
