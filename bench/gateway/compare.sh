#!/usr/bin/env bash
# cachearr against itself: builds or settings side by side on cached hits, in alternate wrk rounds
# against each, pinned as run.sh pins (proxy on CPU 1 with one worker, wrk and the simulator on
# CPU 0), with the CPU each spends per hit. For questions run.sh's three-proxy runs are too coarse
# for: what a setting costs, or two builds of one change.
#
#   bench/gateway/compare.sh NAME=BIN[,SENDFILE_MIN] ...
#   bench/gateway/compare.sh copied=target/release/cachearr sendfile=target/release/cachearr,16KiB
#   TRACKS=200 bench/gateway/compare.sh ...                   # a 200-track page (~256 KB)
#   ROUNDS=3 SECS=5 bench/gateway/compare.sh ...              # rounds per variant, seconds each
#   SERVER_CPUS=1 CLIENT_CPUS=1 bench/gateway/compare.sh ...  # wrk on the proxy's own core
#
# Each variant is its own gateway (its own data directory) in front of one simulator, asked for
# one page of TRACKS tracks as JSON (16: 20,564 bytes, the hit of run.sh's scenario 1) by wrk
# with 64 connections; SENDFILE_MIN is the variant's `[cache] sendfile_min` (default off).
# Output: a Markdown row per round and variant, then the medians. CPU per hit is the gateway's
# user + system time from /proc over the requests served: the figure a noisy machine distorts
# least.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
pin_cores
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
TRACKS=${TRACKS:-16}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
command -v wrk >/dev/null || { echo "needs wrk (Debian: wrk)" >&2; exit 1; }
W=$(mktemp -d /tmp/cachearr-compare.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

NAMES=()
declare -A BIN_OF SENDFILE_OF
for spec in "$@"; do
  name=${spec%%=*}
  rest=${spec#*=}
  [ "$name" != "$spec" ] && [ -n "$name" ] || { echo "not NAME=BIN[,SENDFILE_MIN]: $spec" >&2; exit 2; }
  BIN_OF[$name]=${rest%%,*}
  SENDFILE_OF[$name]=off
  [[ $rest == *,* ]] && SENDFILE_OF[$name]=${rest#*,}
  [ -x "${BIN_OF[$name]}" ] || { echo "no binary ${BIN_OF[$name]} for $name" >&2; exit 1; }
  NAMES+=("$name")
done

SIM_PORT=$(free_port)
start_bench_sim "${BIN_OF[${NAMES[0]}]}" "$SIM_PORT" 10 "$W/sim.log"
TOKEN=$(sim_owner_token "$SIM_PORT")
MUSIC=$(sim_music_section "$SIM_PORT" "$TOKEN")
HIT_PATH="/library/sections/$MUSIC/all?type=10"
HEADERS=(-H "X-Plex-Token: $TOKEN" -H "Accept: application/json" -H "X-Plex-Container-Start: 0"
  -H "X-Plex-Container-Size: $TRACKS")

declare -A PORT PID
for name in "${NAMES[@]}"; do
  port=$(free_port); admin=$(free_port)
  BENCH_SENDFILE_MIN=${SENDFILE_OF[$name]} bench_cachearr_toml "$W/data-$name" "$admin" "$SIM_PORT" "$port" >"$W/$name.toml"
  RUST_LOG=warn TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "${BIN_OF[$name]}" serve \
    --config "$W/$name.toml" >"$W/$name.log" 2>&1 &
  PID[$name]=$!; PIDS+=("$!"); PORT[$name]=$port
  wait_http "http://127.0.0.1:$admin/health"
  for _ in 1 2 3; do curl -fs -o /dev/null "${HEADERS[@]}" "http://127.0.0.1:$port$HIT_PATH"; done
done
BYTES=$(curl -fs "${HEADERS[@]}" "http://127.0.0.1:${PORT[${NAMES[0]}]}$HIT_PATH" | wc -c)

# User and system CPU seconds of a process so far.
cpu_of() { awk -v tick="$(getconf CLK_TCK)" '{printf "%.2f %.2f\n", $14 / tick, $15 / tick}' "/proc/$1/stat"; }

echo "# cachearr side by side: cached $BYTES-byte hits ($(date -u +%Y-%m-%dT%H:%MZ); proxy on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS; $ROUNDS rounds of $SECS s)"
echo
echo "| variant | round | req/s | p99 | CPU per hit: user + system |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    read -r u0 s0 < <(cpu_of "${PID[$name]}")
    out=$("${ON_CLIENT[@]}" wrk -t"$WRK_THREADS" -c64 -d"${SECS}s" --latency "${HEADERS[@]}" "http://127.0.0.1:${PORT[$name]}$HIT_PATH")
    read -r u1 s1 < <(cpu_of "${PID[$name]}")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    echo "$name $round $rps $p99 $u0 $s0 $u1 $s1 $n" >>"$W/rounds.txt"
    python3 -c "import sys; n, r, rps, p99, u0, s0, u1, s1, c = sys.argv[1:]; c = int(c)
print(f'| {n} | {r} | {float(rps):,.0f} | {p99} | {(float(u1) - float(u0)) * 1e6 / c:.1f} + {(float(s1) - float(s0)) * 1e6 / c:.1f} µs |')" \
      "$name" "$round" "$rps" "$p99" "$u0" "$s0" "$u1" "$s1" "$n"
  done
done
echo
python3 - "$W/rounds.txt" "${NAMES[@]}" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
print("| variant | req/s (median) | CPU per hit (median): user + system = all | ÷ the first variant's CPU |")
print("|---|---|---|---|")
first = None
for name in sys.argv[2:]:
    mine = [r for r in rows if r[0] == name]
    rps = st.median(float(r[2]) for r in mine)
    user = st.median((float(r[6]) - float(r[4])) * 1e6 / int(r[8]) for r in mine)
    system = st.median((float(r[7]) - float(r[5])) * 1e6 / int(r[8]) for r in mine)
    first = first or user + system
    print(f"| {name} | {rps:,.0f} | {user:.1f} + {system:.1f} = {user + system:.1f} µs | {(user + system) / first:.2f}× |")
PY
