#!/usr/bin/env bash
# Installs everything tlswire's build, demo and tests need on a fresh Debian machine with Rust,
# Python, Node and OpenSSL: rustup targets, gnutls-bin (gnutls-serv), chromium, PostgreSQL,
# Redis, Mosquitto, and the Python packages of scripts/requirements.txt (tlslite-ng + kyber-py,
# websockify, aioquic, aiosmtpd), hash-pinned. (npm packages come from npm/package-lock.json via `npm ci`.)
# Idempotent: skips what is already there.
set -euo pipefail

log() { echo "setup: $*" >&2; }

installed_targets=$(rustup target list --installed)
for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    log "rustup target add $target"
    rustup target add "$target"
  fi
done

installed_components=$(rustup component list --installed)
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed_components"; then
    log "rustup component add $component"
    rustup component add "$component"
  fi
done
# cargo-deny: the license, ban and source gate of the test command (deny.toml).
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny 0.18.9"; then
  log "cargo install cargo-deny 0.18.9"
  cargo install --locked -q cargo-deny --version 0.18.9
fi

apt_packages=()
command -v openssl >/dev/null || apt_packages+=(openssl)
command -v gnutls-serv >/dev/null || apt_packages+=(gnutls-bin)
# Headless browser tests of the npm package (driven by playwright-core, never its own download).
[ -x /usr/bin/chromium ] || apt_packages+=(chromium fonts-liberation)
# The servers the database and broker clients' tests talk to (none is started by the install).
[ -x /usr/lib/postgresql/15/bin/postgres ] || apt_packages+=(postgresql)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_packages+=(mosquitto)
command -v patch >/dev/null || apt_packages+=(patch) # scripts/vendor-rustls.sh
command -v curl >/dev/null || apt_packages+=(curl) # scripts/vendor-rustls.sh, when the crate is not in cargo's cache
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install ${apt_packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# Python packages, every one pinned with its files' hashes (scripts/requirements.txt):
# tlslite-ng (an independent TLS peer, pure Python) with kyber-py (its ML-KEM); websockify (the
# WebSocket→TCP bridge of the npm package's tests); aioquic (the HTTP/3 WebTransport server of
# the browser test's WebTransport bridge); aiosmtpd (the SMTP server, with STARTTLS, of the mail
# client's tests). pip's dry run says whether anything is missing or at another version.
requirements=$(cd "$(dirname "$0")" && pwd)/requirements.txt
pip_install=(python3 -m pip install -q --disable-pip-version-check --require-hashes -r "$requirements")
if ! "${pip_install[@]}" --dry-run --report - 2>/dev/null \
  | python3 -c 'import json, sys; sys.exit(1 if json.load(sys.stdin)["install"] else 0)'; then
  log "pip install --require-hashes -r scripts/requirements.txt"
  "${pip_install[@]}" --root-user-action=ignore
  command -v pyenv >/dev/null && pyenv rehash || true
fi
log "ok"
