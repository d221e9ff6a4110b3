#!/usr/bin/env bash
# Builds the tlswire component (wasm32-wasip2, size profile) and transpiles it with jco into dist/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -x "$here/node_modules/.bin/jco" ] || (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
(cd "$root" && cargo build -q --locked -p tlswire-component --target wasm32-wasip2 --profile wasm-size)
rm -rf "$here/dist"
"$here/node_modules/.bin/jco" transpile "$root/target/wasm32-wasip2/wasm-size/tlswire_component.wasm" \
  --name tlswire --out-dir "$here/dist" --quiet
