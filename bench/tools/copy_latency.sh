#!/usr/bin/env bash
# What an answer written from the library copy costs the gateway, beside a miss the server
# answers and a cache hit of the same answer: every album's children of a music section and
# the section's tracks in pages of 50, read apart (eleven or seven between reads: the copy's
# own answer to each), then the albums' children in the order cachearr listed them and the
# tracks in pages of 40, walked in order as tools walk (from the third read on, the copy has
# written the next ones ahead of the walk), each read twice through cachearr on one
# kept-alive connection, timed by the gateway's own Server-Timing (`cache;dur=`, its time from
# the request to the answer; `upstream;dur=` marks a miss the server answered) and by the
# client (from sending the request to holding the whole body).
#
#   bench/tools/copy_latency.sh                     # release build, TRACKS=2000
#   CACHEARR=target/release/cachearr TRACKS=10000 bench/tools/copy_latency.sh
#
# The simulator runs with --no-cost, so a server miss here is far cheaper than on a real
# server: compare the copy with the hit, and read the server's figure as a floor.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TRACKS=${TRACKS:-2000}
WORK=$(mktemp -d /tmp/cachearr-copy-latency.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "${CACHEARR:-}" ]; then
  echo "==> building cachearr (release)" >&2
  cargo build --release -p cachearr --quiet
  CACHEARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/cachearr
fi
source bench/lib.sh
SIM_PORT=$(free_port); CA_PORT=$(free_port); ADMIN_PORT=$(free_port)
"$CACHEARR" sim --plex-listen "127.0.0.1:$SIM_PORT" --tracks "$TRACKS" --movies 20 --shows 5 \
  --seed 4 --no-cost >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$SIM_PORT/identity"
OWNER=$(curl -fs "http://127.0.0.1:$SIM_PORT/_sim/tokens" | python3 -c '
import json, sys
print(next(u["plex_token"] for u in json.load(sys.stdin)["users"] if u["owner"]))')
cat >"$WORK/cachearr.toml" <<TOML
data_dir = "$WORK/data"
admin_listen = "127.0.0.1:$ADMIN_PORT"
[[upstream]]
name = "plex"
profile = "plex"
url = "http://127.0.0.1:$SIM_PORT"
listen = "127.0.0.1:$CA_PORT"
token = "$OWNER"
TOML
"$CACHEARR" serve --config "$WORK/cachearr.toml" >"$WORK/cachearr.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ADMIN_PORT/health"
wait_index_ready "http://127.0.0.1:$ADMIN_PORT" 300 || { echo "index not ready" >&2; exit 1; }
PYTHONPATH=bench/tools python3 - "$SIM_PORT" "$CA_PORT" "$OWNER" "$ADMIN_PORT" <<'PY'
import json, sys
from copy_latency import Reads, apart
sim_port, proxy_port, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
reads = Reads(proxy_port, int(sys.argv[4]), {"X-Plex-Token": token, "Accept": "application/json"})
get, measure, clear = reads.get, reads.measure, reads.clear
albums = [m["ratingKey"] for m in
          json.loads(get(sim_port, "/library/sections/1/all?type=9")[0])["MediaContainer"]["Metadata"]]
measure(f"{len(albums)} album children listings, read apart",
        [f"/library/metadata/{a}/children" for a in apart(albums)])
clear()
# A walk as a tool makes it: the albums listed through cachearr, then each album's tracks in
# the listing's order; from the third album on the copy has written the next ones ahead.
listed = [m["ratingKey"] for m in
          json.loads(get(proxy_port, "/library/sections/1/all?type=9")[0])["MediaContainer"]["Metadata"]]
measure(f"{len(listed)} album children listings, walked in the listing's order",
        [f"/library/metadata/{a}/children" for a in listed])
total = int(json.loads(get(sim_port, "/library/sections/1/all?type=10&X-Plex-Container-Start=0"
                           "&X-Plex-Container-Size=0")[0])["MediaContainer"]["totalSize"])
def pages(size, order):
    return [f"/library/sections/1/all?type=10&X-Plex-Container-Start={s}&X-Plex-Container-Size={size}"
            for s in order(list(range(0, total, size)))]
# The copy's own answer to a page: the section's tracks in pages of 50, read apart.
measure(f"{-(-total // 50)} pages of 50 of {total} tracks, read apart", pages(50, apart))
# A walk as PlexKodiConnect and Plexist make it: pages of 40 in order; from its third page on
# the copy has written the next ones ahead.
measure(f"{-(-total // 40)} pages of 40 of {total} tracks, walked in order", pages(40, list))
PY
