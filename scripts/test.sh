#!/usr/bin/env bash
# The test command: installs what is missing, builds every crate (host and the wasm targets),
# and runs all tests: unit, in-memory protocol, Wycheproof, real-peer interop, BoGo, the npm
# package in Node, Deno, Bun, workerd and Chromium (with the database and broker clients against
# real servers), and the wasm component in wasmtime and (through jco) in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# vendor/rustls must be exactly rustls as published plus the series in vendor/patches.
scripts/vendor-rustls.sh
cargo build --locked --workspace
echo "== gates: rustfmt, clippy and rustdoc with warnings as errors, cargo-deny (licenses, bans, sources)"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)
cargo clippy --locked --workspace --all-targets -q -- -D warnings
doc_log=$(RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps -q 2>&1) || { echo "$doc_log"; exit 1; }
if grep -q '^warning' <<<"$doc_log"; then echo "$doc_log"; exit 1; fi
cargo deny --locked check --hide-inclusion-graph licenses bans sources
# wasm32-unknown-unknown and wasm32-wasip2 builds come with the npm package and the component
# (below and in the tests); wasip1 (Fastly's Rust target) is only built here.
echo "== build core and provider for wasm32-wasip1"
cargo build --locked -p tlswire -p tlswire-crypto --target wasm32-wasip1
echo "== the crates as crates.io would get them (cargo package: packs and builds each)"
# cargo unpacks the packed crates from a temporary registry under CARGO_HOME and builds them as
# registry crates, which it never rebuilds: an unpacking or a build of the same name and version
# from an earlier run would be checked instead of this one. So the unpackings (in registries
# named "-<hash>") go first, and the check builds in a target directory of its own.
package_target="${CARGO_TARGET_DIR:-target}/package-check"
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/tlswire*-[0-9]* "$package_target"
CARGO_TARGET_DIR="$package_target" cargo package --locked -q -p tlswire-crypto -p tlswire -p tlswire-cli
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --workspace 2>&1 | tee "$log"
echo "== fuzz targets under the deterministic provider: seeds, committed corpora and regressions"
# fuzz/ is a workspace of its own with its own target directory: --cfg fuzzing never reaches
# the builds above.
RUSTFLAGS="--cfg fuzzing" cargo test --locked --manifest-path fuzz/Cargo.toml -p tlswire-fuzz-replay --test replay 2>&1 | tee -a "$log"
echo "== npm package: build (wasm-bindgen, wasm-opt) and Node tests"
# `npm ci`: exactly the lockfiles' packages, and the lockfiles are left as they are.
(cd npm && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test) 2>&1 | tee -a "$log"
echo "== npm package: the Node tests, unchanged, in Deno and Bun (npm's deno and bun packages)"
(cd npm && NO_COLOR=1 npm run test:deno && npm run test:bun) 2>&1 | tee -a "$log"
echo "== BoGo: BoringSSL's TLS conformance suite against tlswire's shim (tests/bogo)"
tests/bogo/run.sh
echo "== wasm component: transpiled by jco, Node tests (the wasmtime host ran in cargo test)"
(cd tests/jco && npm ci --no-audit --no-fund --loglevel=error && npm test) 2>&1 | tee -a "$log"
# One closing line for the whole run (cargo prints one per test binary, node --test its own).
# (Deno: "ok | N passed | M failed"; Bun: " N pass" / " M fail".)
awk '/^test result:/ { p += $4; f += $6 } /^# pass / { p += $3 } /^# fail / { f += $3 }
     /^(ok|FAILED) \| [0-9]+ passed/ { p += $3; f += $6 } /^ [0-9]+ pass$/ { p += $1 } /^ [0-9]+ fail$/ { f += $1 }
     END { printf "tlswire: %d passed, %d failed\n", p, f }' "$log"
# The tests leave the work tree as they found it (builds and scratch files are git-ignored).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git status --porcelain)" ]; then
  echo "tlswire: the tests changed the work tree:" >&2
  git status --short >&2
  exit 1
fi
