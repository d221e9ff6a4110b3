#!/usr/bin/env bash
# Size of the tlswire component (crates/tlswire-component, wasm32-wasip2, `wasm-size` profile:
# opt-level z, LTO, one codegen unit, panic=abort, stripped): raw / gzip -9 / brotli -11.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --locked -p tlswire-component --target wasm32-wasip2 --profile wasm-size
F=target/wasm32-wasip2/wasm-size/tlswire_component.wasm node --input-type=module -e '
import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
const data = readFileSync(process.env.F);
const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
console.log("component".padEnd(28), "raw", data.length, "gzip", gzipSync(data, { level: 9 }).length, "brotli", br);
'
