#!/usr/bin/env bash
# A polling tool's first minute through cachearr with the default change feed (play-state
# probes every 15 s), as a user cachearr has never seen: Tautulli's round every PAUSE seconds
# (5), ROUNDS times (12), each round's requests that reached the server and the probes so far
# (bench/tools/polling.py says more). Sizes as bench/tools/run.sh: TRACKS (5000), MOVIES (200),
# SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/release/cachearr bench/tools/polling.sh
#   ROUNDS=36 CACHEARR=$PWD/target/release/cachearr bench/tools/polling.sh   # three minutes
#   POLL_AS=owner ROUNDS=36 …                     # as the owner (Tautulli's usual token)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-polling
source bench/tools/env.sh
echo "==> logs in $WORK" >&2
"$PY" bench/tools/polling.py
