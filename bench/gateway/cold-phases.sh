#!/usr/bin/env bash
# The proxy's CPU in a cold burst, phase by phase, beside the same burst cached: what reading
# 1,000 requests for a key no one has asked for costs (each joins the one upstream fetch and
# waits), what releasing the 1,000 waiters costs when the fill arrives, and what the same 1,000
# requests cost once the key is cached (read and answered). No profiler: the proxy's CPU is read
# from /proc/PID/task/*/schedstat (nanoseconds on the CPU, all threads) between the phases, which
# the upstream's 300 ms keep apart; the client holds its connections open after the answers
# (`BURST_HOLD_MS`) so that closing them falls outside. Pinned as run.sh pins (proxy on CPU 1
# with one worker, client and simulator on CPU 0).
#
#   bench/gateway/cold-phases.sh                     # target/release/cachearr, 5 pairs of bursts
#   CACHEARR_BIN=/path/to/cachearr BURSTS=7 bench/gateway/cold-phases.sh
#
# Output: a Markdown row per burst (the client's send spread, the answers' width from first to
# last, the proxy's CPU per phase) and the medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
pin_cores
BURSTS=${BURSTS:-5}
CACHEARR=${CACHEARR_BIN:-target/release/cachearr}
[ -x "$CACHEARR" ] || { echo "no $CACHEARR: cargo build --release -p cachearr, or set CACHEARR_BIN" >&2; exit 1; }
W=$(mktemp -d /tmp/cachearr-cold-phases.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
rustc -O -o "$W/burst" bench/gateway/burst.rs

SIM_PORT=$(free_port); PORT=$(free_port); ADMIN=$(free_port)
start_bench_sim "$CACHEARR" "$SIM_PORT" 300 "$W/sim.log"
TOKEN=$(sim_owner_token "$SIM_PORT")
MUSIC=$(sim_music_section "$SIM_PORT" "$TOKEN")
ALBUMS=($(sim_albums "$SIM_PORT" "$TOKEN" "$MUSIC" $((BURSTS + 1))))
bench_cachearr_toml "$W/data" "$ADMIN" "$SIM_PORT" "$PORT" >"$W/cachearr.toml"
RUST_LOG=warn TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$CACHEARR" serve --config "$W/cachearr.toml" >"$W/cachearr.log" 2>&1 &
PROXY=$!
PIDS+=("$PROXY")
wait_http "http://127.0.0.1:$ADMIN/health"
burst() { # TRACE PATH: one burst of 1,000, its connections held 1.5 s after the answers
  BURST_TRACE=$1 BURST_HOLD_MS=1500 "${ON_CLIENT[@]}" "$W/burst" "127.0.0.1:$PORT" "$2" 1000 \
    "X-Plex-Token: $TOKEN" "Accept: application/json" >/dev/null
}
cpu_ns() { cat /proc/"$PROXY"/task/*/schedstat | awk '{s += $1} END {print s}'; }
# A warm-up burst on a key of its own: the connections' first storm costs more than later ones.
burst "$W/warm.trace" "/library/metadata/${ALBUMS[$BURSTS]}/children"

echo "# A cold burst's CPU by phase, beside the same burst cached ($(date -u +%Y-%m-%dT%H:%MZ); $CACHEARR)"
echo
echo "| burst | client's send spread | answers, first to last | CPU: reading the requests | CPU: the release (cold) or reading and answering (cached) |"
echo "|---|---|---|---|---|"
for i in $(seq 0 $((BURSTS - 1))); do
  path="/library/metadata/${ALBUMS[$i]}/children"
  for kind in cold cached; do
    burst "$W/$kind-$i.trace" "$path" &
    client=$!
    # The client opens its connections and lets them settle for 500 ms before it sends: the
    # first reading is taken after the accepts, the second (cold) within the upstream's 300 ms,
    # the last after the answers and before the connections close.
    sleep 0.35; before=$(cpu_ns)
    if [ "$kind" = cold ]; then sleep 0.35; waiting=$(cpu_ns); sleep 0.5; else sleep 0.85; waiting=$before; fi
    after=$(cpu_ns)
    wait "$client"
    echo "$kind $W/$kind-$i.trace $before $waiting $after"
    sleep 0.3
  done
done | python3 -c '
import statistics as st, sys
rows = {"cold": [], "cached": []}
for line in sys.stdin:
    kind, trace, before, waiting, after = line.split()
    lines = [l.split() for l in open(trace) if l[0].isdigit()]
    sent = [float(l[1]) for l in lines]
    answered = [float(l[2]) for l in lines if l[2] != "-"]
    r = (max(sent) - min(sent), max(answered) - min(answered),
         (int(waiting) - int(before)) / 1e6, (int(after) - int(waiting)) / 1e6)
    rows[kind].append(r)
    reading = f"{r[2]:.1f} ms" if kind == "cold" else "(in the next column)"
    print(f"| {kind} | {r[0]:.1f} ms | {r[1]:.1f} ms | {reading} | {r[3]:.1f} ms |")
for kind, rs in rows.items():
    m = [st.median(r[i] for r in rs) for i in range(4)]
    reading = f"{m[2]:.1f} ms" if kind == "cold" else "—"
    print(f"| **{kind}, median of {len(rs)}** | {m[0]:.1f} ms | {m[1]:.1f} ms | {reading} | {m[3]:.1f} ms |")
'
