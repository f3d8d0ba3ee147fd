#!/usr/bin/env bash
# Several tools' first passes at the same time through one cold cachearr, counting what the
# server is asked by route (the simulator's /_sim/stats): walks that overlap must be batched
# as each one is alone. MIXED picks the tools (kometa,overseerr,plexkodiconnect: replays of
# bench/tools/run.sh, each in its own thread), USER_KIND the user they all run as (owner),
# ALONE=1 adds each tool alone through a cold gateway, PROBES=1 keeps the change feed's
# sampled revalidations and play-state probes on (off: the counts are the passes' own). Each
# tool also runs direct, alone, and every answer through cachearr is compared with its
# direct one. Sizes as bench/tools/run.sh (TRACKS, MOVIES, SHOWS, SEED).
#
#   bench/tools/mixed.sh                                   # release build; Markdown on stdout
#   CACHEARR=$PWD/target/debug/cachearr ALONE=1 bench/tools/mixed.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-mixed
source bench/tools/env.sh
echo "==> logs and mixed.json in $WORK" >&2
"$PY" bench/tools/mixed.py
