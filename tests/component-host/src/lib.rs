//! A wasmtime host for the tlswire component (`crates/tlswire-component`): it opens TCP
//! connections itself and hands their streams to the component, which does all of TLS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::{AsyncReadStream, AsyncWriteStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "tlswire",
    with: { "wasi:io": wasmtime_wasi::p2::bindings::io },
    require_store_data_send: true,
});

pub use exports::tlswire::tls::types::{
    CertificateErrorKind, CertifiedKey, ClientAuth, ClientConfig, ConnectionInfo, Direction, EchStatus, Error,
    ProtocolErrorKind, ProtocolMessage, ServerConfig, Truncation, Version,
};

/// What the store holds: WASI's context (clocks, randomness) and the resource table.
pub struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// The component instantiated in its own store.
pub struct Host {
    store: Store<State>,
    tls: Tlswire,
}

impl Host {
    /// Instantiates the component at `path`, compiled once per process (every store shares it).
    pub fn new(path: &Path) -> wasmtime::Result<Self> {
        static COMPILED: Mutex<Option<HashMap<PathBuf, (Engine, Component)>>> = Mutex::new(None);
        let (engine, component) = {
            let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
            let compiled = compiled.get_or_insert_with(HashMap::new);
            match compiled.get(path) {
                Some(found) => found.clone(),
                None => {
                    let engine = Engine::default();
                    let component = Component::from_file(&engine, path)?;
                    compiled.insert(path.to_path_buf(), (engine.clone(), component.clone()));
                    (engine, component)
                }
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let state = State { ctx: WasiCtx::builder().build(), table: ResourceTable::new() };
        let mut store = Store::new(&engine, state);
        let tls = Tlswire::instantiate(&mut store, &component, &linker)?;
        Ok(Self { store, tls })
    }

    /// Connects to `addr` over TCP; returns the socket's streams as `wasi:io` resources.
    pub fn tcp(&mut self, addr: &str) -> wasmtime::Result<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let socket = wasmtime_wasi::runtime::in_tokio(tokio::net::TcpStream::connect(addr.to_string()))?;
        let (read, write) = socket.into_split();
        let table = &mut self.store.data_mut().table;
        let input = table.push(Box::new(AsyncReadStream::new(read)) as DynInputStream)?;
        let output = table.push(Box::new(AsyncWriteStream::new(64 * 1024, write)) as DynOutputStream)?;
        Ok((input, output))
    }

    /// Accepts one TCP connection on `listener`; returns its streams as `wasi:io` resources.
    pub fn accept(
        &mut self,
        listener: &std::net::TcpListener,
    ) -> wasmtime::Result<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let (socket, _) = listener.accept()?;
        socket.set_nonblocking(true)?;
        let socket = wasmtime_wasi::runtime::in_tokio(async { tokio::net::TcpStream::from_std(socket) })?;
        let (read, write) = socket.into_split();
        let table = &mut self.store.data_mut().table;
        let input = table.push(Box::new(AsyncReadStream::new(read)) as DynInputStream)?;
        let output = table.push(Box::new(AsyncWriteStream::new(64 * 1024, write)) as DynOutputStream)?;
        Ok((input, output))
    }

    /// `server-context.build`.
    pub fn server_context(&mut self, config: &ServerConfig) -> wasmtime::Result<Result<ResourceAny, Error>> {
        self.tls.tlswire_tls_connections().server_context().call_build(&mut self.store, config)
    }

    /// `connection.server` over the next TCP connection accepted on `listener`.
    pub fn serve(
        &mut self,
        context: ResourceAny,
        listener: &std::net::TcpListener,
    ) -> wasmtime::Result<Result<Connection, Error>> {
        let (input, output) = self.accept(listener)?;
        let conn =
            self.tls.tlswire_tls_connections().connection().call_server(&mut self.store, context, input, output)?;
        Ok(conn.map(Connection))
    }

    /// `client-context.build`.
    pub fn client_context(&mut self, config: &ClientConfig) -> wasmtime::Result<Result<ResourceAny, Error>> {
        self.tls.tlswire_tls_connections().client_context().call_build(&mut self.store, config)
    }

    /// `connection.client` over a new TCP connection to `addr`.
    pub fn connect(
        &mut self,
        context: ResourceAny,
        server_name: &str,
        addr: &str,
    ) -> wasmtime::Result<Result<Connection, Error>> {
        let (input, output) = self.tcp(addr)?;
        let conn = self.tls.tlswire_tls_connections().connection().call_client(
            &mut self.store,
            context,
            server_name,
            input,
            output,
        )?;
        Ok(conn.map(Connection))
    }

    /// `connection.client-resuming` on a new TCP connection to `addr`.
    pub fn connect_resuming(
        &mut self,
        context: ResourceAny,
        server_name: &str,
        session: &[u8],
        addr: &str,
    ) -> wasmtime::Result<Result<Connection, Error>> {
        let (input, output) = self.tcp(addr)?;
        let conn = self.tls.tlswire_tls_connections().connection().call_client_resuming(
            &mut self.store,
            context,
            server_name,
            session,
            input,
            output,
        )?;
        Ok(conn.map(Connection))
    }

    /// `connection.write-early-data`.
    pub fn write_early_data(&mut self, conn: &Connection, data: &[u8]) -> wasmtime::Result<Result<u32, Error>> {
        self.tls.tlswire_tls_connections().connection().call_write_early_data(&mut self.store, conn.0, data)
    }

    /// `connection.take-sessions`.
    pub fn take_sessions(&mut self, conn: &Connection) -> wasmtime::Result<Vec<Vec<u8>>> {
        self.tls.tlswire_tls_connections().connection().call_take_sessions(&mut self.store, conn.0)
    }

    /// The wasi-tls-shaped client (`handshakes`): `client-handshake` over a new TCP connection to
    /// `addr` (with `context`'s settings, else the constructor's bundled roots), `finish`, then
    /// `get` until the future has the outcome (polling: `get` never blocks).
    pub fn wasi_tls_connect(
        &mut self,
        context: Option<ResourceAny>,
        server_name: &str,
        addr: &str,
    ) -> wasmtime::Result<Result<Connection, Error>> {
        let (input, output) = self.tcp(addr)?;
        let api = self.tls.tlswire_tls_handshakes();
        let handshake = match context {
            Some(ctx) => {
                match api.client_handshake().call_with_context(&mut self.store, ctx, server_name, input, output)? {
                    Ok(h) => h,
                    Err(e) => return Ok(Err(e)),
                }
            }
            None => api.client_handshake().call_constructor(&mut self.store, server_name, input, output)?,
        };
        let future = api.client_handshake().call_finish(&mut self.store, handshake)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(outcome) = api.future_client_connection().call_get(&mut self.store, future)? {
                let again = api.future_client_connection().call_get(&mut self.store, future)?;
                anyhow_check(matches!(again, Some(Err(()))), "get after the outcome is some(err)")?;
                future.resource_drop(&mut self.store)?;
                let outcome = outcome.map_err(|()| wasmtime::Error::msg("the outcome was taken"))?;
                return Ok(outcome.map(Connection));
            }
            anyhow_check(std::time::Instant::now() < deadline, "the handshake did not finish")?;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// `connection.handshake`.
    pub fn handshake(&mut self, conn: &Connection) -> wasmtime::Result<Result<(), Error>> {
        self.tls.tlswire_tls_connections().connection().call_handshake(&mut self.store, conn.0)
    }

    /// `connection.write`.
    pub fn write(&mut self, conn: &Connection, data: &[u8]) -> wasmtime::Result<Result<(), Error>> {
        self.tls.tlswire_tls_connections().connection().call_write(&mut self.store, conn.0, data)
    }

    /// `connection.read`.
    pub fn read(&mut self, conn: &Connection, max_len: u32) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        self.tls.tlswire_tls_connections().connection().call_read(&mut self.store, conn.0, max_len)
    }

    /// `connection.reject`.
    pub fn reject(&mut self, conn: &Connection, reason: &str) -> wasmtime::Result<Error> {
        self.tls.tlswire_tls_connections().connection().call_reject(&mut self.store, conn.0, reason)
    }

    /// `connection.key-update`.
    pub fn key_update(&mut self, conn: &Connection, request_peer: bool) -> wasmtime::Result<Result<(), Error>> {
        self.tls.tlswire_tls_connections().connection().call_key_update(&mut self.store, conn.0, request_peer)
    }

    /// `connection.close`.
    pub fn close(&mut self, conn: &Connection) -> wasmtime::Result<Result<(), Error>> {
        self.tls.tlswire_tls_connections().connection().call_close(&mut self.store, conn.0)
    }

    /// `connection.info`.
    pub fn info(&mut self, conn: &Connection) -> wasmtime::Result<Option<ConnectionInfo>> {
        self.tls.tlswire_tls_connections().connection().call_info(&mut self.store, conn.0)
    }

    /// `connection.take-messages`.
    pub fn take_messages(&mut self, conn: &Connection) -> wasmtime::Result<Vec<ProtocolMessage>> {
        self.tls.tlswire_tls_connections().connection().call_take_messages(&mut self.store, conn.0)
    }

    /// `connection.export-keying-material`.
    pub fn export_keying_material(
        &mut self,
        conn: &Connection,
        length: u32,
        label: &str,
        context: Option<&[u8]>,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        self.tls.tlswire_tls_connections().connection().call_export_keying_material(
            &mut self.store,
            conn.0,
            length,
            label,
            context,
        )
    }

    /// `connection.take-key-log`.
    pub fn take_key_log(&mut self, conn: &Connection) -> wasmtime::Result<Vec<String>> {
        self.tls.tlswire_tls_connections().connection().call_take_key_log(&mut self.store, conn.0)
    }

    /// `types.error-code`.
    pub fn error_code(&mut self, error: &Error) -> wasmtime::Result<String> {
        self.tls.tlswire_tls_types().call_error_code(&mut self.store, error)
    }
}

/// A connection resource owned by the component instance.
pub struct Connection(ResourceAny);

fn anyhow_check(ok: bool, what: &str) -> wasmtime::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(wasmtime::Error::msg(what.to_string()))
    }
}
