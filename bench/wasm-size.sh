#!/usr/bin/env bash
# Size of tlswire's core (with its RustCrypto provider) compiled to wasm: raw, gzip -9, brotli -11.
# Builds bench/wasm-probe (a cdylib that uses the whole core API) with the `wasm-size` profile
# (opt-level z, LTO, one codegen unit, panic=abort), with and without bundled Mozilla roots.
# wasm-opt and wasm-bindgen are not applied here (the npm package build does that).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import brotli' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check --require-hashes -r bench/requirements.txt
printf '%-24s %-26s %10s %10s %10s\n' target variant raw gzip brotli
for target in wasm32-unknown-unknown wasm32-wasip2; do
  for variant in "no bundled roots" "bundled roots"; do
    features=()
    [ "$variant" = "bundled roots" ] && features=(--features webpki-roots)
    cargo build -q --locked --profile wasm-size --target "$target" -p tlswire-wasm-probe "${features[@]}"
    wasm="${CARGO_TARGET_DIR:-target}/$target/wasm-size/tlswire_wasm_probe.wasm"
    python3 - "$wasm" "$target" "$variant" <<'PY'
import brotli, gzip, sys
path, target, variant = sys.argv[1:]
data = open(path, "rb").read()
print(f"{target:<24} {variant:<26} {len(data):>10} {len(gzip.compress(data, 9)):>10} {len(brotli.compress(data, quality=11)):>10}")
PY
  done
done
