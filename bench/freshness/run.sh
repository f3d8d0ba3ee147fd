#!/usr/bin/env bash
# How stale an answer through cachearr can be: changes made directly on the simulator (a
# rename with the socket up, behind a silent socket, a restart that forgot play state, a play
# marked on the server) read through a gateway with the default configuration until they
# show. Figures go to docs/benchmarks.md "Freshness".
#
#   bench/freshness/run.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-5}"
cargo build --release -q -p cachearr-gateway --example freshness_bench
for server in plex jellyfin; do
    target/release/examples/freshness_bench "$server" "$trials"
done
