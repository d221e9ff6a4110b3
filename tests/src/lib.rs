//! Harness for interop tests: a generated test PKI, real peers (openssl, gnutls-serv, tlslite-ng,
//! tlswire's own CLI) started on 127.0.0.1, and a blocking driver for `tlswire::Connection`.
//!
//! A missing peer program is a test failure, never a skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tlswire::{ClientConfig, ClientContext, Connection, Error, Status};

/// Workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the root) if set, else `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |dir| root().join(dir))
}

/// The test PKI (see tests/scripts/gen-certs.sh), generated once per test binary.
pub fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join(format!("interop-pki-{}", std::process::id()));
        let status = Command::new("bash")
            .arg(root().join("tests/scripts/gen-certs.sh"))
            .arg(&dir)
            .status()
            .expect("run gen-certs.sh");
        assert!(status.success(), "gen-certs.sh failed");
        dir
    })
}

pub fn file(name: &str) -> String {
    pki().join(name).to_string_lossy().into_owned()
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().join(name)).unwrap()
}

/// Fails the test (not skips it) if `program` is not installed.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false);
    assert!(found, "{program} is not installed: run scripts/setup.sh (a missing peer is a failure)");
}

pub fn free_port() -> u16 {
    // Never the same port twice in one process: tests run in parallel, and the kernel may hand a
    // just-released port to the next bind, so two peers would race for it.
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A peer process, killed when dropped.
pub struct Peer {
    child: Child,
    pub port: u16,
    name: String,
}

impl Peer {
    /// Starts `program args` and waits until 127.0.0.1:`port` accepts connections.
    pub fn start(program: &str, args: &[String], port: u16) -> Self {
        Self::start_with_stdout(program, args, port, Stdio::null())
    }

    /// [`Peer::start`], with the peer's standard output to `stdout` (a file, say).
    pub fn start_with_stdout(program: &str, args: &[String], port: u16, stdout: impl Into<Stdio>) -> Self {
        if program.contains('/') {
            assert!(Path::new(program).is_file(), "{program} does not exist");
        } else {
            require(program);
        }
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped()) // openssl s_server quits when stdin closes
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut peer = Self { child, port, name: format!("{program} {}", args.join(" ")) };
        peer.wait_listening();
        peer
    }

    /// The peer's standard input (`openssl s_server` reads commands there: `R` renegotiates).
    pub fn stdin(&mut self) -> &mut std::process::ChildStdin {
        self.child.stdin.as_mut().expect("stdin is piped")
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("{} exited early ({status}): {err}", self.name);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Ours, not another process on the port: ours is still running a moment later.
                std::thread::sleep(Duration::from_millis(50));
                if let Ok(None) = self.child.try_wait() {
                    return;
                }
                continue;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not listen on port {}", self.name, self.port);
    }
}

impl Peer {
    /// Stops the peer and returns what it wrote to stderr.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Command-line arguments as owned strings.
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `openssl s_server -rev` (answers each line reversed). `identity` is a PKI file stem such as
/// `server-ecdsa` or `expired`.
pub fn openssl_server(identity: &str, extra: &[&str]) -> Peer {
    let port = free_port();
    let mut args = strings(&["s_server", "-accept"]);
    args.push(format!("127.0.0.1:{port}"));
    args.extend(strings(&["-cert", &file(&format!("{identity}.pem")), "-key", &file(&format!("{identity}.key"))]));
    args.extend(strings(&["-rev", "-quiet"]));
    args.extend(strings(extra));
    Peer::start("openssl", &args, port)
}

/// `openssl s_server` (plain mode, not `-rev`: only that mode prints exported keying material)
/// with `-keymatexport label -keymatexportlen len` and `extra`, its standard output to a file.
/// [`KeymatServer::material`] waits for what it printed for the `n`th connection.
pub fn openssl_keymat_server(label: &str, len: usize, extra: &[&str]) -> KeymatServer {
    let port = free_port();
    let out = pki().join(format!("keymat-openssl-{port}.txt"));
    let mut args = strings(&["s_server", "-accept"]);
    args.push(format!("127.0.0.1:{port}"));
    args.extend(strings(&["-cert", &file("server-ecdsa.pem"), "-key", &file("server-ecdsa.key")]));
    args.extend(strings(&["-keymatexport", label, "-keymatexportlen", &len.to_string()]));
    args.extend(strings(extra));
    let stdout = std::fs::File::create(&out).unwrap();
    KeymatServer { peer: Peer::start_with_stdout("openssl", &args, port, stdout), out }
}

/// See [`openssl_keymat_server`].
pub struct KeymatServer {
    pub peer: Peer,
    out: PathBuf,
}

impl KeymatServer {
    /// The hex (upper case, as OpenSSL prints it) of the keying material exported for the
    /// `n`th connection (0 first), waiting up to 10 s for it.
    pub fn material(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if let Some(hex) = keying_material(&text).into_iter().nth(n) {
                return hex;
            }
            assert!(Instant::now() < deadline, "openssl printed no keying material #{n}: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The hex of each `Keying material: HEX` line in `text` (what `openssl s_client`/`s_server`
/// and `tlswire` print for `-keymatexport`).
pub fn keying_material(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.trim().strip_prefix("Keying material: ")).map(str::to_string).collect()
}

/// `gnutls-serv --echo`.
pub fn gnutls_server(identity: &str, extra: &[&str]) -> Peer {
    let port = free_port();
    let mut args = strings(&["--echo", "--quiet", "-p"]);
    args.push(port.to_string());
    args.extend(strings(&[
        "--x509certfile",
        &file(&format!("{identity}.pem")),
        "--x509keyfile",
        &file(&format!("{identity}.key")),
    ]));
    args.extend(strings(extra));
    Peer::start("gnutls-serv", &args, port)
}

/// tlslite-ng's `tls.py server --echo`.
pub fn tlslite_server(identity: &str, extra: &[&str]) -> Peer {
    tlslite_server_logged(identity, extra, None)
}

/// [`tlslite_server`], writing what it prints about each handshake to `log`.
pub fn tlslite_server_logged(identity: &str, extra: &[&str], log: Option<&Path>) -> Peer {
    let port = free_port();
    let mut args = strings(&[
        "server",
        "-c",
        &file(&format!("{identity}.pem")),
        "-k",
        &file(&format!("{identity}.key")),
        "--echo",
    ]);
    args.extend(strings(extra));
    args.push(format!("127.0.0.1:{port}"));
    match log {
        Some(path) => Peer::start_with_stdout("tls.py", &args, port, std::fs::File::create(path).unwrap()),
        None => Peer::start("tls.py", &args, port),
    }
}

/// Runs `cargo build -q ARGS` in the workspace and returns `root()/artifact`.
pub fn cargo_build(args: &[&str], artifact: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .arg("build")
        .arg("-q")
        .args(args)
        .current_dir(root())
        .status()
        .unwrap_or_else(|e| panic!("cargo build {args:?}: {e}"));
    assert!(status.success(), "cargo build {args:?} failed");
    target_dir().join(artifact)
}

/// tlswire's CLI binary (built on demand). Built with the whole workspace, so that it is the
/// binary `cargo build --workspace` made: `-p tlswire-cli` alone resolves dependency features
/// differently and would compile a second copy of everything.
pub fn tlswire_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| cargo_build(&["--workspace"], "debug/tlswire")).clone()
}

/// A client context trusting the test CA, adjusted by `f`.
pub fn client(f: impl FnOnce(&mut ClientConfig)) -> ClientContext {
    let mut c = ClientConfig::new();
    c.add_ca(&read("ca.pem")).unwrap();
    f(&mut c);
    c.build().unwrap()
}

/// A connected, handshaken client over TCP.
pub struct Session {
    pub conn: Connection,
    pub sock: TcpStream,
}

/// Connects and completes the handshake (the alert for a failure is sent before returning).
pub fn connect(ctx: &ClientContext, server_name: &str, port: u16) -> Result<Session, Error> {
    connect_with(ctx, server_name, port, |_| {})
}

/// [`connect`], with `setup` run on the connection before its handshake (to set a callback).
pub fn connect_with(
    ctx: &ClientContext,
    server_name: &str,
    port: u16,
    setup: impl FnOnce(&mut Connection),
) -> Result<Session, Error> {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut s = Session { conn: Connection::client(ctx, server_name)?, sock };
    setup(&mut s.conn);
    loop {
        match s.conn.do_handshake() {
            Ok(Status::Done(())) => return Ok(s),
            Ok(Status::WantWrite) => s.flush(),
            Ok(Status::WantRead) => s.fill(),
            Err(e) => {
                s.flush();
                return Err(e);
            }
        }
    }
}

impl Session {
    pub fn flush(&mut self) {
        let out = self.conn.take_output();
        if !out.is_empty() {
            let _ = self.sock.write_all(&out);
        }
    }

    pub fn fill(&mut self) {
        let mut buf = [0u8; 16384];
        match self.sock.read(&mut buf) {
            Ok(0) | Err(_) => self.conn.feed_eof(),
            Ok(n) => self.conn.feed(&buf[..n]).unwrap(),
        }
    }

    pub fn write(&mut self, data: &[u8]) {
        loop {
            match self.conn.write(data).unwrap() {
                Status::Done(_) => return self.flush(),
                Status::WantWrite => self.flush(),
                Status::WantRead => self.fill(),
            }
        }
    }

    /// Reads exactly `n` bytes of plaintext.
    pub fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16384];
        while out.len() < n {
            let status = self.conn.read(&mut buf)?;
            self.flush();
            match status {
                Status::Done(0) => break,
                Status::Done(k) => out.extend_from_slice(&buf[..k]),
                Status::WantRead => self.fill(),
                Status::WantWrite => {}
            }
        }
        Ok(out)
    }

    /// Sends close_notify.
    pub fn close(&mut self) {
        self.conn.close().unwrap();
        self.flush();
    }
}

/// Connects, sends `send`, expects `expect` back, closes cleanly; returns the connection info.
pub fn round_trip(port: u16, ctx: &ClientContext, send: &[u8], expect: &[u8]) -> tlswire::Info {
    let mut s = connect(ctx, "localhost", port).unwrap();
    s.write(send);
    assert_eq!(s.read_exact(expect.len()).unwrap(), expect);
    let info = s.conn.info().unwrap();
    s.close();
    info
}

/// Runs a client program (`openssl s_client`, `tlswire s_client`): writes `stdin`, keeps it
/// open until `until` appears on its stdout or stderr (or the program exits), then closes it and
/// waits for the program to exit. Returns (stdout, stderr). Nothing hangs: a program that has
/// not shown `until` after 20 s, or not exited 20 s after its stdin closed, is killed (through
/// its own handle, so never another process that reused its PID).
pub fn run_client(program: &Path, args: &[String], stdin: &[u8], until: &str) -> (String, String) {
    use std::sync::Arc;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let collect = |mut pipe: Box<dyn Read + Send>, buf: Arc<Mutex<Vec<u8>>>| {
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                buf.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
            }
        })
    };
    let (out, err) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let readers = [
        collect(Box::new(child.stdout.take().unwrap()), out.clone()),
        collect(Box::new(child.stderr.take().unwrap()), err.clone()),
    ];
    let text = |buf: &Arc<Mutex<Vec<u8>>>| {
        String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    };
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if text(&out).contains(until) || text(&err).contains(until) || !matches!(child.try_wait(), Ok(None)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(input);
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(child.try_wait(), Ok(None)) {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.wait();
    for reader in readers {
        let _ = reader.join();
    }
    (text(&out), text(&err))
}

/// The `-msg` summary lines of `trace` for one direction (`>>>` or `<<<`), without lengths:
/// `">>> TLS 1.3, Handshake, ClientHello"`.
pub fn msg_lines(trace: &str, arrow: &str) -> Vec<String> {
    BufReader::new(trace.as_bytes())
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.starts_with(arrow))
        .map(|l| {
            let (head, tail) = l.split_once(" [length ").unwrap_or((&l, ""));
            let tail = tail.split_once(']').map(|(_, t)| t).unwrap_or("");
            format!("{head}{tail}")
        })
        .collect()
}

// ---------------------------------------------------------------- the ECH server (tests/ech)

/// tests/ech's server, built with the Go BoGo's runner uses.
pub fn ech_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = target_dir().join("ech-server");
        let status = std::process::Command::new("bash")
            .arg(root().join("tests/ech/build.sh"))
            .arg(&out)
            .status()
            .expect("tests/ech/build.sh");
        assert!(status.success(), "tests/ech/build.sh failed");
        out
    })
    .clone()
}

/// Go's crypto/tls server with Encrypted Client Hello (tests/ech, built on first use) on a free
/// port: its CA, the ECHConfigList it publishes (`-reject`: one whose key it does not hold) and
/// the list it offers for retries.
/// A running ECH server, its CA, its published ECHConfigList and the list it offers for retries.
pub struct EchServer {
    pub peer: Peer,
    log: PathBuf,
    pub ca: Vec<u8>,
    pub config_list: Vec<u8>,
    pub retry_list: Vec<u8>,
}

impl EchServer {
    pub fn start(extra: &[&str]) -> Self {
        let port = free_port();
        let log = target_dir().join(format!("ech-server-{}-{port}.log", std::process::id()));
        let mut args = strings(&["-port", &port.to_string()]);
        args.extend(strings(extra));
        let file = std::fs::File::create(&log).unwrap();
        let peer = Peer::start_with_stdout(ech_server_bin().to_str().unwrap(), &args, port, file);
        let first = wait_line(&log, 0);
        use base64ct::{Base64, Encoding};
        let b64 = |k: &str| Base64::decode_vec(first[k].as_str().unwrap()).unwrap();
        Self {
            ca: first["ca"].as_str().unwrap().as_bytes().to_vec(),
            config_list: b64("ech_config_list"),
            retry_list: b64("retry_config_list"),
            peer,
            log,
        }
    }

    pub fn client(&self, f: impl FnOnce(&mut ClientConfig)) -> ClientContext {
        let mut c = ClientConfig::new();
        c.add_ca(&self.ca).unwrap();
        f(&mut c);
        c.build().unwrap()
    }

    /// The server's report on its `n`th connection (from 1).
    pub fn report(&self, n: usize) -> serde_json::Value {
        wait_line(&self.log, n)
    }
}

impl Drop for EchServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Line `n` (from 0) of the server's standard output, as JSON, waiting up to 20 s for it.
fn wait_line(log: &Path, n: usize) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(file) = std::fs::File::open(log) {
            let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
            if let Some(line) = lines.get(n) {
                return serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
        }
        assert!(Instant::now() < deadline, "the ECH server wrote no line {n} in {}", log.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The DER of the first certificate in a PEM file of the test PKI.
pub fn first_certificate_der(name: &str) -> Vec<u8> {
    tlswire::certificates_from(&read(name)).unwrap()[0].to_vec()
}
