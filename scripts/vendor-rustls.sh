#!/usr/bin/env bash
# vendor/rustls is rustls as published on crates.io plus vendor/rustls.patch (client sessions
# that encode to bytes: a backport of rustls main's serializable client sessions, in no 0.23
# release; early data for the unbuffered client; RFC 8449 record_size_limit). This rebuilds that tree from the published crate and checks it against vendor/rustls.
#   scripts/vendor-rustls.sh           check: vendor/rustls is exactly crate + patch (exit 1 if not)
#   scripts/vendor-rustls.sh --update  rewrite vendor/rustls from crate + patch (after a version
#                                      or checksum change below, or an edit of the patch)
#   scripts/vendor-rustls.sh --regenerate  rewrite vendor/rustls.patch from an edited vendor/rustls
# When rustls 0.24 (which has the API) is adopted, vendor/ and the [patch] sections go.
set -euo pipefail
version=0.23.46
sha256=48e13bd8c0e9365c43cfa5c9e8f9ad49d3c8444926c9aac819e0e4dc503c8fdf # Cargo.lock's checksum for it
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/scripts/unpack-crate.sh" rustls "$version" "$sha256" "$work"
tree=$work/rustls-$version
rm -f "$tree/.cargo-ok" "$tree/Cargo.lock"
if [[ "${1:-}" == "--regenerate" ]]; then
  # git's diff of the published tree (a/) against the edited one (b/), as the patch is kept.
  cp -r "$tree" "$work/a"
  cp -r "$root/vendor/rustls" "$work/b"
  (cd "$work" && git diff --no-index --no-prefix --src-prefix=a/ --dst-prefix=b/ --full-index a b) \
    | sed -E 's#^(diff --git |--- |\+\+\+ )a/a/#\1a/#; s#^(diff --git .* )b/b/#\1b/#; s#^\+\+\+ b/b/#+++ b/#' \
    | sed -E 's#^index ([0-9a-f]{7})[0-9a-f]*\.\.([0-9a-f]{7})[0-9a-f]*#index \1..\2#' >"$root/vendor/rustls.patch" || true
  echo "vendor/rustls.patch: regenerated from vendor/rustls against rustls $version"
  exit 0
fi
(cd "$tree" && patch -s -p1 <"$root/vendor/rustls.patch")
if [[ "${1:-}" == "--update" ]]; then
  rm -rf "$root/vendor/rustls"
  cp -r "$tree" "$root/vendor/rustls"
  echo "vendor/rustls: rustls $version + vendor/rustls.patch"
elif diff -r "$tree" "$root/vendor/rustls" >"$work/diff"; then
  echo "vendor/rustls: rustls $version (sha256 $sha256) + vendor/rustls.patch, exactly"
else
  cat "$work/diff" >&2
  echo "vendor/rustls differs from rustls $version + vendor/rustls.patch (scripts/vendor-rustls.sh --update?)" >&2
  exit 1
fi
