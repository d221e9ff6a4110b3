#!/usr/bin/env bash
# Size of the npm package as a browser downloads it: the wasm engine, wasm-bindgen's glue and
# the API's modules (src/), raw / gzip -9 / brotli -11 (Node's zlib), without and with `tlswire/roots`;
# then the server's engine, which only accept() loads (not in the totals).
# Builds the package first (npm/scripts/build.sh: size profile, wasm-bindgen, wasm-opt -Oz).
set -euo pipefail
cd "$(dirname "$0")/../npm"
bash scripts/build.sh >/dev/null 2>&1 || bash scripts/build.sh
node --input-type=module - <<'JS'
import { readFileSync, readdirSync } from "node:fs";
// The API's modules: every .js under src/ (workerd.js, the Workers entry, is not downloaded by a browser).
const api = readdirSync("src", { recursive: true }).filter((f) => f.endsWith(".js") && f !== "workerd.js").sort().map((f) => `src/${f}`);
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
const files = [
  ["engine  dist/wasm/tlswire_bg.wasm", "dist/wasm/tlswire_bg.wasm"],
  ["glue    dist/wasm/tlswire.js", "dist/wasm/tlswire.js"],
  ["api     src/**/*.js", api],
  ["roots   dist/roots.js (tlswire/roots)", "dist/roots.js"],
];
const size = (data) => [
  data.length,
  gzipSync(data, { level: 9 }).length,
  brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }).length,
];
const row = (name, [raw, gz, br]) => console.log(`${name.padEnd(40)} ${String(raw).padStart(9)} ${String(gz).padStart(9)} ${String(br).padStart(9)}`);
console.log(`${"file".padEnd(40)} ${"raw".padStart(9)} ${"gzip".padStart(9)} ${"brotli".padStart(9)}`);
const sizes = files.map(([name, path]) => {
  const s = size(Buffer.concat([path].flat().map((p) => readFileSync(p))));
  row(name, s);
  return s;
});
const sum = (rows) => rows.reduce((a, r) => a.map((v, i) => v + r[i]), [0, 0, 0]);
row("total without roots", sum(sizes.slice(0, 3)));
row("total with roots", sum(sizes));
try {
  row("server  dist/wasm-server/tlswire_bg.wasm", size(readFileSync("dist/wasm-server/tlswire_bg.wasm")));
} catch {} // before the engines were split
JS
