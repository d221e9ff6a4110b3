#!/usr/bin/env bash
# Edge coverage of tlswire's own code by each fuzz target's inputs:
#   fuzz/coverage.sh [-v] [TARGET ...]        (default: every target)
# Runs the target's committed corpus, seeds and regressions once through its cargo-fuzz release
# build (libFuzzer -runs=0 -print_coverage=1: per-function edge counts of SanitizerCoverage,
# symbolized) and sums the edges of the functions in crates/tlswire, crates/tlswire-crypto and
# vendor/rustls: covered/instrumented, counting only what is linked into the target. With -v it
# also lists the functions of the protected-record paths (AEADs, the deterministic provider's
# AEAD, the sealer, offload, the observer) with their edges, to show the target reaches them.
# Needs the build fuzz/run.sh makes (cargo +nightly fuzz build -O).
set -euo pipefail
cd "$(dirname "$0")"
verbose=0
[ "${1:-}" = "-v" ] && { verbose=1; shift; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client client_observed server observer parse session ech api_sequence offload)
bin=target/x86_64-unknown-linux-gnu/release
root=$(cd .. && pwd)
echo "| target | inputs | crates/tlswire | crates/tlswire-crypto | vendor/rustls |"
echo "|---|---:|---:|---:|---:|"
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz/coverage.sh: no build of $t (cargo +nightly fuzz build -O $t)" >&2; exit 1; }
  dirs=()
  for d in "corpus/$t" "seeds/$t" "regressions/$t"; do [ -d "$d" ] && dirs+=("$d"); done
  inputs=$(cat <(for d in "${dirs[@]}"; do ls "$d"; done) | wc -l)
  out=$(mktemp)
  "$bin/$t" "${dirs[@]}" -runs=0 -print_coverage=1 -rss_limit_mb=4096 >"$out" 2>&1 || true
  row=$(grep -E '^(UN)?COVERED_FUNC' "$out" | sort -u | awk -v root="$root/" '
    { split($5, e, "/"); file = $NF; sub(/:[0-9]+$/, "", file); sub(root, "", file)
      for (p in want) if (index(file, want[p]) == 1) { cov[p] += e[1]; all[p] += e[2] } }
    BEGIN { want[1] = "crates/tlswire/"; want[2] = "crates/tlswire-crypto/"; want[3] = "vendor/rustls/" }
    END { for (p = 1; p <= 3; p++) printf " %d/%d (%.0f%%) |", cov[p], all[p], all[p] ? 100 * cov[p] / all[p] : 0 }')
  echo "| $t | $inputs |$row"
  if [ $verbose = 1 ]; then
    grep -E '^COVERED_FUNC' "$out" | sort -u \
      | grep -E 'tlswire-crypto/src/(aead|fuzzing|sealer|offload|platform)\.rs|tlswire/src/(observer|connection)\.rs' \
      | grep -E 'encrypt|decrypt|seal|open|offload|report_|protected|key_update|alert' \
      | awk '{ name = $6; for (i = 7; i < NF; i++) name = name " " $i; print "    " $5 "\t" name }' \
      | sed -E ':a; s/<[^<>]*(typenum|uint|bit)[^<>]*>//g; ta' | sort -u -k2 | head -80
  fi
  rm -f "$out"
done
