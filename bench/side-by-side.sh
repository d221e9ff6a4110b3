#!/usr/bin/env bash
# The side-by-side bench from a clean clone: installs and builds what it needs (the peers' npm
# packages, the npm engine, the native client and s_server), then runs bench/side-by-side.mjs.
#
#   bench/side-by-side.sh [--quick] [--baseline NPM_DIR] [--json FILE]
#
# --baseline: the npm/ directory of another checkout with its engine built (`npm run build`),
# benched as the "before" row in the same run (e.g. `git worktree add /tmp/base HEAD~3`).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  scripts/setup.sh
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  (cd npm && npm ci --no-audit --no-fund --loglevel=error && npm run build)
  cargo build -q --locked --release -p tlswire-bench -p tlswire-cli
} >&2 # stdout is the tables only
exec node bench/side-by-side.mjs "$@"
