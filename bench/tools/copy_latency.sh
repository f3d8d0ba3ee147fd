#!/usr/bin/env bash
# What an answer written from the library copy costs the gateway, beside a miss the server
# answers and a cache hit of the same answer: every album's children of a music section and
# the section's tracks in pages of 50, read apart (eleven or seven between reads: the copy's
# own answer to each), then the albums' children in the order cachearr listed them and the
# tracks in pages of 40, walked in order as tools walk (from the third read on, the copy has
# written the next ones ahead of the walk), then the recently added tracks across the music
# sections in pages of 50, read apart, each read twice through cachearr on one
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
# shellcheck source=bench/lib.sh
source bench/lib.sh
TRACKS=${TRACKS:-2000}
WORK=$(mktemp -d /tmp/cachearr-copy-latency.XXXXXX)
kill_pids_on_exit
ensure_cachearr
start_copy_plex "$WORK" "$TRACKS"
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
clear()
# The home screen's recently added tracks in pages of 50 across the music sections, read apart
# (the owner's: the copy writes a list across sections for the owner only).
recent = int(json.loads(get(sim_port, "/hubs/home/recentlyAdded?type=10&X-Plex-Container-Start=0"
                            "&X-Plex-Container-Size=0")[0])["MediaContainer"]["totalSize"])
measure(f"{-(-recent // 50)} pages of 50 of {recent} recently added tracks, read apart",
        [f"/hubs/home/recentlyAdded?type=10&X-Plex-Container-Start={s}&X-Plex-Container-Size=50"
         for s in apart(list(range(0, recent, 50)))])
PY
