#!/usr/bin/env bash
# What building the library copy costs the server: one `cachearr serve` per server (Plex,
# Jellyfin) in front of the simulator's library (bench/tools/env.sh: TRACKS, MOVIES, SHOWS,
# SEED), started with an empty data directory and counted until the server has been asked
# nothing for a second — the crawl's listings, then the frame probes and the reads they make.
# Prints a Markdown table: items, requests, requests per 100 items, the listings, the rest by
# route.
#
#   CACHEARR=target/release/cachearr bench/tools/crawl_cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-crawl
source bench/tools/env.sh
echo "==> logs in $WORK" >&2
"$PY" bench/tools/crawl_cost.py
