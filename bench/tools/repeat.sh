#!/usr/bin/env bash
# A Kometa-style pass and a library-walking tool (TOOLS: kometa,overseerr) through cachearr in
# its default configuration, repeated DELAYS seconds (8,60) after the first pass, each run's
# server requests as a share of the pass direct, the tool's and cachearr's own apart
# (bench/tools/repeat.py says more; neither the simulator nor cachearr has a clock to move on,
# so longer delays are real waits and "a day later" is not measured). Sizes as
# bench/tools/run.sh: TRACKS (5000), MOVIES (200), SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/release/cachearr bench/tools/repeat.sh
#   DELAYS=8,60,1200 KIND=shared CACHEARR=… bench/tools/repeat.sh   # and 20 minutes later
#   FEED=off …                 # the labelled variant: probes and sampling off
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-repeat
source bench/tools/env.sh
echo "==> logs and repeat.json in $WORK" >&2
"$PY" bench/tools/repeat.py
