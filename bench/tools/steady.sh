#!/usr/bin/env bash
# A dashboard poller at steady state, every PAUSE seconds (5): SERVER=plex (default) a
# Tautulli-style poller (sessions, sections, a count per section, three recently added lists),
# SERVER=jellyfin a Jellyfin dashboard (sessions, item counts, libraries, each library's
# latest items); for DIRECT_MINUTES (1) direct and MINUTES (10)
# through cachearr in its default configuration, as each user kind of AS (owner,shared); the
# server's requests a minute, the poller's and cachearr's own apart (bench/tools/steady.py
# says more). Sizes as bench/tools/run.sh: TRACKS (5000), MOVIES (200), SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/release/cachearr bench/tools/steady.sh
#   MINUTES=3 AS=owner CACHEARR=$PWD/target/debug/cachearr bench/tools/steady.sh
#   SERVER=jellyfin CACHEARR=$PWD/target/release/cachearr bench/tools/steady.sh
#   FEED=off …                 # the labelled variant: probes and sampling off
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-steady
source bench/tools/env.sh
echo "==> logs and steady.json in $WORK" >&2
"$PY" bench/tools/steady.py
