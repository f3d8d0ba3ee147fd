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
# shellcheck source=bench/lib.sh
source bench/lib.sh
SHOWS=${SHOWS:-60}
WORK=$(mktemp -d /tmp/cachearr-copy-latency-jf.XXXXXX)
kill_pids_on_exit
ensure_cachearr
start_copy_jellyfin "$WORK" "$SHOWS"

PYTHONPATH=bench/tools python3 - "$SIM_PORT" "$CA_PORT" "$OWNER" "$ADMIN_PORT" "$OWNER_ID" <<'PY'
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
