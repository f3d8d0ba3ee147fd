#!/usr/bin/env bash
# Simulator benchmarks: library generation (time, memory) and small paged reads per second.
# Needs wrk (apt-get install wrk). Results go to docs/benchmarks.md "## Simulator".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cachearr-sim --example sim_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/sim_bench"
echo "== generation"
"$BIN" generate 10000 100000 1000000

TRACKS="${TRACKS:-100000}"
echo "== paged reads against a ${TRACKS}-track library, zero cost model (wrk -t2 -c32 -d10s, median of 3)"
"$BIN" serve "$TRACKS" > /tmp/sim-bench-serve.txt &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do [ -s /tmp/sim-bench-serve.txt ] && break; sleep 0.1; done
read -r URL TOKEN < /tmp/sim-bench-serve.txt
run() {
  local name="$1" path="$2"
  local rates=()
  for _ in 1 2 3; do
    rates+=("$(wrk -t2 -c32 -d10s -H "X-Plex-Token: $TOKEN" "$URL$path" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p | xargs printf "| %s | %s req/s |\n" "$name"
}
echo "| request | requests per second (median of 3) |"
echo "|---|---:|"
run "GET /identity (no work)" "/identity"
run "50 tracks, XML, paged by query" "/library/sections/1/all?type=10&X-Plex-Container-Start=5000&X-Plex-Container-Size=50"
run "1 track metadata" "/library/metadata/5000"
