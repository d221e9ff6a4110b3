//! tlswire native: the same core the wasm engine runs, as a bench client over a blocking TCP
//! socket (the reference for "wasm vs native" in `bench/side-by-side.mjs`).
//!
//! ```text
//! native-client handshake PORT CA COUNT [GROUP:GROUP...]   → {"rows":[{wallUs,cpuUs,engineUs}...]}
//! native-client recv PORT CA BYTES                         → {"mbps":…, "cpuUsPerMB":…}
//! native-client send PORT CA BYTES                         → {"mbps":…, "cpuUsPerMB":…}
//! ```
//! Each handshake builds its settings afresh (CA parsed again), as the wasm rows do. Engine time
//! is the time spent inside tlswire calls (settings, connection, feed/handshake/read/write).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tlswire::{ClientConfig, Connection, Status};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("native-client: {e}");
            ExitCode::FAILURE
        }
    }
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn run(args: &[String]) -> Fallible<String> {
    let [scenario, port, ca, n, rest @ ..] = args else {
        return Err("usage: native-client handshake|recv|send PORT CA N [GROUPS]".into());
    };
    let port: u16 = port.parse()?;
    let n: usize = n.parse()?;
    let ca = std::fs::read(ca)?;
    let groups: Vec<&str> = rest.first().map(|g| g.split(':').collect()).unwrap_or_default();
    let mut client = Client { ca, groups, engine: Duration::ZERO };
    match scenario.as_str() {
        "handshake" => {
            let mut rows = Vec::new();
            for _ in 0..n {
                let (w0, c0, e0) = (Instant::now(), cpu_us(), client.engine);
                let (mut conn, mut sock) = client.open(port)?;
                let row = (w0.elapsed().as_secs_f64() * 1e6, cpu_us() - c0, (client.engine - e0).as_secs_f64() * 1e6);
                rows.push(format!("{{\"wallUs\":{:.1},\"cpuUs\":{},\"engineUs\":{:.1}}}", row.0, row.1, row.2));
                client.call(|| conn.close())?;
                flush(&mut conn, &mut sock)?;
            }
            Ok(format!("{{\"rows\":[{}]}}", rows.join(",")))
        }
        "recv" => {
            let (mut conn, mut sock) = client.open(port)?;
            let (w0, c0) = (Instant::now(), cpu_us());
            write_all(&mut conn, &mut sock, format!("send {n}\n").as_bytes())?;
            let mut buf = vec![0u8; 65536];
            let mut got = 0;
            loop {
                match conn.read(&mut buf)? {
                    Status::Done(0) => break,
                    Status::Done(k) => got += k,
                    Status::WantRead => fill(&mut conn, &mut sock)?,
                    Status::WantWrite => flush(&mut conn, &mut sock)?,
                }
            }
            if got != n {
                return Err(format!("received {got} of {n}").into());
            }
            Ok(rate(n, w0, c0))
        }
        "send" => {
            let (mut conn, mut sock) = client.open(port)?;
            let (w0, c0) = (Instant::now(), cpu_us());
            write_all(&mut conn, &mut sock, format!("recv {n}\n").as_bytes())?;
            let chunk = vec![0x62u8; 65536];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                write_all(&mut conn, &mut sock, &chunk[..k])?;
                left -= k;
            }
            let mut buf = [0u8; 64];
            loop {
                match conn.read(&mut buf)? {
                    Status::Done(_) => break,
                    Status::WantRead => fill(&mut conn, &mut sock)?,
                    Status::WantWrite => flush(&mut conn, &mut sock)?,
                }
            }
            Ok(rate(n, w0, c0))
        }
        other => Err(format!("unknown scenario {other}").into()),
    }
}

fn rate(bytes: usize, w0: Instant, c0: u64) -> String {
    let mb = bytes as f64 / 1e6;
    format!("{{\"mbps\":{:.1},\"cpuUsPerMB\":{:.1}}}", mb / w0.elapsed().as_secs_f64(), (cpu_us() - c0) as f64 / mb)
}

struct Client<'g> {
    ca: Vec<u8>,
    groups: Vec<&'g str>,
    engine: Duration,
}

impl Client<'_> {
    /// Runs one tlswire call, adding its time to the engine total.
    fn call<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.engine += t.elapsed();
        r
    }

    fn open(&mut self, port: u16) -> Fallible<(Connection, TcpStream)> {
        let mut sock = TcpStream::connect(("127.0.0.1", port))?;
        let (ca, groups) = (self.ca.clone(), self.groups.clone());
        let mut conn = self.call(|| -> Result<Connection, tlswire::Error> {
            let mut config = ClientConfig::new();
            config.add_ca(&ca)?;
            if !groups.is_empty() {
                config.groups(&groups)?;
            }
            Connection::client(&config.build()?, "localhost")
        })?;
        loop {
            match self.call(|| conn.do_handshake())? {
                Status::Done(()) => return Ok((conn, sock)),
                Status::WantWrite => flush(&mut conn, &mut sock)?,
                Status::WantRead => {
                    let mut buf = [0u8; 16384];
                    let k = sock.read(&mut buf)?;
                    self.call(|| {
                        if k == 0 {
                            conn.feed_eof();
                            Ok(())
                        } else {
                            conn.feed(&buf[..k])
                        }
                    })?;
                }
            }
        }
    }
}

fn flush(conn: &mut Connection, sock: &mut TcpStream) -> std::io::Result<()> {
    sock.write_all(conn.output())?;
    let n = conn.output().len();
    conn.consume_output(n);
    Ok(())
}

fn fill(conn: &mut Connection, sock: &mut TcpStream) -> Fallible<()> {
    let mut buf = [0u8; 65536];
    match sock.read(&mut buf)? {
        0 => conn.feed_eof(),
        k => conn.feed(&buf[..k])?,
    }
    Ok(())
}

fn write_all(conn: &mut Connection, sock: &mut TcpStream, data: &[u8]) -> Fallible<()> {
    loop {
        match conn.write(data)? {
            Status::Done(_) => return Ok(flush(conn, sock)?),
            Status::WantWrite => flush(conn, sock)?,
            Status::WantRead => fill(conn, sock)?,
        }
    }
}

/// This process's user + system CPU time, µs.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}
