#!/usr/bin/env bash
# Unpacks crate NAME VERSION as published on crates.io into DIR/NAME-VERSION, after checking the
# .crate file against SHA256 (crates.io's checksum): from cargo's download cache when it is there,
# else from crates.io. Used by scripts/vendor-rustls.sh and npm/scripts/build.sh.
#   scripts/unpack-crate.sh NAME VERSION SHA256 DIR
set -euo pipefail
name=${1:?usage: unpack-crate.sh NAME VERSION SHA256 DIR} version=${2:?} sha256=${3:?} dir=${4:?}
crate=$dir/$name-$version.crate
cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -1 || true)
if [[ -n "$cached" ]]; then
  cp "$cached" "$crate"
else
  curl -sSfL -o "$crate" "https://static.crates.io/crates/$name/$name-$version.crate"
fi
echo "$sha256  $crate" | sha256sum -c --quiet -
tar -xzf "$crate" -C "$dir"
rm -f "$crate"
