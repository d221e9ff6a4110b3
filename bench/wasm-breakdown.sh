#!/usr/bin/env bash
# What the npm engine's wasm is made of: code and data bytes per crate (twiggy's shallow sizes,
# symbol names taken before wasm-bindgen/wasm-opt strip them, so percentages are the useful part).
# Installs twiggy 0.7.0 if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v twiggy >/dev/null || cargo install -q twiggy --version 0.7.0 --locked
CARGO_PROFILE_WASM_SIZE_STRIP=false \
  cargo build -q --locked -p tlswire-wasm --target wasm32-unknown-unknown --profile wasm-size
twiggy top -n 1000000 -f csv "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-size/tlswire_wasm.wasm" | python3 -c '
import collections, csv, re, sys
by = collections.Counter()
for row in csv.DictReader(sys.stdin):
    name, size = row["Name"], int(row["ShallowSize"])
    if name.startswith(("custom section", "export", "import", "type[", "table[", "elem[")) or "subsection" in name:
        continue  # names, debug info, wasm-bindgen descriptors: removed by the package build
    m = re.match(r"^<*&?(?:mut )?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
    if name.startswith("data["):
        key = "data (strings, tables)"
    elif re.match(r"^(engine|config|context)_", name):
        key = "tlswire_wasm exports (core inlined)"
    elif re.match(r"^<.*as (core|alloc)\b", name) or name.startswith("<char>"):
        key = "trait impls of core/alloc (Debug, Display, ...)"
    else:
        key = m.group(1) if m else "other"
    by[key] += size
total = sum(by.values())
print("crate".ljust(44), "bytes".rjust(8), "share".rjust(6))
for crate, size in by.most_common(24):
    print(f"{crate:<44} {size:>8} {100 * size / total:>5.1f}%")
print("total".ljust(44), str(total).rjust(8))
'
