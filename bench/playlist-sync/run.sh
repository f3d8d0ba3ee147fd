#!/usr/bin/env bash
# A real playlist-sync tool, scripted: a 238-track playlist (drawn from the simulator's library
# with the perturbations real playlists have, 18 of them not in the library), 2 music
# libraries, 8 search strategies per track = 3,808 searches, then one playlist creation.
#
#   bench/playlist-sync/run.sh                 # Markdown report on stdout, logs in $WORK
#   TRACKS=20000 LATENCY_MS=10 bench/playlist-sync/run.sh
#   CACHEARR=target/debug/cachearr TRACKS=2000 INDEX_WAIT=20 bench/playlist-sync/run.sh   # quick check
#
# Runs, one after the other, against one simulated Plex server (cachearr sim):
#   (a) the tool directly against the server;
#   (b) the same tool pointed at cachearr's proxy listener (searches answered from the library
#       index once it is built; before that they are cached and proxied — works either way);
#   (c) `cachearr playlist sync` with the same playlist (matching through POST /api/match,
#       then one write), and (d) the same sync again (already in sync).
# For each: the requests the server received (the simulator's /_sim/stats) and the wall time.
# The index build (its paging requests) is reported on its own line: it happens once per
# library, not per sync.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TRACKS=${TRACKS:-10000}
LATENCY_MS=${LATENCY_MS:-5}
ITEM_COST_US=${ITEM_COST_US:-200}
SCAN_COST_US=${SCAN_COST_US:-2}
INDEX_WAIT=${INDEX_WAIT:-600}
WORK=$(mktemp -d /tmp/cachearr-playlist-sync.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
log() { echo "==> $*" >&2; }

if [ -z "${CACHEARR:-}" ]; then  # CACHEARR=path/to/cachearr skips the build
  log "building cachearr (release)"
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
CLIENT="python3 $ROOT/bench/playlist-sync/sync_tool.py"

source bench/lib.sh
WAIT_HTTP_SECS=60
SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
SIM=http://127.0.0.1:$SIM_PORT; PROXY=http://127.0.0.1:$CA_PORT; ADMIN=http://127.0.0.1:$ADMIN_PORT
stats() { curl -fs "$SIM/_sim/stats"; }
reset() { curl -fs -X POST "$SIM/_sim/reset" -o /dev/null; }
# total, searches, writes, other of the simulator's counters since the last reset
counts() {
  stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
search = sum(r["requests"] for k, r in s["routes"].items() if "search" in k.lower())
writes = sum(r["requests"] for k, r in s["routes"].items() if not k.startswith(("GET", "HEAD")))
print(s["total"], search, writes, s["total"] - search - writes)'
}
now() { python3 -c 'import time; print(time.monotonic())'; }

log "simulator: $TRACKS tracks, ${LATENCY_MS} ms per request + ${SCAN_COST_US} us per item scanned + ${ITEM_COST_US} us per item returned"
"$CACHEARR" sim --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$TRACKS" --movies 50 --shows 5 --seed 4 \
  --latency-ms "$LATENCY_MS" --item-cost-us "$ITEM_COST_US" --scan-cost-us "$SCAN_COST_US" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_http "$SIM/identity"
TOKEN=$(curl -fs "$SIM/_sim/tokens" | python3 -c 'import json,sys; print(next(u["plex_token"] for u in json.load(sys.stdin)["users"] if u["owner"]))')
PLAYLIST=$WORK/playlist.csv
$CLIENT make-playlist "$SIM" "$TOKEN" "$PLAYLIST"
log "playlist: $(($(wc -l <"$PLAYLIST") - 1)) tracks in $PLAYLIST"

reset
log "(a) the tool directly against the server"
A_JSON=$($CLIENT sync "$SIM" "$TOKEN" "$PLAYLIST" "Playlist sync (direct)")
A_COUNTS=$(counts)

log "cachearr serve in front of the server; waiting up to ${INDEX_WAIT}s for the library index"
reset
T0=$(now)
# The crawl reads the library with the owner's token (`token` of the [[upstream]] table).
cat >"$WORK/cachearr.toml" <<TOML
data_dir = "$WORK/data"
admin_listen = "127.0.0.1:$ADMIN_PORT"
[[upstream]]
name = "plex"
profile = "plex"
url = "$SIM"
listen = "127.0.0.1:$CA_PORT"
token = "$TOKEN"
TOML
"$CACHEARR" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "$ADMIN/health"
READY=yes
wait_index_ready "$ADMIN" "$INDEX_WAIT" || READY=no
T1=$(now)
BUILD_COUNTS=$(counts)
BUILD_SECONDS=$(python3 -c "print(f'{$T1 - $T0:.1f}')")
log "index ready: $READY after ${BUILD_SECONDS}s ($BUILD_COUNTS)"
INDEX_FROM="built by cachearr serve (its crawl)"
if [ "$READY" = no ] && [ "${PRELOAD:-1}" = 1 ]; then
  # No crawl on this build (or it is too slow): the real gateway with the index a crawl would
  # build, installed from the simulator's deterministic library (crates/gateway/examples).
  log "no index from the crawl: restarting the gateway with a preloaded index (PRELOAD=0 to skip)"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'
  if [ -z "${PRELOADED:-}" ]; then
    cargo build --release -p cachearr-gateway --example preloaded_index --quiet
    PRELOADED=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/preloaded_index
  fi
  reset
  "$PRELOADED" "$SIM" "127.0.0.1:$CA_PORT" "127.0.0.1:$ADMIN_PORT" "$WORK/data2" "$TRACKS" 50 5 4 \
    >"$WORK/preloaded.log" 2>&1 &
  PIDS+=($!)
  wait_index_ready "$ADMIN" 300 && READY=preloaded
  BUILD_COUNTS=$(counts)
  INDEX_FROM="preloaded from the simulator's library (no crawl on this build)"
fi

reset
log "(b) the same tool through cachearr"
B_JSON=$($CLIENT sync "$PROXY" "$TOKEN" "$PLAYLIST" "Playlist sync (through cachearr)")
B_COUNTS=$(counts)

sync_once() { # NAME
  local t0 t1 out
  t0=$(now)
  out=$("$CACHEARR" playlist sync "$PLAYLIST" --name "$1" --user "$TOKEN" --gateway "$ADMIN" \
        --server "$PROXY" --wait "$INDEX_WAIT" --json 2>>"$WORK/sync.log") || { echo '{}'; return 0; }
  t1=$(now)
  # The --json report is large (every entry): it goes through stdin, not argv.
  printf '%s' "$out" | python3 -c "
import json, sys
r = json.load(sys.stdin); p = r['playlist']; m = r['match']
print(json.dumps({'accepted': m['accepted'], 'review': m['review'], 'missing': m['rejected'],
                  'action': p['action'], 'writes': p['writes'], 'seconds': $t1 - $t0}))"
}
reset
log "(c) cachearr playlist sync"
C_JSON=$(sync_once "Playlist sync (cachearr playlist sync)")
C_COUNTS=$(counts)
reset
log "(d) cachearr playlist sync again (already in sync)"
D_JSON=$(sync_once "Playlist sync (cachearr playlist sync)")
D_COUNTS=$(counts)

python3 - "$A_JSON" "$A_COUNTS" "$B_JSON" "$B_COUNTS" "$C_JSON" "$C_COUNTS" "$D_JSON" "$D_COUNTS" \
  "$BUILD_COUNTS" "$BUILD_SECONDS" "$READY" "$TRACKS" "$LATENCY_MS" "$SCAN_COST_US" "$ITEM_COST_US" "$INDEX_FROM" <<'PY'
import json, sys
a, ac, b, bc, c, cc, d, dc, build, build_s, ready, tracks, lat, scan, item, index_from = sys.argv[1:17]
def counts(s):
    t, s_, w, o = map(int, s.split())
    return t, s_, w, o
rows = []
for label, js, cs in [("(a) tool → server directly", a, ac), ("(b) tool → cachearr → server", b, bc),
                      ("(c) `cachearr playlist sync` (first)", c, cc),
                      ("(d) `cachearr playlist sync` (again, in sync)", d, dc)]:
    j = json.loads(js) if js else {}
    t, s_, w, o = counts(cs)
    if "found" in j:
        result = f"{j['found']} of {j['tracks']} found"
    elif "accepted" in j:
        result = f"{j['accepted']} accepted, {j['review']} review, {j['missing']} missing; {j['action']}"
    else:
        result = "failed (see sync.log)"
    secs = j.get("seconds")
    rows.append(f"| {label} | {t:,} | {s_:,} | {w} | {o} | {secs:.1f} s | {result} |" if secs is not None
                else f"| {label} | {t:,} | {s_:,} | {w} | {o} | – | {result} |")
t, s_, w, o = counts(build)
print(f"Simulator: {int(tracks):,} tracks in 2 music sections, {lat} ms per request + {scan} µs per item scanned + {item} µs per item returned.\n")
print("| run | server requests | of them searches | writes | other reads | wall time | result |")
print("|---|---|---|---|---|---|---|")
print("\n".join(rows))
if ready == "preloaded":
    print(f"\nIndex {index_from}: the server received {t:,} requests while the gateway started.")
else:
    print(f"\nIndex {index_from}: ready = {ready}; the build (once per library, before (b)–(d)) took {build_s} s and {t:,} server requests ({s_} searches).")
PY
log "logs in $WORK"
