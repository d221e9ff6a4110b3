//! Sessions as bytes need a rustls whose client sessions encode: tlswire's vendored rustls
//! (`vendor/rustls.patch`) says so through its `links` metadata. Built against a rustls without it
//! (a crates.io build of this crate), `take_sessions` gives nothing and `client_resuming` is a
//! configuration error.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(client_session_codec)");
    println!("cargo:rerun-if-env-changed=DEP_RUSTLS_CLIENT_SESSIONS_CODEC");
    if std::env::var_os("DEP_RUSTLS_CLIENT_SESSIONS_CODEC").is_some() {
        println!("cargo:rustc-cfg=client_session_codec");
    }
}
