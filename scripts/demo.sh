#!/usr/bin/env bash
# The demo: builds tlswire, starts a local `openssl s_server` with a freshly generated test CA,
# and runs `tlswire s_client -msg` against it, showing the OpenSSL-format handshake trace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --release -p tlswire-cli
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
tests/scripts/gen-certs.sh "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# s_server exits when its stdin closes: keep it open with a sleeping writer. `$!` is openssl's
# own pid (stdin comes from a process substitution, not a pipeline), so the trap stops it.
openssl s_server -accept "127.0.0.1:$port" -cert "$work/server-ecdsa.pem" \
  -key "$work/server-ecdsa.key" -rev -quiet < <(sleep 60) >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
# -rev answers each line reversed; a CLOSE line makes it close the connection with close_notify.
echo "\$ printf 'hello, tls\\nCLOSE\\n' | tlswire s_client -connect 127.0.0.1:$port -CAfile ca.pem -msg -ign_eof"
printf 'hello, tls\nCLOSE\n' | "${CARGO_TARGET_DIR:-target}/release/tlswire" s_client -connect "127.0.0.1:$port" \
  -CAfile "$work/ca.pem" -msg -ign_eof 2>&1
