#!/usr/bin/env bash
# A Kometa-style pass and a library-walking tool (TOOLS: kometa,overseerr; plexkodiconnect) through
# cachearr in its default configuration, repeated after each of DELAYS (8,60: seconds after the
# first pass, real waits; `day`: the simulator's and the gateway's clocks moved a day on, the
# gateway in its measurement mode `serve --movable-clock`, with CHANGES (3) items renamed
# first), each run's server requests as a share of the pass direct, the tool's and cachearr's
# own apart (bench/tools/repeat.py says more). Sizes as bench/tools/run.sh: TRACKS (5000),
# MOVIES (200), SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/debug/cachearr bench/tools/repeat.sh
#   TOOLS=kometa DELAYS=8,60,1200,day CACHEARR=… bench/tools/repeat.sh    # 20 minutes, a day
#   TOOLS=plexkodiconnect DELAYS=8,60,1200,day CACHEARR=… bench/tools/repeat.sh
#   FEED=off …                 # the labelled variant: probes and sampling off
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-repeat
source bench/tools/env.sh
echo "==> logs and repeat.json in $WORK" >&2
"$PY" bench/tools/repeat.py
