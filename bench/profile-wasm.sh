#!/usr/bin/env bash
# Where the wasm engine's time goes: builds the npm engine exactly as `npm run build` does but
# keeps the name section (wasm-opt -g), runs bench clients under `node --cpu-prof` against the
# side-by-side bench's server, and prints the top functions by self time for a handshake run
# and for a bulk receive.
#
#   bench/profile-wasm.sh [SCENARIO...]     (default: handshake recv)
# Needs `npm run build` in npm/ first (for wasm-opt and the cargo build it leaves behind).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; [ -n "${KEEP_PROFILE:-}" ] && cp -r "$work" "$KEEP_PROFILE"; rm -rf "$work"' EXIT
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(handshake recv)

# The engine with names: same cargo output, wasm-bindgen, wasm-opt flags plus -g.
mkdir -p "$work/npm/dist"
cp -r "$root/npm/src" "$work/npm/"
wasm-bindgen --target web --out-dir "$work/npm/dist/wasm" --out-name tlswire \
  "${CARGO_TARGET_DIR:-$root/target}/wasm32-unknown-unknown/wasm-size/tlswire_wasm.wasm"
"$root/npm/node_modules/.bin/wasm-opt" ${WASM_OPT_FLAGS:--Oz} -g --detect-features --strip-producers \
  "$work/npm/dist/wasm/tlswire_bg.wasm" -o "$work/npm/dist/wasm/tlswire_bg.wasm"

bash "$root/tests/scripts/gen-certs.sh" "$work/pki"
node "$root/bench/side-by-side/server.mjs" "$work/pki/server-ecdsa.pem" "$work/pki/server-ecdsa.key" > "$work/ports" &
server=$!
for _ in $(seq 50); do [ -s "$work/ports" ] && break; sleep 0.1; done
port=$(node -p "JSON.parse(require('fs').readFileSync('$work/ports', 'utf8')).aes128")

for scenario in "${scenarios[@]}"; do
  case $scenario in
    handshake) job="{\"scenario\":\"handshake\",\"port\":$port,\"ca\":\"$work/pki/ca.pem\",\"count\":300,\"groups\":[\"X25519\"]}" ;;
    recv) job="{\"scenario\":\"recv\",\"port\":$port,\"ca\":\"$work/pki/ca.pem\",\"bytes\":33554432}" ;;
    send) job="{\"scenario\":\"send\",\"port\":$port,\"ca\":\"$work/pki/ca.pem\",\"bytes\":33554432}" ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
  mkdir -p "$work/prof-$scenario"
  TLSWIRE_NPM="$work/npm" node --cpu-prof --cpu-prof-interval 100 --cpu-prof-dir "$work/prof-$scenario" \
    "$root/bench/side-by-side/client.mjs" tlswire "$job" > /dev/null
  echo "== $scenario: top functions by self time"
  node - "$work/prof-$scenario"/*.cpuprofile <<'JS'
const p = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const self = new Map();
const dt = p.timeDeltas.reduce((a, b) => a + b, 0) / p.samples.length;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const count = new Map();
for (const s of p.samples) count.set(s, (count.get(s) ?? 0) + 1);
let total = 0;
for (const [id, n] of count) {
  const f = byId.get(id).callFrame;
  const name = f.functionName || `(${f.url.split("/").pop() || "program"})`;
  const key = f.url.endsWith(".wasm") || f.url.startsWith("wasm://") ? `wasm ${name}` : name;
  self.set(key, (self.get(key) ?? 0) + n);
  total += n;
}
let wasm = 0;
for (const [k, v] of self) if (k.startsWith("wasm ")) wasm += v;
console.log(`samples ${total}, in wasm ${((100 * wasm) / total).toFixed(1)} %`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k.slice(0, 110)}`);
JS
done
