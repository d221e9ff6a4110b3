//! Sessions as bytes need a rustls whose client sessions encode, and a client's early data an
//! unbuffered client that can send it: tlswire's vendored rustls (`vendor/patches`) says so
//! through its `links` metadata. Built against a rustls without them (a crates.io build of this
//! crate), `take_sessions` gives nothing, `client_resuming` is a configuration error and
//! `write_early_data` sends nothing, and RFC 8449's record_size_limit is not negotiated.

fn main() {
    // (cfg, the vendored rustls's metadata key)
    for (cfg, key) in [
        ("client_session_codec", "CODEC"),
        ("client_early_data", "EARLY_DATA"),
        ("record_size_limit", "RECORD_SIZE_LIMIT"),
    ] {
        let var = format!("DEP_RUSTLS_CLIENT_SESSIONS_{key}");
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        println!("cargo:rerun-if-env-changed={var}");
        if std::env::var_os(&var).is_some() {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}
