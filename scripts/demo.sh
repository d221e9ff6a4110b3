#!/usr/bin/env bash
# The demo: the tlswire inspector (www/), a page that speaks TLS from the browser through a
# WebSocket→TCP bridge (websockify) to a local `openssl s_server` with a freshly generated test
# CA, and shows the handshake message by message. Builds what it needs, starts the bridge and the
# server, and prints the URL to open (Ctrl-C stops them).
#   scripts/demo.sh              start, print the URL, wait
#   scripts/demo.sh --headless   run headless Chromium against the page once, save a screenshot
#                                (.work/demo/inspector.png), print the ladder, exit
set -euo pipefail
cd "$(dirname "$0")/.."
headless=0
[ "${1:-}" = "--headless" ] && headless=1
scripts/setup.sh
(cd npm && npm ci --no-audit --no-fund --loglevel=error && npm run build) >&2
work=.work/demo
rm -rf "$work"
mkdir -p "$work"
tests/scripts/gen-certs.sh "$work" >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_port=$(free_port)
web_port=$(free_port)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# -rev answers each line reversed. s_server exits when its stdin closes: keep it open.
openssl s_server -accept "127.0.0.1:$tls_port" -cert "$work/server-ecdsa.pem" -key "$work/server-ecdsa.key" \
  -rev -quiet < <(sleep infinity) >/dev/null 2>&1 &
pids+=($!)
# One port: the page (the repository, for www/ and npm/) and the bridge to s_server.
websockify --web "$PWD" "127.0.0.1:$web_port" "127.0.0.1:$tls_port" >/dev/null 2>&1 &
pids+=($!)
for port in "$tls_port" "$web_port"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
url="http://127.0.0.1:$web_port/www/?server=localhost&ca=/.work/demo/ca.pem"
if [ "$headless" = 1 ]; then
  node www/headless.mjs "$url&connect=1" "$work/inspector.png"
  exit
fi
echo
echo "tlswire inspector: open $url"
echo "(websockify on 127.0.0.1:$web_port bridges to openssl s_server on 127.0.0.1:$tls_port; Ctrl-C stops both)"
wait
