//! Exports one function that exercises every part of the core (client and server contexts,
//! handshake, write, read, observer, formatter, info), so the linker keeps all of it: the
//! module's size is the size of tlswire's core with its provider.

use tlswire::{format_message, ClientConfig, Connection, ServerConfig, Status};

/// Runs a client/server handshake and one round trip in memory; returns bytes echoed.
///
/// # Safety
/// Each (pointer, length) pair must be valid for reads in this module's memory.
#[no_mangle]
pub unsafe extern "C" fn tlswire_probe(
    ca: *const u8,
    ca_len: usize,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
) -> usize {
    // SAFETY: the host passes valid (pointer, length) pairs into this module's memory.
    let (ca, cert, key) = unsafe {
        (
            std::slice::from_raw_parts(ca, ca_len),
            std::slice::from_raw_parts(cert, cert_len),
            std::slice::from_raw_parts(key, key_len),
        )
    };
    let mut c = ClientConfig::new();
    if c.add_ca(ca).is_err() {
        return 0;
    }
    c.alpn(&["h2"]);
    let (Ok(client_ctx), Ok(server)) = (c.build(), ServerConfig::new(cert, key)) else {
        return 0;
    };
    let Ok(server_ctx) = server.build() else {
        return 0;
    };
    let (Ok(mut client), Ok(mut server)) =
        (Connection::client(&client_ctx, "localhost"), Connection::server(&server_ctx))
    else {
        return 0;
    };
    let _ = client.set_msg_callback(Box::new(|m| {
        std::hint::black_box(format_message(m));
    }));
    for _ in 0..16 {
        let _ = client.do_handshake();
        let _ = server.do_handshake();
        let (a, b) = (client.take_output(), server.take_output());
        let _ = server.feed(&a);
        let _ = client.feed(&b);
    }
    let _ = client.write(b"probe");
    let _ = server.feed(&client.take_output());
    let mut buf = [0u8; 16];
    match server.read(&mut buf) {
        Ok(Status::Done(n)) => n + client.info().map_or(0, |i| i.peer_certificates.len()),
        _ => 0,
    }
}
