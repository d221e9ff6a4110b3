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
cargo test --locked --workspace
