#!/usr/bin/env bash
# Where a proxy's CPU goes in a 1,000-connection burst on a cached key, phase by phase:
# accepting the connections, answering the one request on each, closing them. The server's CPU
# is read from /proc/PID/task/*/schedstat (nanoseconds on the CPU, all threads) between phases;
# the burst client holds its connections open after the answers (`BURST_HOLD_MS`) so that
# answering and closing are measured apart. Side by side: cachearr (one or two builds) and nginx
# configured as in run.sh, pinned the same way (proxy on CPU 1, client and simulator on CPU 0).
#
#   bench/gateway/burst-phases.sh                      # target/release/cachearr and nginx, 7 bursts each
#   CACHEARR_BIN=/path/a CACHEARR_BIN2=/path/b BURSTS=9 bench/gateway/burst-phases.sh
#   BARE_BIN=target/release/examples/bare_hit bench/gateway/burst-phases.sh   # and the bare hyper floor
#
# Output: a Markdown table of medians per proxy: CPU per phase (ms), the burst's p99, and its
# spread (the client's own time to send the 1,000 requests).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
pin_cores
BURSTS=${BURSTS:-7}
CACHEARR=${CACHEARR_BIN:-target/release/cachearr}
[ -x "$CACHEARR" ] || { echo "no $CACHEARR: cargo build --release -p cachearr, or set CACHEARR_BIN" >&2; exit 1; }
command -v nginx >/dev/null || { echo "needs nginx (Debian: nginx-light)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/cachearr-burst-phases.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
rustc -O -o "$WORK/burst" bench/gateway/burst.rs

SIM_PORT=$(free_port)
start_bench_sim "$CACHEARR" "$SIM_PORT" 10 "$WORK/sim.log"
TOKEN=$(sim_owner_token "$SIM_PORT")
MUSIC=$(sim_music_section "$SIM_PORT" "$TOKEN")
ALBUM=$(sim_albums "$SIM_PORT" "$TOKEN" "$MUSIC" 1)
BURST_PATH="/library/metadata/$ALBUM/children"
HEADERS=("X-Plex-Token: $TOKEN" "Accept: application/json")

# Nanoseconds on the CPU so far, all threads of the given processes, in microseconds.
cpu_us() { for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{s+=$1} END {print int(s/1000)}'; }

# Runs BURSTS bursts against PORT, reading the CPU of PIDS; prints one line per burst:
# accept_us answer_us close_us p99_ms spread_ms
phases() { # PORT PID...
  local port=$1; shift
  curl -fs -o /dev/null -H "${HEADERS[0]}" -H "${HEADERS[1]}" "http://127.0.0.1:$port$BURST_PATH"
  "${ON_CLIENT[@]}" "$WORK/burst" "127.0.0.1:$port" "$BURST_PATH" 1000 "${HEADERS[@]}" >/dev/null # warm-up
  for _ in $(seq 1 "$BURSTS"); do
    rm -f "$WORK/out.json"
    local a b c d
    a=$(cpu_us "$@")
    BURST_SETTLE_MS=800 BURST_HOLD_MS=600 "${ON_CLIENT[@]}" "$WORK/burst" "127.0.0.1:$port" "$BURST_PATH" 1000 \
      "${HEADERS[@]}" >"$WORK/out.json" &
    local client=$!
    sleep 0.6 # the client connects, then settles for 800 ms: every connection is accepted by now
    b=$(cpu_us "$@")
    while [ ! -s "$WORK/out.json" ]; do sleep 0.005; done
    c=$(cpu_us "$@")
    wait "$client"
    sleep 0.1
    d=$(cpu_us "$@")
    echo "$((b - a)) $((c - b)) $((d - c)) $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["p99_ms"], d["spread_ms"])' "$WORK/out.json")"
  done
}

row() { # NAME (reads lines from stdin)
  python3 -c '
import statistics as st, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
m = [st.median(r[i] for r in rows) for i in range(5)]
print(f"| {sys.argv[1]} | {m[0]/1000:.1f} | {m[1]/1000:.1f} | {m[2]/1000:.1f} | {m[3]:.1f} | {m[4]:.1f} |")' "$1"
}

cachearr_row() { # NAME BIN
  local port admin
  port=$(free_port); admin=$(free_port)
  bench_cachearr_toml "$WORK/data-$1" "$admin" "$SIM_PORT" "$port" >"$WORK/cachearr.toml"
  RUST_LOG=warn TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$2" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr-$1.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$admin/health"
  phases "$port" "$pid" | row "$1"
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
}

echo "# Server CPU per phase of a 1,000-connection burst on a cached key ($(date -u +%Y-%m-%dT%H:%MZ), medians of $BURSTS)"
echo
echo "| proxy | accept 1,000 (ms CPU) | answer 1,000 (ms CPU) | close 1,000 (ms CPU) | p99 (ms) | client's send spread (ms) |"
echo "|---|---|---|---|---|---|"
cachearr_row cachearr "$CACHEARR"
if [ -n "${BARE_BIN:-}" ]; then
  # The floor: bare hyper answering every request with a body of the same size from memory.
  BARE_PORT=$(free_port)
  SIZE=$(curl -fs -H "${HEADERS[0]}" -H "${HEADERS[1]}" "http://127.0.0.1:$SIM_PORT$BURST_PATH" | wc -c)
  start_bare_floor "$BARE_BIN" "$BARE_PORT" "$SIZE" "$WORK/bare.log"
  phases "$BARE_PORT" "$BARE_PID" | row "bare hyper floor"
  kill "$BARE_PID"
fi
[ -n "${CACHEARR_BIN2:-}" ] && cachearr_row "cachearr ($(basename "$CACHEARR_BIN2"))" "$CACHEARR_BIN2"
NG_PORT=$(free_port)
mkdir -p "$WORK/nginx"
render_nginx_conf "$WORK/nginx" "$NG_PORT" "$SIM_PORT" 5 "" >"$WORK/nginx/nginx.conf"
"${ON_SERVER[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
wait_http "http://127.0.0.1:$NG_PORT/identity"
# The workers only: the master does not serve.
phases "$NG_PORT" $(pgrep -P "$(cat "$WORK/nginx/nginx.pid")") | row nginx
