#!/usr/bin/env bash
# The test command: installs what is missing, builds every crate (host and both wasm targets),
# and runs all tests: unit, in-memory protocol, Wycheproof and real-peer interop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --workspace
for target in wasm32-unknown-unknown wasm32-wasip2; do
  echo "== build core and provider for $target"
  cargo build --locked -p tlswire -p tlswire-crypto --target "$target"
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --workspace 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tlswire: %d passed, %d failed\n", p, f }' "$log"
