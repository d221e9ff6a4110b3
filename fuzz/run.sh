#!/usr/bin/env bash
# Coverage-guided fuzzing of tlswire with cargo-fuzz (libFuzzer, AddressSanitizer):
#   fuzz/run.sh [SECONDS per target, default 60] [TARGET ...]
# Targets (fuzz/targets.rs): client, client_observed (message observer on), server, observer
# (message formatting, certificate subjects), parse (PEM/DER certificates, keys, CRLs, packed
# trust anchors), session (arbitrary bytes as a stored session, then a handshake), ech
# (ECHConfigLists; HPKE open), api_sequence (a client and a server driven by an arbitrary
# sequence of API calls and re-cut deliveries, invariants checked after every step), offload
# (AES-GCM record decryption handed out with offload_jobs and answered with offload_opened: in
# any order, any subset, rightly or with a wrong generation, seq or plaintext, across KeyUpdates;
# what is read stays the peer's stream unless an edited plaintext was trusted, errors sticky).
# cargo-fuzz builds with --cfg fuzzing: tlswire-crypto's deterministic provider (fixed
# randomness, identity AEAD, constant HMAC; tlswire_crypto::fuzzing), so fuzzed peers get past
# ServerHello. The seeds are handshakes recorded with that provider (they replay exactly), written
# by fuzz/replay (TLSWIRE_FUZZ_SEEDS) into fuzz/seeds/TARGET. Corpora grow in fuzz/corpus/TARGET;
# the committed ones are kept small with `cargo fuzz cmin` and replay in the test command. A
# crash lands in fuzz/artifacts/TARGET/: minimize it (`cargo fuzz tmin`), copy it to
# fuzz/regressions/TARGET/ (the test command replays every file there) and fix it.
# Needs the nightly toolchain and cargo-fuzz; both are installed here if missing (pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client client_observed server observer parse session ech api_sequence offload)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.1

seeds=fuzz/seeds
rm -rf "$seeds"
TLSWIRE_FUZZ_SEEDS=$PWD/$seeds RUSTFLAGS="--cfg fuzzing" \
  cargo test -q --locked --manifest-path fuzz/Cargo.toml -p tlswire-fuzz-replay >/dev/null
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
