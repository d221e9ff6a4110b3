#!/usr/bin/env bash
# Runs BoringSSL's BoGo conformance suite against tlswire's shim (src/main.rs) and checks the
# result against the recorded one (summary.py): every failure must be a known one
# (known-failures.txt, each a finding of issue 13 still open) and the pass count at least the
# floor. Prints pass / fail / unimplemented and the failures by the error BoGo expected.
#   tests/bogo/run.sh [-test 'GLOB;GLOB']        (extra flags go to the runner)
# The runner comes from ../shared/bogo beside the repository (BoringSSL's sources, built offline
# by its build-runner.sh); TLSWIRE_BOGO_DIR names another place.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
bogo=${TLSWIRE_BOGO_DIR:-$root/../shared/bogo}
if [[ ! -x "$bogo/build-runner.sh" ]]; then
  echo "bogo: BoringSSL's runner sources are not at $bogo (set TLSWIRE_BOGO_DIR)" >&2
  exit 1
fi
out=$target/bogo
mkdir -p "$out"
# The Go it builds with, hash-pinned, in the place build-runner.sh looks for it.
"$here/go-venv.sh" "$out/work/go"
bash "$bogo/build-runner.sh" "$out/runner" "$out/work" >&2
(cd "$root" && cargo build --locked -q -p tlswire-bogo-shim)
resources=$out/work/src/ssl/test/runner
start=$(date +%s)
# The runner exits non-zero when any test fails; summary.py decides.
(cd "$resources" && "$out/runner" -shim-path "$target/debug/tlswire-bogo-shim" -shim-config "$here/config.json" \
  -allow-unimplemented -num-workers "$(nproc)" -json-output "$out/results.json" "$@" >"$out/log.txt" 2>&1) || true
echo "bogo: $(( $(date +%s) - start )) s; full log: $out/log.txt" >&2
python3 "$here/summary.py" "$out/results.json" "$out/log.txt" "$here/known-failures.txt" "$here/floor.txt"
