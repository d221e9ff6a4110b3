//! This build script allows us to enable the `read_buf` language feature only
//! for Rust Nightly.
//!
//! See the comment in lib.rs to understand why we need this.

fn main() {
    // tlswire: dependents' build scripts see DEP_RUSTLS_CLIENT_SESSIONS_CODEC: client sessions
    // have `encode` / `from_slice` in this rustls; and DEP_RUSTLS_CLIENT_SESSIONS_EARLY_DATA:
    // its unbuffered client can send early data; DEP_RUSTLS_CLIENT_SESSIONS_RECORD_SIZE_LIMIT:
    // it negotiates RFC 8449's record_size_limit.
    println!("cargo:codec=1");
    println!("cargo:early_data=1");
    println!("cargo:record_size_limit=1");
    read_buf();
}

#[cfg_attr(feature = "read_buf", rustversion::not(nightly))]
fn read_buf() {}

#[cfg(feature = "read_buf")]
#[rustversion::nightly]
fn read_buf() {
    println!("cargo:rustc-cfg=read_buf");
}
