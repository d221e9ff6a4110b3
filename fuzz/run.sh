#!/usr/bin/env bash
# Coverage-guided fuzzing of tlswire with cargo-fuzz (libFuzzer, AddressSanitizer):
#   fuzz/run.sh [SECONDS per target, default 60] [TARGET ...]
# Targets (fuzz/targets.rs): client, client_observed (message observer on), server, observer
# (message formatting, certificate subjects), parse (PEM/DER certificates, keys, CRLs, packed
# trust anchors). Seeds are real handshakes, written by tests/tests/fuzz_smoke.rs; corpora grow
# in fuzz/corpus/TARGET (not committed). A crash lands in fuzz/artifacts/TARGET/: copy the input
# to fuzz/regressions/TARGET/ (the test command replays every file there) and fix it.
# Needs the nightly toolchain and cargo-fuzz; both are installed here if missing (pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client client_observed server observer parse)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.1

seeds=fuzz/seeds
rm -rf "$seeds"
TLSWIRE_FUZZ_SEEDS=$PWD/$seeds cargo test -q -p tlswire-interop --test fuzz_smoke >/dev/null
cd fuzz
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  regressions=()
  [ -d "regressions/$target" ] && regressions=("regressions/$target")
  start=$(date +%s)
  echo "fuzz: $target for ${seconds}s" >&2
  cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" "${regressions[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 2>&1 | grep -E '^(#|INFO: (seed|-max)|stat::|==)|panicked|SUMMARY|Test unit written' || true
  echo "fuzz: $target: $(( $(date +%s) - start )) s, corpus $(ls "corpus/$target" | wc -l) inputs" >&2
  if [ -n "$(ls "artifacts/$target" 2>/dev/null)" ]; then
    echo "fuzz: $target found crashes: fuzz/artifacts/$target" >&2
    exit 1
  fi
done
