//! A complete wasmtime host for the tlswire component: it connects a TCP socket, hands the
//! component its streams, and lets the component do TLS. Usage: minimal COMPONENT CA_PEM HOST:PORT NAME
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{format_err, Engine, Store};
use wasmtime_wasi::p2::pipe::{AsyncReadStream, AsyncWriteStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../../wit", world: "tlswire", require_store_data_send: true,
    with: { "wasi:io": wasmtime_wasi::p2::bindings::io },
});
use exports::tlswire::tls::types::ClientConfig;

struct State(WasiCtx, ResourceTable);
impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.0, table: &mut self.1 }
    }
}

fn main() -> wasmtime::Result<()> {
    let [_, component, ca, addr, name] =
        std::env::args().collect::<Vec<_>>().try_into().map_err(|_| format_err!("usage"))?;
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(&engine, State(WasiCtx::builder().build(), ResourceTable::new()));
    let tls = Tlswire::instantiate(&mut store, &Component::from_file(&engine, component)?, &linker)?;
    let api = tls.tlswire_tls_connections();

    let (read, write) = wasmtime_wasi::runtime::in_tokio(tokio::net::TcpStream::connect(addr))?.into_split();
    let input = store.data_mut().1.push(Box::new(AsyncReadStream::new(read)) as DynInputStream)?;
    let output = store.data_mut().1.push(Box::new(AsyncWriteStream::new(1 << 16, write)) as DynOutputStream)?;

    let config = ClientConfig {
        ca_certificates: vec![std::fs::read(ca)?],
        pins: vec![],
        crls: vec![],
        alpn: vec![],
        client_certificate: None,
        min_version: None,
        max_version: None,
        cipher_suites: vec![],
        groups: vec![],
        observe: false,
        key_log: false,
        max_send_fragment: None,
        keep_sessions: false,
        session_cache: None,
        early_data: false,
        signature_schemes: vec![],
        ech_config_list: None,
        ech_grease: false,
        dangerously_disable_verification: false,
    };
    let fail = |e| format_err!("TLS: {e:?}");
    let ctx = api.client_context().call_build(&mut store, &config)?.map_err(fail)?;
    let conn = api.connection().call_client(&mut store, ctx, &name, input, output)?.map_err(fail)?;
    api.connection().call_write(&mut store, conn, b"hello over TLS\n")?.map_err(fail)?;
    let reply = api.connection().call_read(&mut store, conn, 16384)?.map_err(fail)?;
    println!("{}", String::from_utf8_lossy(&reply));
    api.connection().call_close(&mut store, conn)?.map_err(fail)
}
