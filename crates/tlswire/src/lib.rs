//! tlswire: a sans-IO TLS 1.3 / 1.2 client and server on rustls, shaped like OpenSSL.
//!
//! ```text
//!   transport bytes in ──► Connection::feed ──► rustls (unbuffered) ──► Connection::read
//!   transport bytes out ◄── Connection::output ◄──────┘  ▲              Connection::write
//!                                                       │
//!                     tlswire-crypto (RustCrypto) ──────┘──► tap ──► message observer
//! ```
//!
//! A [`Connection`] owns no socket, clock, RNG or task: the caller feeds received bytes, drains
//! bytes to send, and calls `do_handshake` / `write` / `read` / `close`, which answer
//! [`Status::WantRead`] / [`Status::WantWrite`] like `SSL_get_error`. Configuration is built once
//! ([`ClientConfig`] / [`ServerConfig`], the `SSL_CTX`) and shared by connections.
//!
//! The message observer ([`Connection::set_msg_callback`]) is `SSL_CTX_set_msg_callback`: every
//! handshake message, alert and change_cipher_spec, plus record headers (256) and TLS 1.3 inner
//! content types (257), in OpenSSL 3's order and labels; [`format_message`] prints them as
//! `openssl s_client -msg` does.
//!
//! ```no_run
//! use tlswire::{ClientConfig, Connection, Status};
//!
//! fn handshake(ca_pem: &[u8], net: &mut impl FnMut(&[u8]) -> Vec<u8>) -> Result<(), tlswire::Error> {
//!     let mut config = ClientConfig::new();
//!     config.add_ca(ca_pem)?.alpn(&["h2"]);
//!     let ctx = config.build()?; // the SSL_CTX: build once, share
//!     let mut conn = Connection::client(&ctx, "db.example")?;
//!     loop {
//!         match conn.do_handshake()? {
//!             Status::Done(()) => return Ok(()),
//!             // Send what the connection produced; feed back what the peer answered.
//!             Status::WantWrite | Status::WantRead => {
//!                 let reply = net(&conn.take_output());
//!                 conn.feed(&reply)?;
//!             }
//!         }
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
// Tests index and unwrap freely; the library denies it (Cargo.toml's `[lints.clippy]`).
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod anchors;
mod config;
mod connection;
mod credential;
mod error;
mod exporter;
pub use exporter::MAX_EXPORT;
mod hello;
mod keylog;
mod observer;
mod session;
mod verify;

pub use config::{
    certificates_from, crls_from, group_by_name, private_key_from, suite_by_name, ClientAuth, ClientConfig,
    ClientContext, EchStatus, ServerConfig, ServerContext, Version, DEFAULT_SESSION_CACHE, MAX_SESSION_CACHE,
    MAX_TICKETS,
};
pub use connection::{
    Connection, Info, KeyLogCallback, Status, VerifyHook, DEFAULT_OUTPUT_LIMIT, MAX_RECORD_PLAINTEXT,
    OFFLOAD_MIN_RECORD,
};
pub use error::{codes, AlertDescription, CertificateError, ConfigError, Error, Misuse, ProtocolError, TransportError};
pub use observer::{
    alert_name, format_message, handshake_name, version_name, Callback, Direction, Message, OwnedMessage, ALERT,
    APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, INNER_CONTENT_TYPE, RECORD_HEADER,
};
pub use rustls::time_provider::TimeProvider;
pub use verify::{certificate_subject, spki_sha256};

#[cfg(test)]
mod tests;
