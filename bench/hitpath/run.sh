#!/usr/bin/env bash
# Hit-path benchmark of the gateway alone: wrk against cachearr answering one cached ~20 KB JSON
# page from memory, next to the same request sent to the simulator directly (no cache, no cost)
# as a yardstick for a bare HTTP server on this machine. The comparison with nginx and Varnish
# is bench/gateway/run.sh.
#
#   bench/hitpath/run.sh                 # DURATION=10 CONNECTIONS=64 THREADS=2
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -p cachearr >/dev/null
BIN=$CARGO_TARGET_DIR/release/cachearr
WORK=$(mktemp -d)
SIM_PORT=${SIM_PORT:-33400}
GW_PORT=${GW_PORT:-38484}
ADMIN_PORT=${ADMIN_PORT:-38485}
cleanup() { kill "${GW_PID:-}" "${SIM_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" sim --plex-listen 127.0.0.1:$SIM_PORT --no-cost --tracks 2000 --json >"$WORK/sim.json" 2>"$WORK/sim.log" &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$WORK/sim.json" ] && break; sleep 0.1; done
TOKEN=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); u=d.get("users") or d["plex"]["users"]; print(u[0]["plex_token"] if isinstance(u,list) else d["plex"]["token"])' "$WORK/sim.json")
RUST_LOG=warn "$BIN" serve --plex http://127.0.0.1:$SIM_PORT --listen 127.0.0.1:$GW_PORT \
  --admin-listen 127.0.0.1:$ADMIN_PORT --data-dir "$WORK/data" 2>"$WORK/gw.log" &
GW_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$ADMIN_PORT/health" >/dev/null && break; sleep 0.1; done
PATHQ="/library/sections/1/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=15"
HDRS=(-H "X-Plex-Token: $TOKEN" -H "Accept: application/json")
SIZE=$(curl -s "${HDRS[@]}" "http://127.0.0.1:$GW_PORT$PATHQ" | wc -c)
curl -s -D - -o /dev/null "${HDRS[@]}" "http://127.0.0.1:$GW_PORT$PATHQ" | grep -i '^x-cache'
run() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${HDRS[@]}" "$1" 2>&1 |
    awk -v name="$2" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
      END {printf "| %s | %.0f | %s | %s |\n", name, rps, p50, p99}'
}
echo "body: $SIZE bytes, $CONNECTIONS connections, $THREADS wrk threads, ${DURATION}s each"
echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
run "http://127.0.0.1:$GW_PORT$PATHQ" "cachearr (memory hit)"
run "http://127.0.0.1:$SIM_PORT$PATHQ" "simulator direct (no cost)"
run "http://127.0.0.1:$GW_PORT$PATHQ" "cachearr (memory hit, again)"
