#!/usr/bin/env bash
# Jellyfin simulator: small reads per second against a 100,000-track library, zero cost model.
# Needs wrk (apt-get install wrk). Results go to docs/benchmarks.md "## Simulator".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cachearr-sim --example sim_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/sim_bench"

TRACKS="${TRACKS:-100000}"
echo "== Jellyfin reads against a ${TRACKS}-track library, zero cost model (wrk -t2 -c32 -d10s, median of 3)"
"$BIN" serve-jellyfin "$TRACKS" > /tmp/sim-bench-jellyfin.txt &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 300); do [ -s /tmp/sim-bench-jellyfin.txt ] && break; sleep 0.1; done
read -r URL TOKEN VIEW ITEM < /tmp/sim-bench-jellyfin.txt
run() {
  local name="$1" path="$2"
  local rates=()
  # Warm-up: the first whole-library listing sorts the library once (then it is cached).
  curl -s -o /dev/null -H "X-Emby-Token: $TOKEN" "$URL$path"
  for _ in 1 2 3; do
    rates+=("$(wrk -t2 -c32 -d10s -H "X-Emby-Token: $TOKEN" "$URL$path" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p | xargs printf "| %s | %s req/s |\n" "$name"
}
echo "| request | requests per second (median of 3) |"
echo "|---|---:|"
run "GET /System/Info/Public (no work)" "/System/Info/Public"
run "50 tracks of the music view, sorted, paged" "/Items?ParentId=$VIEW&IncludeItemTypes=Audio&Recursive=true&SortBy=SortName&StartIndex=5000&Limit=50"
run "1 track" "/Items/$ITEM"
