// The bench's TLS server: Node's own `tls` (OpenSSL underneath), in a process of its own so its
// CPU never counts against a client's. One listener per TLS 1.3 suite, ECDSA P-256 certificate.
// Each connection may send one command line after the handshake:
//   `send N\n`  the server writes N bytes (64 KiB chunks, with backpressure) and ends;
//   `recv N\n`  the server reads N bytes and answers `done\n`;
// no line (the client closes after the handshake): nothing more.
// Prints `{"aes128": port, "aes256": port, "chacha": port, "plain": port}` on stdout once
// listening; `plain` speaks the same commands over TCP without TLS (a bridge's own ceiling).
//
// usage: node server.mjs CERT KEY

import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const [cert, key] = process.argv.slice(2).map((f) => readFileSync(f));
const suites = { aes128: "TLS_AES_128_GCM_SHA256", aes256: "TLS_AES_256_GCM_SHA384", chacha: "TLS_CHACHA20_POLY1305_SHA256" };
const CHUNK = Buffer.alloc(65536, 0x61);

function serve(socket) {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  let line = "";
  const onData = (data) => {
    line += data.toString("latin1");
    const end = line.indexOf("\n");
    if (end < 0) return;
    socket.off("data", onData);
    const [command, count] = line.slice(0, end).split(" ");
    const rest = Buffer.from(line.slice(end + 1), "latin1");
    if (command === "send") send(socket, Number(count));
    else if (command === "recv") recv(socket, Number(count), rest.length);
    else socket.destroy();
  };
  socket.on("data", onData);
}

function send(socket, total) {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return socket.once("drain", pump);
    }
    socket.end();
  };
  pump();
}

function recv(socket, total, already) {
  let seen = already;
  const check = () => seen >= total && (socket.write("done\n"), socket.end());
  socket.on("data", (d) => ((seen += d.length), check()));
  check();
}

const ports = {};
for (const [name, suite] of Object.entries(suites)) {
  const server = tls.createServer({ cert, key, minVersion: "TLSv1.3", ciphers: suite }, serve);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  ports[name] = server.address().port;
}
// The same commands over plain TCP: what a bridge alone can carry, without TLS.
const plain = net.createServer(serve);
await new Promise((r) => plain.listen(0, "127.0.0.1", r));
ports.plain = plain.address().port;
process.stdout.write(JSON.stringify(ports) + "\n");
