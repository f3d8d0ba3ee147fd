#!/usr/bin/env bash
# User-space instructions per cached hit, counted by callgrind: repeatable whatever else the
# machine is doing (timings are not; see docs/benchmarks.md "Gateway", "Where a hit's time goes").
#
#   bench/hitpath/callgrind.sh [CACHEARR_BIN [BARE_BIN]]
#   BURST=1 bench/hitpath/callgrind.sh [CACHEARR_BIN [BARE_BIN]]   # and per connection of a burst
#   COLD=1 bench/hitpath/callgrind.sh [CACHEARR_BIN]                # and per waiter of a cold burst
#   CACHE_SIM=1 bench/hitpath/callgrind.sh [CACHEARR_BIN [BARE_BIN]] # and first-level data cache
#                                                                    # misses per hit (simulated)
#
# cachearr runs under `valgrind --tool=callgrind --instr-atstart=no` with one worker thread in
# front of the simulator; after warm-up, instrumentation is switched on for a wrk run against
# one cached 20 KB JSON page and the instruction total is divided by the requests served. The
# same is done for the bare hyper floor (crates/gateway/examples/bare_hit.rs) when given.
# With BURST=1, also the instructions per connection of a 1,000-connection burst on a cached
# key, the request of bench/gateway/run.sh's burst (bench/gateway/burst.rs: each connection
# accepted, asked one request, answered and closed), the work a connection storm costs beyond
# a kept connection's repeated hits; then per request of the answer phase alone (the burst's
# latency: its connections are open before it starts). The floor answers the same body size.
# With COLD=1, a second gateway in front of a simulator that takes 15 s per request counts the
# release of a cold burst: 1,000 connections ask for one key no one has asked for, and
# instrumentation runs from when all of them wait on the one upstream fetch until every answer
# is read; per request, that is what the fill and each released waiter cost (the cold burst's
# latency past the upstream), to set beside the cached burst's answer phase.
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
# With CACHE_SIM=1, callgrind also simulates the caches (a 32 KB first-level data cache here):
# misses there are what a hit waits on beyond its instructions, which counts alone do not show.
CG_OPTS=(--tool=callgrind --instr-atstart=no)
if [ -n "${CACHE_SIM:-}" ]; then CG_OPTS+=(--cache-sim=yes); fi
# The first-level data cache's read and write misses of the dumps FILE..., summed.
cg_d1_misses() {
  for f in "$@"; do callgrind_annotate "$f" 2>/dev/null | grep 'PROGRAM TOTALS'; done | python3 -c '
import re, sys
read = write = 0
for line in sys.stdin:
    v = [int(t.replace(",", "")) for t in re.sub(r"\([^)]*\)", "", line).split()[:9]]
    read += v[4]; write += v[5]
print(read, write)'
}
# The instruction total of one callgrind dump.
cg_total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
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
  ir=$(for f in "$prefix"*; do cg_total "$f"; done | paste -sd+ | bc)
  local misses=""
  if [ -n "${CACHE_SIM:-}" ]; then
    local d1r d1w
    read -r d1r d1w < <(cg_d1_misses "$prefix"*)
    misses="; first-level data cache misses per request: $((d1r / reqs)) read, $((d1w / reqs)) write"
  fi
  echo "$reqs requests, $ir instructions, $((ir / reqs)) per request$misses"
}
# Instructions per connection of one 1,000-connection burst (after a warm-up burst), from the
# dump this run adds: first the whole of each connection (accept, one request, answer, close),
# then a second burst counted only between its accepts and its close (the answer phase, which
# is what the burst's latency measures; bench/gateway/burst.rs opens every connection first).
cg_new_dump() { # PREFIX COUNT_BEFORE: the dump written after COUNT_BEFORE others
  ls -v "$1".* | sed -n "$(($2 + 1))p"
}
measure_burst() { # PID OUTFILE_PREFIX HOST:PORT PATH HEADER...
  local pid=$1 prefix=$2 addr=$3 path=$4; shift 4
  "$W/burst" "$addr" "$path" 1000 "$@" >/dev/null
  local before; before=$(ls "$prefix".* 2>/dev/null | wc -l)
  callgrind_control -i on "$pid" >/dev/null
  # Valgrind slows the gateway ~50-fold: a long settle lets it accept every connection first.
  local out; out=$(BURST_SETTLE_MS=8000 "$W/burst" "$addr" "$path" 1000 "$@")
  sleep 3 # the connections' close
  callgrind_control -i off "$pid" >/dev/null
  callgrind_control -d "$pid" >/dev/null
  sleep 1
  local ir; ir=$(cg_total "$(cg_new_dump "$prefix" "$before")")
  echo "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])') answered, $ir instructions, $((ir / 1000)) per connection"
  # The answer phase: instrumentation from half a second before the end of a 12 s settle until
  # the burst has printed (every answer read), before its held connections close. Every
  # connection must have been accepted by then (the listener's accept queue, ss's Recv-Q, is
  # empty): an accept counted here would be counted as answering.
  before=$(ls "$prefix".* 2>/dev/null | wc -l)
  BURST_SETTLE_MS=12000 BURST_HOLD_MS=6000 "$W/burst" "$addr" "$path" 1000 "$@" >"$W/phase.json" &
  local bp=$!
  sleep 11.5
  local queued; queued=$(ss -Hltn "sport = :${addr##*:}" | awk '{print $2}')
  if [ "${queued:-0}" != 0 ]; then
    echo "  $queued connections not yet accepted 11.5 s into the settle: the answer phase would count accepts" >&2
    wait "$bp"; return 1
  fi
  count_until_printed "$pid" "$prefix" "$before" "$W/phase.json" "$bp" "  answer phase only: "
}
# Counts a held burst running in the background (BURST_PID, printing to OUT) from now until it
# has printed, and prints LABEL and "N answered, I instructions, I/1000 per request" from the
# dump this adds after BEFORE others. Not in a subshell: it waits for the burst, this shell's
# child.
count_until_printed() { # PID OUTFILE_PREFIX BEFORE OUT BURST_PID [LABEL]
  local pid=$1 prefix=$2 before=$3 out=$4 bp=$5 label=${6:-}
  callgrind_control -i on "$pid" >/dev/null
  while [ ! -s "$out" ]; do sleep 0.1; done
  callgrind_control -i off "$pid" >/dev/null
  callgrind_control -d "$pid" >/dev/null
  wait "$bp"
  sleep 1
  local ir; ir=$(cg_total "$(cg_new_dump "$prefix" "$before")")
  echo "$label$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$out") answered, $ir instructions, $((ir / 1000)) per request"
}
# Instructions per request of a cold burst's release (COLD=1): a warm-up cold burst on one key,
# then one on another, counted from 8 s after its requests went out (each read and waiting on
# the fetch, which takes 15 s) until the burst has printed, before its connections close.
measure_cold_burst() { # PID OUTFILE_PREFIX HOST:PORT PATH_WARMUP PATH HEADER...
  local pid=$1 prefix=$2 addr=$3 warm=$4 path=$5; shift 5
  BURST_SETTLE_MS=12000 "$W/burst" "$addr" "$warm" 1000 "$@" >/dev/null
  local before; before=$(ls "$prefix".* 2>/dev/null | wc -l)
  BURST_SETTLE_MS=12000 BURST_HOLD_MS=6000 "$W/burst" "$addr" "$path" 1000 "$@" >"$W/cold.json" &
  local bp=$!
  sleep 20
  local queued; queued=$(ss -Hltn "sport = :${addr##*:}" | awk '{print $2}')
  if [ "${queued:-0}" != 0 ] || [ -s "$W/cold.json" ]; then
    echo "  the cold burst was not all waiting 8 s after it was sent (accept queue $queued)" >&2
    wait "$bp"; return 1
  fi
  count_until_printed "$pid" "$prefix" "$before" "$W/cold.json" "$bp"
}
if [ -n "${BURST:-}${COLD:-}" ]; then rustc -O -o "$W/burst" bench/gateway/burst.rs; fi

# Starts the gateway under callgrind (instrumentation off until asked, one worker) in front of
# the simulator on SIM_PORT, without the library index (its crawl would run during the counts);
# NAME names its config, data directory, log and profile in $W. Sets CG_PID.
start_cg_gateway() { # NAME SIM_PORT ADMIN_PORT LISTEN_PORT
  { bench_cachearr_toml "$W/data-$1" "$3" "$2" "$4"; printf '[index]\nenabled = false\n'; } >"$W/$1.toml"
  RUST_LOG=error TOKIO_WORKER_THREADS=1 valgrind "${CG_OPTS[@]}" \
    --callgrind-out-file="$W/$1.cg" "$BIN" serve --config "$W/$1.toml" >"$W/$1.log" 2>&1 &
  CG_PID=$!
  PIDS+=("$CG_PID")
  wait_http "http://127.0.0.1:$3/health"
}

SP=$(free_port); CP=$(free_port); AP=$(free_port)
ON_CLIENT=() # unpinned: callgrind counts the gateway's instructions, not time
start_bench_sim "$BIN" "$SP" 1 "$W/sim.log"
start_cg_gateway cachearr "$SP" "$AP" "$CP"
CA=$CG_PID
TOKEN=$(sim_owner_token "$SP")
MUSIC=$(sim_music_section "$SP" "$TOKEN")
HEADERS=("X-Plex-Token: $TOKEN" "Accept: application/json" "X-Plex-Container-Start: 0" "X-Plex-Container-Size: 16")
URL="http://127.0.0.1:$CP/library/sections/$MUSIC/all?type=10"
for _ in 1 2 3; do curl -fs -o /dev/null -H "${HEADERS[0]}" -H "${HEADERS[1]}" -H "${HEADERS[2]}" -H "${HEADERS[3]}" "$URL"; done
echo "cachearr ($BIN), cached $(curl -fs -H "${HEADERS[0]}" -H "${HEADERS[1]}" -H "${HEADERS[2]}" -H "${HEADERS[3]}" "$URL" | wc -c)-byte hit: $(measure "$CA" "$W/cachearr.cg" "$URL" "${HEADERS[@]}")"
if [ -n "${BURST:-}" ]; then
  # The request of bench/gateway/run.sh's burst: an album's track listing (~12 KB), with a token
  # and Accept only.
  ALBUM=$(sim_albums "$SP" "$TOKEN" "$MUSIC" 1)
  BURST_PATH="/library/metadata/$ALBUM/children"
  BURST_HEADERS=("${HEADERS[0]}" "${HEADERS[1]}")
  curl -fs -o /dev/null -H "${HEADERS[0]}" -H "${HEADERS[1]}" "http://127.0.0.1:$CP$BURST_PATH"
  echo "cachearr, 1,000-connection burst on a cached $(curl -fs -H "${HEADERS[0]}" -H "${HEADERS[1]}" "http://127.0.0.1:$CP$BURST_PATH" | wc -c)-byte track listing: $(measure_burst "$CA" "$W/cachearr.cg" "127.0.0.1:$CP" "$BURST_PATH" "${BURST_HEADERS[@]}")"
fi

if [ -n "${COLD:-}" ]; then
  SP2=$(free_port); CP2=$(free_port); AP2=$(free_port)
  start_bench_sim "$BIN" "$SP2" 15000 "$W/sim-slow.log"
  start_cg_gateway cold "$SP2" "$AP2" "$CP2"
  CA2=$CG_PID
  TOKEN2=$(sim_owner_token "$SP2")
  # Two albums the warm gateway never asked for (the simulator takes 15 s for each lookup here).
  read -r _ COLD_WARM COLD_KEY < <(sim_albums "$SP2" "$TOKEN2" "$(sim_music_section "$SP2" "$TOKEN2")" 3)
  echo "cachearr, release of a 1,000-connection cold burst (15 s upstream) on a track listing: $(measure_cold_burst "$CA2" "$W/cold.cg" "127.0.0.1:$CP2" \
    "/library/metadata/$COLD_WARM/children" "/library/metadata/$COLD_KEY/children" "X-Plex-Token: $TOKEN2" "Accept: application/json")"
fi

if [ -n "$BARE" ]; then
  BP=$(free_port)
  TOKIO_WORKER_THREADS=1 valgrind "${CG_OPTS[@]}" --callgrind-out-file="$W/bare.cg" \
    "$BARE" "127.0.0.1:$BP" 20564 >"$W/bare.log" 2>&1 &
  BA=$!; PIDS+=("$BA")
  wait_http "http://127.0.0.1:$BP/"
  echo "bare hyper floor ($BARE): $(measure "$BA" "$W/bare.cg" "http://127.0.0.1:$BP/library/sections/$MUSIC/all?type=10" "${HEADERS[@]}")"
  if [ -n "${BURST:-}" ]; then
    BP2=$(free_port)
    TOKIO_WORKER_THREADS=1 valgrind "${CG_OPTS[@]}" --callgrind-out-file="$W/bare-burst.cg" \
      "$BARE" "127.0.0.1:$BP2" "$(curl -fs -H "${HEADERS[0]}" -H "${HEADERS[1]}" "http://127.0.0.1:$CP$BURST_PATH" | wc -c)" >"$W/bare-burst.log" 2>&1 &
    BA2=$!; PIDS+=("$BA2")
    wait_http "http://127.0.0.1:$BP2/"
    echo "bare hyper floor, the same burst and body size: $(measure_burst "$BA2" "$W/bare-burst.cg" "127.0.0.1:$BP2" "$BURST_PATH" "${BURST_HEADERS[@]}")"
  fi
fi
