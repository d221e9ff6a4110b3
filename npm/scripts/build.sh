#!/usr/bin/env bash
# Builds the wasm engines into dist/: cargo (wasm32-unknown-unknown, size profile) → wasm-bindgen
# (pinned to the crate's version, installed if missing) → wasm-opt -Oz (npm binaryen); then
# dist/roots.js, and the license files next to package.json. `npm pack` runs it (prepack), so a
# package packed from a clean clone is complete. Honours CARGO_TARGET_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
version=0.2.130 # = the wasm-bindgen version in Cargo.lock
# The crate's sha256 (crates.io's checksum) and its dependencies locked exactly: the crate's own
# Cargo.lock with webpki-roots 1.0.10 for the 1.0.11 the registry here lacks
# (scripts/wasm-bindgen-cli.Cargo.lock), so `cargo install --locked` builds what was reviewed.
sha256=c37f6904387d19a319525c74af274c73912f3871c35555aa49f3ea64ebb2fc7a
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "build: cargo install --locked wasm-bindgen-cli $version" >&2
  work=$(mktemp -d)
  "$root/scripts/unpack-crate.sh" wasm-bindgen-cli "$version" "$sha256" "$work"
  cp "$here/scripts/wasm-bindgen-cli.Cargo.lock" "$work/wasm-bindgen-cli-$version/Cargo.lock"
  cargo install -q --locked --path "$work/wasm-bindgen-cli-$version"
  rm -rf "$work"
fi
[ -x "$here/node_modules/.bin/wasm-opt" ] || (cd "$here" && npm ci --no-audit --no-fund --silent)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
# Two engines: dist/wasm (the client's, what connect() loads) and dist/wasm-server (with the
# server, what accept() loads), so a client's download leaves the server out.
engine() { # engine OUT_DIR [cargo flags]
  local out=$1
  shift
  # Unstripped, so wasm-bindgen and wasm-opt can read the target-features section; wasm-opt strips.
  CARGO_PROFILE_WASM_SIZE_STRIP=false \
    cargo build -q --locked -p tlswire-wasm --target wasm32-unknown-unknown --profile wasm-size "$@"
  rm -rf "$out"
  # --experimental-reset-state-function: after a trap (a panic, out of memory) src/engine.js puts
  # a fresh instance in place of the one whose Rust state the trap left half-changed; the glue
  # then refuses objects of the old instance instead of passing their pointers to the new one.
  wasm-bindgen --target web --experimental-reset-state-function --out-dir "$out" --out-name tlswire \
    "$target/wasm32-unknown-unknown/wasm-size/tlswire_wasm.wasm"
  "$here/node_modules/.bin/wasm-opt" -Oz --detect-features --strip-debug --strip-producers \
    "$out/tlswire_bg.wasm" -o "$out/tlswire_bg.wasm"
}
engine "$here/dist/wasm"
engine "$here/dist/wasm-server" --features server
# The entry for Node, Deno and Bun: src/ joined into one file (each ES module costs them ~1 ms).
node "$here/scripts/bundle.mjs"
# tlswire/roots: Mozilla's roots (webpki-roots in Cargo.lock) as packed trust anchors.
cargo run -q --locked -p tlswire --example pack-roots > "$here/dist/roots.js"
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$here/"
ls -l "$here/dist/wasm/tlswire_bg.wasm" "$here/dist/wasm-server/tlswire_bg.wasm" "$here/dist/roots.js" >&2
