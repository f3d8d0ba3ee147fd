#!/usr/bin/env bash
# A cold burst beside the same burst cached, several times over, for one or two cachearr
# builds: 1,000 connections each asking for a key no one has asked for yet while the upstream
# takes 300 ms, then the same 1,000 again once it is cached. What the cold waiters wait past
# the upstream's own time is what answering them all costs; the target is that it adds nothing
# over the cached burst. The upstream's time is the burst's yardstick (bench/gateway/burst.rs
# `BURST_YARDSTICK`): one request straight to the simulator for another album, sent by the
# same client just before the burst, so it waits under the same load on the client's core as
# the gateway's own fetch; a request timed alone leaves out the few milliseconds the burst's
# sending delays the simulator by. run.sh's scenario 2 measures
# this once per proxy beside nginx and Varnish; this repeats it, cachearr only, so that builds
# can be told apart on a noisy machine. Pinned as run.sh (proxy on CPU 1 with one worker,
# client and simulator on CPU 0).
#
#   bench/gateway/cold-burst.sh                                       # target/release/cachearr, 5 bursts
#   CACHEARR_BIN=/path/a CACHEARR_BIN2=/path/b BURSTS=7 bench/gateway/cold-burst.sh
#   FLOOR_BIN= bench/gateway/cold-burst.sh                            # without the floor
#
# Output: one Markdown row per burst and build (the upstream beside it, cold p50/p99 past it,
# cached p50/p99, how long the client took to send each burst's 1,000 requests, and how the cold
# waiters were released: from the first answer to the last, and how far the answers strayed
# from the order the requests came in) and the medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
pin_cores
BURSTS=${BURSTS:-5}
CACHEARR=${CACHEARR_BIN:-target/release/cachearr}
# The floor (examples/bare_release.rs), measured after the builds in both its ways of releasing
# the waiters; FLOOR_BIN= leaves it out.
FLOOR_BIN=${FLOOR_BIN-target/release/examples/bare_release}
[ -z "$FLOOR_BIN" ] || [ -x "$FLOOR_BIN" ] || { echo "no $FLOOR_BIN: cargo build --release -p cachearr-gateway --example bare_release, or set FLOOR_BIN= to leave the floor out" >&2; exit 1; }
[ -x "$CACHEARR" ] || { echo "no $CACHEARR: cargo build --release -p cachearr, or set CACHEARR_BIN" >&2; exit 1; }
WORK=$(mktemp -d /tmp/cachearr-cold-burst.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
rustc -O -o "$WORK/burst" bench/gateway/burst.rs

SIM_PORT=$(free_port)
start_bench_sim "$CACHEARR" "$SIM_PORT" 300 "$WORK/sim.log"
TOKEN=$(sim_owner_token "$SIM_PORT")
MUSIC=$(sim_music_section "$SIM_PORT" "$TOKEN")
HEADERS=("X-Plex-Token: $TOKEN" "Accept: application/json")
# One album per cold burst: keys no build has asked for.
ALBUMS=($(sim_albums "$SIM_PORT" "$TOKEN" "$MUSIC" 60))
NEXT_ALBUM=0
# The upstream alone, for the header: one request straight to the simulator (median of 5, on an
# album no one asks for).
UPSTREAM=$(for _ in 1 2 3 4 5; do "${ON_CLIENT[@]}" "$WORK/burst" "127.0.0.1:$SIM_PORT" "/library/metadata/${ALBUMS[59]}/children" 1 \
  "${HEADERS[@]}"; done | python3 -c 'import json,statistics,sys; print(statistics.median(json.loads(l)["p50_ms"] for l in sys.stdin))')

measure() { # NAME PORT: BURSTS pairs of bursts against the server on PORT; a row each, then the medians
  local port=$2
  for _ in $(seq 1 "$BURSTS"); do
    local path="/library/metadata/${ALBUMS[$NEXT_ALBUM]}/children"
    NEXT_ALBUM=$((NEXT_ALBUM + 1))
    local cold warm
    local trace="$WORK/cold-$NEXT_ALBUM.trace"
    cold=$(BURST_TRACE="$trace" BURST_YARDSTICK="127.0.0.1:$SIM_PORT/library/metadata/${ALBUMS[59]}/children" \
      "${ON_CLIENT[@]}" "$WORK/burst" "127.0.0.1:$port" "$path" 1000 "${HEADERS[@]}")
    warm=$("${ON_CLIENT[@]}" "$WORK/burst" "127.0.0.1:$port" "$path" 1000 "${HEADERS[@]}")
    echo "$trace $cold $warm"
  done | python3 -c '
import json, statistics as st, sys
name = sys.argv[1]
rows = []
def release(trace):
    # The cold burst'"'"'s answers from its trace: the release'"'"'s width (first answer to last) and
    # how far the answers strayed from the order the requests were sent in (the median of
    # |place answered - place sent|).
    rows = [l.split() for l in open(trace) if l[0].isdigit()]
    answered = sorted((float(a), int(i)) for i, _, a in rows if a != "-")
    order = sorted(abs(place - i) for place, (_, i) in enumerate(answered))
    return answered[-1][0] - answered[0][0], order[len(order) // 2]
for line in sys.stdin:
    trace, rest = line.split(" ", 1)
    cold, warm = rest.split(" {")
    c, w = json.loads(cold), json.loads("{" + warm)
    width, stray = release(trace)
    assert c["ok"] == w["ok"] == 1000, line
    up = c["yardstick_ms"]
    r = (c["p50_ms"] - up, c["p99_ms"] - up, w["p50_ms"], w["p99_ms"], c["spread_ms"], w["spread_ms"], width, stray)
    rows.append(r)
    print(f"| {name} | {up:.1f} | {r[0]:.1f} / {r[1]:.1f} | {r[2]:.1f} / {r[3]:.1f} | {r[1] - r[3]:+.1f} | {r[4]:.1f} / {r[5]:.1f} | {width:.1f} ms, {stray} |")
m = [st.median(r[i] for r in rows) for i in range(8)]
print(f"| **{name}, median of {len(rows)}** | | **{m[0]:.1f} / {m[1]:.1f}** | **{m[2]:.1f} / {m[3]:.1f}** | **{st.median(r[1] - r[3] for r in rows):+.1f}** | {m[4]:.1f} / {m[5]:.1f} | {m[6]:.1f} ms, {m[7]:.0f} |")' "$1"
}

bursts() { # NAME BIN: a cachearr build's bursts
  local port admin pid
  port=$(free_port); admin=$(free_port)
  bench_cachearr_toml "$WORK/data-$1" "$admin" "$SIM_PORT" "$port" >"$WORK/cachearr.toml"
  RUST_LOG=warn TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$2" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr-$1.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$admin/health"
  measure "$1" "$port"
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
}

floor_bursts() { # MODE: the bare single-flight floor's bursts (examples/bare_release.rs)
  local port pid
  port=$(free_port)
  TOKIO_WORKER_THREADS=$SERVER_N setsid "${ON_SERVER[@]}" "$FLOOR_BIN" "127.0.0.1:$port" "127.0.0.1:$SIM_PORT" "$1" >"$WORK/floor-$1.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  measure "floor ($1)" "$port"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "# Cold bursts beside the same burst cached ($(date -u +%Y-%m-%dT%H:%MZ); one request straight to the simulator on its own: $UPSTREAM ms)"
echo
echo "| build | the upstream beside the cold burst (ms) | cold: p50 / p99 past it (ms) | cached: p50 / p99 (ms) | cold p99 past the upstream − cached p99 | the client's send spread, cold / cached (ms) | the release: first to last answer; answers out of the sending order (median places) |"
echo "|---|---|---|---|---|---|---|"
bursts cachearr "$CACHEARR"
[ -n "${CACHEARR_BIN2:-}" ] && bursts "$(basename "$CACHEARR_BIN2")" "$CACHEARR_BIN2"
if [ -n "$FLOOR_BIN" ]; then
  floor_bursts loop
  floor_bursts tasks
fi
true
