#!/usr/bin/env bash
# vendor/rustls is rustls as published on crates.io plus the patch series in vendor/patches
# (vendor/patches/series gives the order; each patch is headed by what it does, its upstream
# status and its exit path). This rebuilds that tree from the published crate and checks it
# against vendor/rustls.
#   scripts/vendor-rustls.sh                     check: vendor/rustls is exactly crate + series
#   scripts/vendor-rustls.sh --update            rewrite vendor/rustls from crate + series (after a
#                                                version or checksum change, or an edited patch)
#   scripts/vendor-rustls.sh --regenerate [NAME] rewrite the series from an edited vendor/rustls:
#                                                each change goes to the patch that touches those
#                                                lines already, a new one to the patch NAME
#                                                (scripts/rustls_series.py); then checks
# When rustls 0.24 (which has the API) is adopted, vendor/ and the [patch] sections go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
series=$root/vendor/patches
# The published crate: vendor/patches/series's `base` line, the one place its version is written.
read -r _ _ version sha256 < <(grep '^base rustls ' "$series/series")
for manifest in "$root/Cargo.toml" "$root/fuzz/Cargo.toml" "$root/fuzz/replay/Cargo.toml"; do
  asked=$(sed -nE 's/^rustls = \{ version = "([^"]+)".*/\1/p' "$manifest")
  if [[ "$asked" != "$version" ]]; then
    echo "${manifest#$root/} asks for rustls ${asked:-?}; vendor/patches/series is based on $version" >&2
    exit 1
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/scripts/unpack-crate.sh" rustls "$version" "$sha256" "$work"
tree=$work/rustls-$version
rm -f "$tree/.cargo-ok" "$tree/Cargo.lock"
if [[ "${1:-}" == "--regenerate" ]]; then
  into=()
  [[ -n "${2:-}" ]] && into=(--into "${2%.patch}.patch")
  python3 "$root/scripts/rustls_series.py" regenerate "$tree" "$root/vendor/rustls" "$series" "${into[@]}"
  echo "vendor/patches: regenerated from vendor/rustls against rustls $version"
fi
while read -r patch; do
  [[ -z "$patch" || "$patch" == \#* || "$patch" == base\ * ]] && continue
  (cd "$tree" && patch -s -p1 --no-backup-if-mismatch <"$series/$patch") || {
    echo "vendor/patches/$patch does not apply to rustls $version + the patches before it" >&2
    exit 1
  }
done <"$series/series"
if [[ "${1:-}" == "--update" ]]; then
  rm -rf "$root/vendor/rustls"
  cp -r "$tree" "$root/vendor/rustls"
  echo "vendor/rustls: rustls $version + vendor/patches"
elif diff -r "$tree" "$root/vendor/rustls" >"$work/diff"; then
  echo "vendor/rustls: rustls $version (sha256 $sha256) + vendor/patches ($(grep -c '\.patch$' "$series/series") patches), exactly"
else
  cat "$work/diff" >&2
  echo "vendor/rustls differs from rustls $version + vendor/patches (scripts/vendor-rustls.sh --update or --regenerate?)" >&2
  exit 1
fi
