#!/usr/bin/env bash
# The test command: installs what is missing, builds every crate (host and the wasm targets),
# and runs all tests: unit, in-memory protocol, Wycheproof, real-peer interop, the npm package in
# Node and Chromium, and the wasm component in wasmtime and (through jco) in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --workspace
for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
  echo "== build core and provider for $target"
  cargo build --locked -p tlswire -p tlswire-crypto --target "$target"
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --workspace 2>&1 | tee "$log"
echo "== npm package: build (wasm-bindgen, wasm-opt) and Node tests"
(cd npm && npm ci --no-audit --no-fund --silent && npm run build && npm test) 2>&1 | tee -a "$log"
echo "== wasm component: transpiled by jco, Node tests (the wasmtime host ran in cargo test)"
(cd tests/jco && npm install --no-audit --no-fund --silent && npm test) 2>&1 | tee -a "$log"
# One closing line for the whole run (cargo prints one per test binary, node --test its own).
awk '/^test result:/ { p += $4; f += $6 } /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "tlswire: %d passed, %d failed\n", p, f }' "$log"
