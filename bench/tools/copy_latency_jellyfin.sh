#!/usr/bin/env bash
# The same as copy_latency.sh, for Jellyfin: what a series' episodes written from the library
# copy cost the gateway, beside a cache hit of the same answer. Every series' episodes
# (`/Shows/{id}/Episodes?UserId=…`, the owner's) read apart (every seventh or eleventh series:
# the copy's own answer to each), then, the cache cleared, the series listed through cachearr
# (`/Items?IncludeItemTypes=Series`) and their episodes read in the listing's order, as Jellyfin
# for Kodi walks them (from the third series on, the copy has written the next ones ahead);
# each read twice on one kept-alive connection, timed by the gateway's Server-Timing and by
# the client.
#
#   bench/tools/copy_latency_jellyfin.sh                  # release build, SHOWS=60
#   CACHEARR=target/release/cachearr SHOWS=60 bench/tools/copy_latency_jellyfin.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SHOWS=${SHOWS:-60}
WORK=$(mktemp -d /tmp/cachearr-copy-latency-jf.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "${CACHEARR:-}" ]; then
  echo "==> building cachearr (release)" >&2
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
source bench/lib.sh
PLEX_PORT=$(free_port); SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
"$CACHEARR" sim --plex-listen "127.0.0.1:$PLEX_PORT" --jellyfin-listen "127.0.0.1:$SIM_PORT" \
  --tracks 200 --movies 20 --shows "$SHOWS" --seed 4 --no-cost >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$SIM_PORT/System/Info/Public"
read -r OWNER UID_ < <(curl -fs "http://127.0.0.1:$PLEX_PORT/_sim/tokens" | python3 -c '
import json, sys
u = next(u for u in json.load(sys.stdin)["users"] if u["owner"])
print(u["jellyfin_token"], u["jellyfin_id"])')
"$CACHEARR" serve --jellyfin "http://127.0.0.1:$SIM_PORT" --jellyfin-token "$OWNER" \
  --listen "127.0.0.1:$CA_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" --data-dir "$WORK/data" \
  >"$WORK/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ADMIN_PORT/health"
wait_index_ready "http://127.0.0.1:$ADMIN_PORT" 300 || { echo "index not ready" >&2; exit 1; }

PYTHONPATH=bench/tools python3 - "$SIM_PORT" "$CA_PORT" "$OWNER" "$ADMIN_PORT" "$UID_" <<'PY'
import json, sys
from copy_latency import Reads, apart
sim_port, proxy_port, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
uid = sys.argv[5]
reads = Reads(proxy_port, int(sys.argv[4]), {"X-Emby-Token": token})
get, measure, clear = reads.get, reads.measure, reads.clear
listing = "/Items?IncludeItemTypes=Series&Recursive=true&SortBy=SortName"
series = [s["Id"] for s in json.loads(get(sim_port, listing)[0])["Items"]]
episodes = lambda sid: f"/Shows/{sid}/Episodes?UserId={uid}&EnableUserData=True"
measure(f"{len(series)} series' episodes, read apart", [episodes(s) for s in apart(series)])
clear()
listed = [s["Id"] for s in json.loads(get(proxy_port, listing)[0])["Items"]]
measure(f"{len(listed)} series' episodes, walked in the listing's order",
        [episodes(s) for s in listed])
PY
