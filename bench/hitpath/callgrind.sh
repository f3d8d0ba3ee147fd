#!/usr/bin/env bash
# User-space instructions per cached hit, counted by callgrind: repeatable whatever else the
# machine is doing (timings are not; see docs/benchmarks.md "Gateway", "Where a hit's time goes").
#
#   bench/hitpath/callgrind.sh [CACHEARR_BIN [BARE_BIN]]
#
# cachearr runs under `valgrind --tool=callgrind --instr-atstart=no` with one worker thread in
# front of the simulator; after warm-up, instrumentation is switched on for a wrk run against
# one cached 20 KB JSON page and the instruction total is divided by the requests served. The
# same is done for the bare hyper floor (crates/gateway/examples/bare_hit.rs) when given.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/cachearr}
BARE=${2:-}
SECS=${SECS:-5}
for tool in valgrind callgrind_control callgrind_annotate wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool (Debian: valgrind, wrk)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/cachearr-callgrind.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
source bench/lib.sh
WAIT_HTTP_SECS=60 # valgrind starts the gateway slowly
# Instructions per request of a process under callgrind, for one wrk run on URL with headers.
measure() { # PID OUTFILE_PREFIX URL HEADER...
  local pid=$1 prefix=$2 url=$3; shift 3
  local h=(); for x in "$@"; do h+=(-H "$x"); done
  wrk -t1 -c8 -d2s "${h[@]}" "$url" >/dev/null
  callgrind_control -i on "$pid" >/dev/null
  local out; out=$(wrk -t1 -c8 -d"${SECS}s" "${h[@]}" "$url")
  callgrind_control -i off "$pid" >/dev/null
  callgrind_control -d "$pid" >/dev/null
  sleep 1
  local reqs ir
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  ir=$(for f in "$prefix"*; do callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; done | paste -sd+ | bc)
  echo "$reqs requests, $ir instructions, $((ir / reqs)) per request"
}

SP=$(free_port); CP=$(free_port); AP=$(free_port)
"$BIN" sim --plex-listen "127.0.0.1:$SP" --tracks 2000 --movies 50 --shows 5 --seed 7 --latency-ms 1 \
  --item-cost-us 0 --scan-cost-us 0 >"$W/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$SP/identity"
{
  bench_cachearr_toml "$W/data" "$AP" "$SP" "$CP"
  printf '[index]\nenabled = false\n'
} >"$W/cachearr.toml"
RUST_LOG=error TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$W/cachearr.cg" "$BIN" serve --config "$W/cachearr.toml" >"$W/cachearr.log" 2>&1 &
CA=$!; PIDS+=("$CA")
wait_http "http://127.0.0.1:$AP/health"
TOKEN=$(sim_owner_token "$SP")
MUSIC=$(sim_music_section "$SP" "$TOKEN")
HEADERS=("X-Plex-Token: $TOKEN" "Accept: application/json" "X-Plex-Container-Start: 0" "X-Plex-Container-Size: 16")
URL="http://127.0.0.1:$CP/library/sections/$MUSIC/all?type=10"
for _ in 1 2 3; do curl -fs -o /dev/null -H "${HEADERS[0]}" -H "${HEADERS[1]}" -H "${HEADERS[2]}" -H "${HEADERS[3]}" "$URL"; done
echo "cachearr ($BIN), cached $(curl -fs -H "${HEADERS[0]}" -H "${HEADERS[1]}" -H "${HEADERS[2]}" -H "${HEADERS[3]}" "$URL" | wc -c)-byte hit: $(measure "$CA" "$W/cachearr.cg" "$URL" "${HEADERS[@]}")"

if [ -n "$BARE" ]; then
  BP=$(free_port)
  TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/bare.cg" \
    "$BARE" "127.0.0.1:$BP" 20564 >"$W/bare.log" 2>&1 &
  BA=$!; PIDS+=("$BA")
  wait_http "http://127.0.0.1:$BP/"
  echo "bare hyper floor ($BARE): $(measure "$BA" "$W/bare.cg" "http://127.0.0.1:$BP/library/sections/$MUSIC/all?type=10" "${HEADERS[@]}")"
fi
