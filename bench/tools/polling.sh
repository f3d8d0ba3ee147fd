#!/usr/bin/env bash
# A polling tool's first minute through cachearr with the default change feed (play-state
# probes every 15 s), as a user cachearr has never seen: Tautulli's round every PAUSE seconds
# (5), ROUNDS times (12), each round's requests that reached the server and the probes so far
# (bench/tools/polling.py says more). Sizes as bench/tools/run.sh: TRACKS (5000), MOVIES (200),
# SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/release/cachearr bench/tools/polling.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
export ROOT TRACKS=${TRACKS:-5000} MOVIES=${MOVIES:-200} SHOWS=${SHOWS:-30} SEED=${SEED:-4}
export WORK=${WORK:-$(mktemp -d /tmp/cachearr-polling.XXXXXX)}
if [ -z "${CACHEARR:-}" ]; then
  cargo build --release -p cachearr --bin cachearr >&2
  CACHEARR=$ROOT/target/release/cachearr
fi
export CACHEARR
PY=${PY:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "no $PY: run scripts/setup-test-env" >&2; exit 1; }
echo "==> logs in $WORK" >&2
"$PY" bench/tools/polling.py
