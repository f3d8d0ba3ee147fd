#!/usr/bin/env bash
# Three `cachearr serve` on one Redis against one: their starts' server requests and a
# Tautulli-style poller spread over them for MINUTES (10) each, server requests a minute with
# the poller's and the gateways' own apart (bench/tools/gateways3.py says more). A private
# redis-server on a free port unless REDIS_URL. Sizes as bench/tools/run.sh: TRACKS (5000),
# MOVIES (200), SHOWS (30), SEED (4).
#
#   CACHEARR=$PWD/target/release/cachearr bench/tools/gateways3.sh
#   MINUTES=3 CACHEARR=$PWD/target/debug/cachearr bench/tools/gateways3.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK_NAME=cachearr-gateways3
source bench/tools/env.sh
command -v redis-server >/dev/null || { echo "no redis-server (scripts/setup-test-env installs it)" >&2; exit 1; }
echo "==> logs and gateways3.json in $WORK" >&2
"$PY" bench/tools/gateways3.py
